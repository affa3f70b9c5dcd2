// Register-tiled matrix-product micro-kernels that run on tfjs-backend-wasm's heap, assembled here at load time.
//
// `tile_R_V(a, lda, b, ldb, c, ldc, k, tiles, blocks, aStep)` adds A · B to C for `blocks` consecutive R-row blocks of
// C, each over `tiles` consecutive column tiles of 4·V floats: C[r, j] += Σ_κ A[r, κ] · B[κ, j] for κ < k. A, B and C
// are float32 matrices at byte offsets a, b, c with byte row strides lda, ldb, ldc; B and C are row-major, A's
// consecutive κ are aStep bytes apart (4: row-major; 4·rows with lda = 4: A is stored transposed). The R·V accumulators (f32x4) stay in registers over the
// whole k loop; each step splats one value of each A row and loads V vectors of one B row, so each value loaded feeds
// R or V multiply-adds. Variants: R ∈ {1, 4}, V ∈ {1, 2} (4 x 8 is the main tile: 8 accumulators, 2 B vectors and one
// splat fit x86-64's 16 vector registers with room to spare), each with plain SIMD (a multiply and an add) and, where
// the runtime validates it, relaxed SIMD (`f32x4.relaxed_madd`, a fused multiply-add where the processor has FMA).
import { functionCode, functionType, heapOffset, i32c, instantiateOnHeap, uleb, type AssembledFunction, type Code } from './wasm-heap-module.ts';
import type { TensorInfo } from '@tensorflow/tfjs-core';

/** Rows of C per call of a tile function, and 4-lane vectors per column tile, of the variants assembled. */
export const TILE_ROWS: readonly (1 | 4)[] = [4, 1];
export const TILE_VECTORS: readonly (1 | 2)[] = [2, 1];

const I32 = 0x7f;
const V128 = 0x7b;
const get = (i: number): Code => [0x20, ...uleb(i)];
const set = (i: number): Code => [0x21, ...uleb(i)];
const tee = (i: number): Code => [0x22, ...uleb(i)];
const simd = (op: number): Code => [0xfd, ...uleb(op)];
const I32_ADD = 0x6a;
const I32_SUB = 0x6b;
const I32_MUL = 0x6c;
const load = (offset: number): Code => [...simd(0x00), 0, ...uleb(offset)];
const store = (offset: number): Code => [...simd(0x0b), 0, ...uleb(offset)];
const LOAD32_SPLAT = [...simd(0x09), 0, 0];
const F32X4_ADD = simd(0xe4);
const F32X4_MUL = simd(0xe6);
const RELAXED_MADD = simd(0x105);

/** The tile function for R rows and V vectors. */
function tileFunction(rows: number, vectors: number, relaxed: boolean): AssembledFunction {
  const [a, lda, b, ldb, c, ldc, k, tiles, blocks, aStep] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  // i32 locals: tiles left, step counter, B pointer, C pointer, B of the block's first tile, one A pointer per row.
  const [tile, step, bp, cp, b0] = [10, 11, 12, 13, 14];
  const ap = (r: number) => 15 + r;
  // v128 locals: accumulators, B vectors, the splat.
  const v0 = 15 + rows;
  const acc = (r: number, v: number) => v0 + r * vectors + v;
  const bv = (v: number) => v0 + rows * vectors + v;
  const splat = v0 + rows * vectors + vectors;
  const cRow = (r: number): Code => (r === 0 ? get(cp) : [...get(cp), ...get(ldc), ...i32c(r), I32_MUL, I32_ADD]);
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const madd = (r: number, v: number): Code =>
    relaxed
      ? [...get(splat), ...get(bv(v)), ...get(acc(r, v)), ...RELAXED_MADD, ...set(acc(r, v))]
      : [...get(acc(r, v)), ...get(splat), ...get(bv(v)), ...F32X4_MUL, ...F32X4_ADD, ...set(acc(r, v))];
  const body: Code = [
    ...get(b), ...set(b0),
    0x02, 0x40, 0x03, 0x40, // block, loop (row blocks)
    ...get(blocks), 0x45, 0x0d, 1, // br_if out when no block is left
    ...get(b0), ...set(b),
    ...get(c), ...set(cp),
    ...get(tiles), ...set(tile),
    0x02, 0x40, 0x03, 0x40, // block, loop (column tiles)
    ...get(tile), 0x45, 0x0d, 1,
    ...range(rows).flatMap((r) => [...get(a), ...get(lda), ...i32c(r), I32_MUL, I32_ADD, ...set(ap(r))]),
    ...range(rows).flatMap((r) => range(vectors).flatMap((v) => [...cRow(r), ...load(16 * v), ...set(acc(r, v))])),
    ...get(b), ...set(bp),
    ...get(k), ...set(step),
    0x03, 0x40, // loop (k)
    ...range(vectors).flatMap((v) => [...get(bp), ...load(16 * v), ...set(bv(v))]),
    ...range(rows).flatMap((r) => [
      ...get(ap(r)), ...LOAD32_SPLAT, ...set(splat),
      ...get(ap(r)), ...get(aStep), I32_ADD, ...set(ap(r)),
      ...range(vectors).flatMap((v) => madd(r, v)),
    ]),
    ...get(bp), ...get(ldb), I32_ADD, ...set(bp),
    ...get(step), ...i32c(1), I32_SUB, ...tee(step), 0x0d, 0, // br_if k loop while steps are left
    0x0b,
    ...range(rows).flatMap((r) => range(vectors).flatMap((v) => [...cRow(r), ...get(acc(r, v)), ...store(16 * v)])),
    ...get(cp), ...i32c(16 * vectors), I32_ADD, ...set(cp),
    ...get(b), ...i32c(16 * vectors), I32_ADD, ...set(b),
    ...get(tile), ...i32c(1), I32_SUB, ...set(tile),
    0x0c, 0, 0x0b, 0x0b, // br tiles, end, end
    ...get(a), ...get(lda), ...i32c(rows), I32_MUL, I32_ADD, ...set(a),
    ...get(c), ...get(ldc), ...i32c(rows), I32_MUL, I32_ADD, ...set(c),
    ...get(blocks), ...i32c(1), I32_SUB, ...set(blocks),
    0x0c, 0, 0x0b, 0x0b, // br blocks, end, end
  ];
  return {
    name: `tile_${rows}_${vectors}`,
    type: functionType(10),
    code: functionCode([[5 + rows, I32], [rows * vectors + vectors + 1, V128]], body),
  };
}

