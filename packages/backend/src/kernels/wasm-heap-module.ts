// Element-wise float32 kernels that run directly on tfjs-backend-wasm's heap. Each is a tiny WebAssembly module,
// assembled here at load time (no build step, a few hundred bytes), that imports the backend's own memory, so it reads
// and writes tensors in place by their heap offsets with 128-bit SIMD. A function takes i32 parameters (byte
// offsets, a count) then f32 parameters (scalars, splatted to vectors once) and loops over 4-lane groups.
// Where WebAssembly SIMD is missing, or the backend's memory cannot be reached, `instantiateOnHeap` returns undefined
// and the caller runs its JavaScript path.
import type { TensorInfo } from '@tensorflow/tfjs-core';

/** WebAssembly code: the bytes of one or more instructions, operands first (the folded text format). */
export type Code = number[];

/** Unsigned LEB128, the encoding of WebAssembly's counts, indices and sizes. */
export const uleb = (value: number): number[] => {
  const bytes: number[] = [];
  let v = value >>> 0;
  do {
    const byte = v & 0x7f;
    v >>>= 7;
    bytes.push(v ? byte | 0x80 : byte);
  } while (v);
  return bytes;
};
/** Signed LEB128 i32.const. */
export function i32c(value: number): Code {
  const bytes = [0x41];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    bytes.push(done ? byte : byte | 0x80);
    if (done) return bytes;
  }
}
const simd = (op: number): Code => [0xfd, ...uleb(op)];
const f32x4 = (op: number) => (a: Code, b: Code): Code => [...a, ...b, ...simd(op)];

export const local = (index: number): Code => [0x20, ...uleb(index)];
export const setLocal = (index: number, value: Code): Code => [...value, 0x21, ...uleb(index)];
/** i32.const for 0 <= value < 64 (where the signed LEB128 encoding is one byte). */
export const i32 = (value: number): Code => [0x41, value & 0x3f];
export const i32Add = (a: Code, b: Code): Code => [...a, ...b, 0x6a];
/** v128.load / v128.store at `address` + a static byte offset. */
export const load = (address: Code, offset = 0): Code => [...address, ...simd(0x00), 0, ...uleb(offset)];
export const store = (address: Code, value: Code, offset = 0): Code => [...address, ...value, ...simd(0x0b), 0, ...uleb(offset)];
export const add = f32x4(0xe4);
export const sub = f32x4(0xe5);
export const mul = f32x4(0xe6);
export const div = f32x4(0xe7);
export const sqrt = (a: Code): Code => [...a, ...simd(0xe3)];
/** f32x4.splat of a constant. */
export const f32x4Splat = (value: number): Code => [0x43, ...new Uint8Array(new Float32Array([value]).buffer), ...simd(0x13)];
/** `block loop (br_if out when local counter == 0) body; counter -= 1; br loop end end`. */
export const countedLoop = (counter: number, body: Code): Code => [
  0x02, 0x40, 0x03, 0x40,
  ...local(counter), 0x45, 0x0d, 1,
  ...body,
  ...setLocal(counter, [...local(counter), ...i32c(1), 0x6b]),
  0x0c, 0, 0x0b, 0x0b,
];

/**
 * One exported function: `pointers` i32 parameters (byte offsets into the heap), then `count` (i32, number of 4-lane
 * groups), then `scalars` f32 parameters, available in `body` as vector locals. `body(p, s, v)` gets the locals of the
 * pointers (advanced by 16 bytes per group), of the splatted scalars and `temps` free vector locals, and returns the code
 * of one group.
 */
export interface HeapLoop {
  name: string;
  pointers: number;
  scalars: number;
  temps: number;
  body(pointers: number[], scalars: number[], temps: number[]): Code[];
}

/** One assembled function: its type (a func type entry) and its code (a code section entry, size included). */
export interface AssembledFunction {
  name: string;
  type: number[];
  code: number[];
}

/** The type entry of a function of `i32s` i32 then `f32s` f32 parameters and no result. */
export const functionType = (i32s: number, f32s = 0): number[] => [
  0x60, ...uleb(i32s + f32s), ...new Array<number>(i32s).fill(0x7f), ...new Array<number>(f32s).fill(0x7d), 0,
];

/** A code section entry: local declarations as [count, valtype] groups, then the body (without its final `end`). */
export function functionCode(locals: [number, number][], body: Code): number[] {
  const content = [...uleb(locals.length), ...locals.flatMap(([n, t]) => [...uleb(n), t]), ...body, 0x0b];
  return [...uleb(content.length), ...content];
}

/**
 * Assembles `f`. With `scalarsInMemory`, the function takes one i32 (a byte offset) instead of the f32 scalars and reads
 * them from there, as consecutive float32 values: the form whose arguments are all integers (heap-threads.ts queues calls
 * as integers), named `<name>_m`.
 */
