// Slice and SplitV on tfjs-backend-wasm without copying the input. tfjs-backend-wasm 4.22's Slice reads the whole input
// out of the heap (`readSync`: a copy) before copying the slice, and SplitV runs that Slice once per part: the gradient of
// a decoder's channel concat copied its 16 MB input twice over to split it in two (~23 ms a UNet-ResNet18 training step
// at 2x128x256). Here the slice is copied from the heap in place, as runs of consecutive values: by `copy_rows`
// (memory.copy per run, a call per row of runs) where the heap module is there, else by typed-array copies.
import { backend_util, slice_util, util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { heapOffset } from './wasm-heap-module.ts';
import { winogradTransforms } from './winograd.ts';

interface HeapBackend {
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
  makeOutput(shape: number[], dtype: string): TensorInfo;
}

/** x[begin : begin + size] (any rank) as a new tensor, copied from the heap run by run. */
export function sliceOnHeap(backend: HeapBackend, x: TensorInfo, begin: readonly number[], size: readonly number[]): TensorInfo {
  const out = backend.makeOutput([...size], x.dtype);
  const n = util.sizeFromShape(size as number[]);
  if (n === 0) return out;
  const xv = backend.typedArrayFromHeap(x);
  const ov = backend.typedArrayFromHeap(out);
  const rank = x.shape.length;
  const strides = [...util.computeStrides(x.shape), 1];
  // Axes after `k` are taken whole, so each run is size[k] · stride[k] consecutive values.
  let k = rank - 1;
  while (k > 0 && begin[k] === 0 && size[k] === x.shape[k]) k--;
  const run = (size[k] ?? 1) * strides[k]!;
  // The runs along axis k − 1 (one run when k = 0), copied for each index of axes 0 … k − 2: by one copy_rows call where
  // the heap module is there, else run by run.
  const rows = k > 0 ? size[k - 1]! : 1;
  const rowStride = k > 0 ? strides[k - 1]! : 0;
  const strip = rows > 1 ? winogradTransforms(backend)?.copy_rows : undefined;
  const bytes = xv.BYTES_PER_ELEMENT;
  const [x0, o0] = strip ? [heapOffset(backend, x), heapOffset(backend, out)] : [0, 0];
  const copyRows = (from: number, o: number) => {
    if (strip) strip(x0 + bytes * from, bytes * rowStride, o0 + bytes * o, bytes * run, rows, 0, bytes * run, 0);
    else for (let r = 0; r < rows; r++) ov.set(xv.subarray(from + r * rowStride, from + r * rowStride + run), o + r * run);
  };
  const outer = new Array<number>(Math.max(0, k - 1)).fill(0);
  for (let o = 0; o < n; o += rows * run) {
    let from = (begin[k] ?? 0) * strides[k]! + (k > 0 ? begin[k - 1]! * rowStride : 0);
    for (let a = 0; a < k - 1; a++) from += (begin[a]! + outer[a]!) * strides[a]!;
    copyRows(from, o);
    // Next row of runs: advance the odometer over axes k − 2 … 0.
    for (let a = k - 2; a >= 0; a--) {
      if (++outer[a]! < size[a]!) break;
      outer[a] = 0;
    }
  }
  return out;
}

const onHeap = (backend: unknown): backend is HeapBackend => typeof (backend as Partial<HeapBackend>).typedArrayFromHeap === 'function';

/** Wraps the backend's `Slice`: numeric tensors are sliced on the heap, strings go to `stock`. */
export function slicingOnHeap(stock: KernelFunc): KernelFunc {
  return (args) => {
    const x = args.inputs['x']!;
    if (x.dtype === 'string' || x.shape.length === 0 || !onHeap(args.backend)) return stock(args);
    const { begin, size } = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
    const [b, s] = slice_util.parseSliceParams(x as never, begin, size) as [number[], number[]];
    slice_util.assertParamsValid(x as never, b, s);
    return sliceOnHeap(args.backend, x, b, s);
  };
}

/** Wraps the backend's `SplitV`: numeric tensors are split on the heap, strings go to `stock`. */
export function splittingOnHeap(stock: KernelFunc): KernelFunc {
  return (args) => {
    const x = args.inputs['x']!;
    if (x.dtype === 'string' || x.shape.length === 0 || !onHeap(args.backend)) return stock(args);
    const { numOrSizeSplits, axis } = args.attrs as unknown as { numOrSizeSplits: number | number[]; axis: number };
    const a = util.parseAxisParam(axis, x.shape)[0]!;
    const sizes = backend_util.prepareSplitSize(x as never, numOrSizeSplits, a);
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((part) => {
      const size = [...x.shape];
      size[a] = part;
      const out = sliceOnHeap(args.backend as HeapBackend, x, begin, size);
      begin[a]! += part;
      return out;
    });
  };
}