/** All tile functions of one kind (plain or relaxed SIMD). */
export const tileFunctions = (relaxed: boolean): AssembledFunction[] =>
  TILE_ROWS.flatMap((r) => TILE_VECTORS.map((v) => tileFunction(r, v, relaxed)));

export type Tile = (a: number, lda: number, b: number, ldb: number, c: number, ldc: number, k: number, tiles: number, blocks: number, aStep: number) => void;

/** The tile functions of one module, by rows and vectors. */
export interface TileKernels {
  relaxed: boolean;
  tile(rows: 1 | 4, vectors: 1 | 2): Tile;
  /** Runs what was queued (threaded kernels queue their calls); the products are complete when it returns. */
  finish?(): void;
  /** Threads of threaded kernels. */
  threads?: number;
  /** Threaded kernels: queues a whole call of heap function `name` (one of `winogradFunctions` or `batchNormFunctions`) for thread `thread`. */
  call?(name: string, args: number[], thread: number): void;
  /** Threaded kernels: queues a point that every thread reaches before any goes on. */
  barrier?(): void;
}

/** Threaded `kernels` with every tile call queued whole for thread `thread` (products split by columns or chunks). */
export const onThread = (kernels: TileKernels, thread: number): TileKernels => ({
  relaxed: kernels.relaxed,
  tile: (r, v) => (...args) => kernels.call!(`tile_${r}_${v}`, args, thread),
});

/** Which SIMD the product kernels use: `auto` takes relaxed SIMD where the runtime validates it. */
export type SimdMode = 'auto' | 'plain' | 'relaxed';

let mode: SimdMode = 'auto';

/** Chooses the SIMD of the product kernels (for tests and benchmarks: `plain` forces the fallback). */
export function setProductSimd(next: SimdMode): void {
  mode = next;
}

/**
 * The tile kernels on `backend`'s heap (relaxed SIMD where available and allowed), or undefined where the backend is not
 * tfjs-backend-wasm or the runtime has no WebAssembly SIMD.
 */
export function tileKernels(backend: object): TileKernels | undefined {
  const make = (relaxed: boolean): TileKernels | undefined => {
    const exports = instantiateOnHeap<Record<string, Tile>>(backend, relaxed ? 'tiles-relaxed' : 'tiles', () => tileFunctions(relaxed));
    return exports && { relaxed, tile: (r, v) => exports[`tile_${r}_${v}`]! };
  };
  if (mode === 'plain') return make(false);
  const relaxed = make(true);
  if (relaxed || mode === 'relaxed') return relaxed;
  return make(false);
}

/**
 * C[m, n] += A[m, k] · B[k, n] on the heap, strides in floats; n must be a multiple of 4. B and C are row-major; A's
 * rows are `lda` apart and its consecutive κ `aStep` apart (1 unless given: row-major; lda 1 and aStep m: A stored as
 * Aᵀ[k, m]).
 */
export interface Product {
  a: number;
  lda: number;
  aStep?: number;
  b: number;
  ldb: number;
  c: number;
  ldc: number;
  m: number;
  n: number;
  k: number;
}

/**
 * Adds A · B to C (byte offsets in `p` are float offsets x 4 added to the bases): rows in blocks of 4 (a 1-row tile for
 * the rest), columns in 8-wide tiles (a 4-wide one for the rest).
 */
export function multiplyAdd(kernels: TileKernels, p: Product): void {
  if (p.n % 4 !== 0) throw new Error(`multiplyAdd needs a multiple of 4 columns, got ${p.n}.`);
  if (p.m === 0 || p.n === 0 || p.k === 0) return;
  const wide = Math.floor(p.n / 8);
  const narrow = (p.n % 8) / 4;
  const blocks = Math.floor(p.m / 4);
  const run = (rows: 1 | 4, r: number, count: number) => {
    const a = 4 * (p.a + r * p.lda);
    const c = 4 * (p.c + r * p.ldc);
    const aStep = 4 * (p.aStep ?? 1);
    if (wide) kernels.tile(rows, 2)(a, 4 * p.lda, 4 * p.b, 4 * p.ldb, c, 4 * p.ldc, p.k, wide, count, aStep);
    if (narrow) kernels.tile(rows, 1)(a, 4 * p.lda, 4 * (p.b + 8 * wide), 4 * p.ldb, c + 32 * wide, 4 * p.ldc, p.k, 1, count, aStep);
  };
  if (blocks) run(4, 0, blocks);
  if (p.m % 4) run(1, 4 * blocks, p.m % 4);
}

/** Thread `t`'s share [from, to) of `count` units split over `threads` threads in contiguous ranges (as the worker threads split tile calls). */
export const threadShare = (count: number, t: number, threads: number): [number, number] => [
  Math.floor((count * t) / threads),
  Math.floor((count * (t + 1)) / threads),
];

/** Float offset of a tensor in the heap. */
export const heapFloats = (backend: object, info: TensorInfo): number => heapOffset(backend, info) / 4;
