// Typed-array access to backend tensors, shared by the kernels in this folder.
import type { KernelBackend, TensorInfo } from '@tensorflow/tfjs-core';

/** The values of a float32 tensor held by `backend` (a copy for wasm, the backing array for cpu). */
export function readFloat32(backend: object, info: TensorInfo): Float32Array {
  const values = (backend as KernelBackend).readSync(info.dataId);
  if (values instanceof Float32Array) return values;
  return Float32Array.from(values as ArrayLike<number>);
}

interface WasmLikeBackend {
  makeOutput(shape: number[], dtype: 'float32', memoryOffset?: number, values?: Float32Array): TensorInfo;
}
interface CpuLikeBackend {
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
}

/** A new float32 tensor on `backend` holding `values` (the wasm backend copies them into its heap). */
export function makeFloat32(backend: object, shape: number[], values: Float32Array): TensorInfo {
  const b = backend as unknown as Partial<WasmLikeBackend & CpuLikeBackend>;
  if (typeof b.makeTensorInfo === 'function') return b.makeTensorInfo(shape, 'float32', values);
  if (typeof b.makeOutput === 'function') return b.makeOutput(shape, 'float32', undefined, values);
  throw new Error(`Backend ${backend.constructor.name} can neither makeTensorInfo nor makeOutput.`);
}

/** Frees an intermediate tensor that the engine does not track. */
export function disposeIntermediate(backend: object, info: TensorInfo): void {
  (backend as KernelBackend).disposeData(info.dataId);
}

interface HeapBackend {
  typedArrayFromHeap(info: TensorInfo): Float32Array;
}

/**
 * The values of a float32 tensor without copying where the backend allows it: a view of the wasm heap (valid until the
 * next allocation on that backend, which may move the heap: take views after allocating), the backing array on cpu.
 * Writing into the view writes the tensor.
 */
export function float32View(backend: object, info: TensorInfo): Float32Array {
  const b = backend as Partial<HeapBackend>;
  if (typeof b.typedArrayFromHeap === 'function') return b.typedArrayFromHeap(info);
  return readFloat32(backend, info);
}

/** A new float32 tensor on `backend` with unspecified contents (write it through `float32View`). */
export function allocFloat32(backend: object, shape: number[]): TensorInfo {
  const b = backend as unknown as Partial<WasmLikeBackend & CpuLikeBackend>;
  if (typeof b.makeTensorInfo !== 'function' && typeof b.makeOutput === 'function') return b.makeOutput(shape, 'float32');
  return makeFloat32(backend, shape, new Float32Array(shape.reduce((a, d) => a * d, 1)));
}