export function assembleLoop(f: HeapLoop, scalarsInMemory = false): AssembledFunction {
  const params = f.pointers + 1 + (scalarsInMemory ? 1 : f.scalars);
  const type = scalarsInMemory ? functionType(f.pointers + 2) : functionType(f.pointers + 1, f.scalars);
  const count = f.pointers;
  const pointers = Array.from({ length: f.pointers }, (_, k) => k);
  const splats = Array.from({ length: f.scalars }, (_, k) => params + k);
  const temps = Array.from({ length: f.temps }, (_, k) => params + f.scalars + k);
  const advance = pointers.map((p) => setLocal(p, i32Add(local(p), i32(16))));
  // f32x4.splat of a parameter, or v128.load32_splat from the scalars' offset.
  const splat = (k: number): Code => (scalarsInMemory ? [...local(f.pointers + 1), ...simd(0x09), 2, ...uleb(4 * k)] : [...local(f.pointers + 1 + k), ...simd(0x13)]);
  const body = [
    ...uleb(1), ...uleb(f.scalars + f.temps), 0x7b, // v128 locals
    ...splats.flatMap((s, k) => setLocal(s, splat(k))),
    0x02, 0x40, 0x03, 0x40, // block, loop
    ...local(count), 0x45, 0x0d, 1, // br_if out (count == 0)
    ...f.body(pointers, splats, temps).flat(),
    ...advance.flat(),
    ...setLocal(count, [...local(count), 0x41, 1, 0x6b]), // count -= 1
    0x0c, 0, 0x0b, 0x0b, // br loop, end, end
    0x0b,
  ];
  return { name: scalarsInMemory ? `${f.name}_m` : f.name, type, code: [...uleb(body.length), ...body] };
}

/** A module importing memory `e.m` (shared or not, as the backend's is) that exports the loops by name. */
export function assembleHeapModule(loops: readonly HeapLoop[], shared: boolean): Uint8Array<ArrayBuffer> {
  return assembleModule(loops.map((l) => assembleLoop(l)), shared);
}

/** A module importing memory `e.m` (shared or not) that exports `functions` by name. */
export function assembleModule(assembled: readonly AssembledFunction[], shared: boolean): Uint8Array<ArrayBuffer> {
  const section = (id: number, content: number[]) => [id, ...uleb(content.length), ...content];
  const name = (text: string) => [...uleb(text.length), ...Array.from(text, (c) => c.charCodeAt(0))];
  // A shared memory import must state a maximum; 65536 pages (4 GiB) admits any wasm32 memory.
  const limits = shared ? [0x03, 0, ...uleb(65536)] : [0x00, 0];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [...uleb(assembled.length), ...assembled.flatMap((a) => a.type)]),
    ...section(2, [1, ...name('e'), ...name('m'), 0x02, ...limits]),
    ...section(3, [...uleb(assembled.length), ...assembled.map((_, i) => uleb(i)).flat()]),
    ...section(7, [...uleb(assembled.length), ...assembled.flatMap((l, i) => [...name(l.name), 0x00, ...uleb(i)])]),
    ...section(10, [...uleb(assembled.length), ...assembled.flatMap((a) => a.code)]),
  ]);
}

/** The parts of the WebAssembly API used here (declared locally: the package compiles without DOM or Node types). */
interface WasmApi {
  Memory: abstract new (...args: never[]) => { buffer: ArrayBufferLike };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

/** What tfjs-backend-wasm exposes of its heap and tensors. */
interface WasmBackendLike {
  wasm?: { wasmMemory?: unknown; asm?: { memory?: unknown } };
  dataIdMap?: { get(dataId: object): { memoryOffset: number } | undefined };
}

/** The WebAssembly.Memory of a tfjs-backend-wasm backend (threaded build: Module.wasmMemory; else the exported one). */
export function heapMemory(backend: object): { buffer: ArrayBufferLike } | undefined {
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  const module = (backend as WasmBackendLike).wasm;
  const memory = module?.wasmMemory ?? module?.asm?.memory;
  return wasm && memory instanceof wasm.Memory ? memory : undefined;
}

/** Byte offset of a tensor in the wasm backend's heap. */
export function heapOffset(backend: object, info: TensorInfo): number {
  const data = (backend as WasmBackendLike).dataIdMap?.get(info.dataId);
  if (!data) throw new Error('The tensor is not on this wasm backend.');
  return data.memoryOffset;
}

const instances = new WeakMap<object, Map<string, Record<string, unknown> | null>>();

/**
 * The exports of the module of `loops` instantiated on `backend`'s heap (cached per memory and `key`), or undefined where
 * WebAssembly SIMD is unavailable or `backend` is not a tfjs-backend-wasm backend.
 */
export function instantiateOnHeap<T>(backend: object, key: string, loops: readonly HeapLoop[] | (() => readonly AssembledFunction[])): T | undefined {
  const memory = heapMemory(backend);
  if (!memory) return undefined;
  let byKey = instances.get(memory);
  if (!byKey) instances.set(memory, (byKey = new Map()));
  if (!byKey.has(key)) {
    const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    try {
      const bytes = typeof loops === 'function' ? assembleModule(loops(), shared) : assembleHeapModule(loops, shared);
      const module = new wasm.Module(bytes);
      byKey.set(key, new wasm.Instance(module, { e: { m: memory } }).exports);
    } catch {
      byKey.set(key, null); // no SIMD (or no shared-memory import) in this runtime
    }
  }
  return (byKey.get(key) ?? undefined) as T | undefined;
}
