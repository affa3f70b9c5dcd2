// 3x3 stride-1 convolutions by Winograd's minimal filtering F(2x2, 3x3) on tfjs-backend-wasm's heap: each 2x2 block of
// output pixels comes from a 4x4 block of input pixels with 16 multiplies per (input, output) channel pair instead of
// 36, so the matrix products do 2.25x less arithmetic than the direct convolution.
//
// With the transforms (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016)
//   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1],  G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1],  Aᵀ = [1 1 1 0; 0 1 −1 −1],
// a tile's output is Y = Aᵀ [ Σ_c (G g_c Gᵀ) ⊙ (Bᵀ d_c B) ] A. Laid out as matrices over all tiles, for each of the 16
// positions k = (ξ, ν) of the 4x4 transformed tile:
//   V_k[tile, c] = (Bᵀ d B)[ξ, ν]   U_k[c, o] = (G g Gᵀ)[ξ, ν]   M_k[tile, o] = Σ_c V_k[tile, c] · U_k[c, o]
// and Y is Aᵀ M A per tile. The input and output transforms run as assembled SIMD loops over 4 channels at a time on
// the heap, the 16 products with the register-tiled kernels of gemm.ts. Tiles are processed in chunks (tile rows, or
// parts of one) small enough that V, M and the chunk's input stay in one core's L2 cache: two threads that stream
// through L3 or memory share its bandwidth and barely run faster than one. Large inputs are not padded whole first:
// each chunk copies its own zero-padded strip of input rows. On several threads (heap-threads.ts) the transforms and
// products of a chunk are split over the threads, or, with enough chunks, each chunk runs whole on one thread. The input gradient is the
// same algorithm on dy with the flipped, transposed filter; the weight gradient is its adjoint in the filter
// (`winogradFilterGradient`).
import { backend_util, type TensorInfo } from '@tensorflow/tfjs-core';
import { heapFloats, multiplyAdd, onThread, threadShare, type TileKernels } from './gemm.ts';
import { allocFloat32, disposeIntermediate, float32View } from './tensor-data.ts';
import { countedLoop, f32x4Splat, functionCode, functionType, i32c, instantiateOnHeap, uleb, type AssembledFunction, type Code } from './wasm-heap-module.ts';

const I32 = 0x7f;
const V128 = 0x7b;
const get = (i: number): Code => [0x20, ...uleb(i)];
const set = (i: number, value: Code): Code => [...value, 0x21, ...uleb(i)];
const simd = (op: number): Code => [0xfd, ...uleb(op)];
const i32Add = (a: Code, b: Code): Code => [...a, ...b, 0x6a];
const i32Mul = (a: Code, b: Code): Code => [...a, ...b, 0x6c];
const load = (address: Code): Code => [...address, ...simd(0x00), 0, 0];
const store = (address: Code, value: Code): Code => [...address, ...value, ...simd(0x0b), 0, 0];
const add = (a: Code, b: Code): Code => [...a, ...b, ...simd(0xe4)];
const sub = (a: Code, b: Code): Code => [...a, ...b, ...simd(0xe5)];
const mul = (a: Code, b: Code): Code => [...a, ...b, ...simd(0xe6)];
const pmax = (a: Code, b: Code): Code => [...a, ...b, ...simd(0xeb)];
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * The two loops shared by the tile transforms: over `tiles` tiles along a row (src advancing by `srcStep`, dst by
 * `dstStep`), and within a tile over `groups` groups of 4 channels (s and d advancing 16 bytes, `perGroup` more pointers
 * too); `group` is the code of one group. Locals: the parameters src, dst, groups, tiles and the loop locals s, d, g.
 */
function tileRows(
  l: { src: number; dst: number; groups: number; tiles: number; s: number; d: number; g: number },
  group: Code,
  srcStep: Code,
  dstStep: Code,
  perGroup: number[] = [],
  tileStart: Code = [],
): Code {
  const advance = [l.s, l.d, ...perGroup].flatMap((p) => set(p, i32Add(get(p), i32c(16))));
  const tile: Code = [
    ...tileStart,
    ...set(l.s, get(l.src)),
    ...set(l.d, get(l.dst)),
    ...set(l.g, get(l.groups)),
    ...countedLoop(l.g, [...group, ...advance]),
    ...set(l.src, i32Add(get(l.src), srcStep)),
    ...set(l.dst, i32Add(get(l.dst), dstStep)),
  ];
  return countedLoop(l.tiles, tile);
}

/**
 * `winograd_input(src, rowStride, c4, dst, plane, groups, tiles)`: for `tiles` tiles along a row (the next tile's input
 * starts 2 pixels right), Bᵀ d B of the 4x4 pixels at src (rows `rowStride` bytes apart, pixels `c4` bytes apart) for
 * `groups` groups of 4 channels, stored as 16 vectors `plane` bytes apart at dst (the next tile's at dst + c4).
 */
function inputTransform(): AssembledFunction {
  const [src, rowStride, c4, dst, plane, groups, tiles] = [0, 1, 2, 3, 4, 5, 6];
  const [s, d, g, address] = [7, 8, 9, 10];
  // Byte offset of pixel (r, c) of the 4x4 block from its first pixel, one i32 local each, computed once per call.
  const offset = (k: number) => 10 + k;
  const D = (r: number, c: number) => 26 + r * 4 + c;
  const T = (r: number, c: number) => 42 + r * 4 + c;
  const offsets: Code = range(15).flatMap((i) => {
    const [r, c] = [(i + 1) >> 2, (i + 1) & 3];
    return set(offset(i + 1), i32Add(i32Mul(get(rowStride), i32c(r)), i32Mul(get(c4), i32c(c))));
  });
  const pixel = (r: number, c: number): Code => (r === 0 && c === 0 ? get(s) : i32Add(get(s), get(offset(r * 4 + c))));
  const rowsOfBtD: ((c: number) => Code)[] = [
    (c) => sub(get(D(0, c)), get(D(2, c))),
    (c) => add(get(D(1, c)), get(D(2, c))),
    (c) => sub(get(D(2, c)), get(D(1, c))),
    (c) => sub(get(D(1, c)), get(D(3, c))),
  ];
  const columnsOfTB: ((u: number) => Code)[] = [
    (u) => sub(get(T(u, 0)), get(T(u, 2))),
    (u) => add(get(T(u, 1)), get(T(u, 2))),
    (u) => sub(get(T(u, 2)), get(T(u, 1))),
    (u) => sub(get(T(u, 1)), get(T(u, 3))),
  ];
  const group: Code = [
    ...range(16).flatMap((k) => set(D(k >> 2, k & 3), load(pixel(k >> 2, k & 3)))),
    ...range(16).flatMap((k) => set(T(k >> 2, k & 3), rowsOfBtD[k >> 2]!(k & 3))),
    ...set(address, get(d)),
    ...range(16).flatMap((k) => [
      ...store(get(address), columnsOfTB[k & 3]!(k >> 2)),
      ...set(address, i32Add(get(address), get(plane))),
    ]),
  ];
  const loops = tileRows({ src, dst, groups, tiles, s, d, g }, group, i32Add(get(c4), get(c4)), get(c4));
  return { name: 'winograd_input', type: functionType(7), code: functionCode([[19, I32], [32, V128]], [...offsets, ...loops]) };
}

/**
 * `winograd_output(src, plane, dst, rowStride, c4, groups, tiles, bias)`: for `tiles` tiles along a row, Aᵀ M A (+ bias,
 * then ReLU in the `_relu` variant) of the 16 vectors `plane` bytes apart at src, for `groups` groups of 4 channels,
 * stored as the 2x2 pixels at dst (rows `rowStride` bytes apart, pixels `c4` bytes apart; the next tile's at dst + 2·c4,
 * its M at src + c4).
 */
function outputTransform(relu: boolean): AssembledFunction {
  const [src, plane, dst, rowStride, c4, groups, tiles, bias] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [s, d, g, b, address] = [8, 9, 10, 11, 12];
  const M = (k: number) => 13 + k;
  const S = (r: number, c: number) => 29 + r * 4 + c;
  const [zero, biasVector] = [37, 38];
  const m = (xi: number, nu: number) => get(M(xi * 4 + nu));
  const out = (value: Code): Code => (relu ? pmax(add(value, get(biasVector)), get(zero)) : add(value, get(biasVector)));
  const y: Code[] = [
    add(add(get(S(0, 0)), get(S(0, 1))), get(S(0, 2))),
    sub(sub(get(S(0, 1)), get(S(0, 2))), get(S(0, 3))),
    add(add(get(S(1, 0)), get(S(1, 1))), get(S(1, 2))),
    sub(sub(get(S(1, 1)), get(S(1, 2))), get(S(1, 3))),
  ];
  const destinations: Code[] = [get(d), i32Add(get(d), get(c4)), i32Add(get(d), get(rowStride)), i32Add(i32Add(get(d), get(rowStride)), get(c4))];
  const group: Code = [
    ...set(address, get(s)),
    ...range(16).flatMap((k) => [...set(M(k), load(get(address))), ...set(address, i32Add(get(address), get(plane)))]),
    ...range(4).flatMap((c) => [
      ...set(S(0, c), add(add(m(0, c), m(1, c)), m(2, c))),
      ...set(S(1, c), sub(sub(m(1, c), m(2, c)), m(3, c))),
    ]),
    ...set(biasVector, load(get(b))),
    ...range(4).flatMap((k) => store(destinations[k]!, out(y[k]!))),
  ];
  const loops = tileRows({ src, dst, groups, tiles, s, d, g }, group, get(c4), i32Add(get(c4), get(c4)), [b], set(b, get(bias)));
  return {
    name: relu ? 'winograd_output_relu' : 'winograd_output',
    type: functionType(8),
    code: functionCode([[5, I32], [26, V128]], [...set(zero, f32x4Splat(0)), ...loops]),
  };
}

/**
 * `winograd_filter(w, u, taps, groups, rows, uPlane, uRowPad)`: G g Gᵀ for `rows` rows of 4·`groups` columns of a
 * [3, 3, rows, cols] filter at w (taps `taps` bytes apart), stored as 16 planes `uPlane` bytes apart at u, each [rows,
 * cols] with `uRowPad` bytes after each row.
 */
function filterTransform(): AssembledFunction {
  const [w, u, taps, groups, rows, uPlane, uRowPad] = [0, 1, 2, 3, 4, 5, 6];
  const [g, p, q, address] = [7, 8, 9, 10];
  const F = (t: number) => 11 + t;
  const A = (r: number, c: number) => 20 + r * 3 + c;
  const half = 32;
  const rowsOfGg: ((c: number) => Code)[] = [
    (c) => get(F(c)),
    (c) => mul(add(add(get(F(c)), get(F(3 + c))), get(F(6 + c))), get(half)),
    (c) => mul(add(sub(get(F(c)), get(F(3 + c))), get(F(6 + c))), get(half)),
    (c) => get(F(6 + c)),
  ];
  const columnsOfAGt: ((r: number) => Code)[] = [
    (r) => get(A(r, 0)),
    (r) => mul(add(add(get(A(r, 0)), get(A(r, 1))), get(A(r, 2))), get(half)),
    (r) => mul(add(sub(get(A(r, 0)), get(A(r, 1))), get(A(r, 2))), get(half)),
    (r) => get(A(r, 2)),
  ];
  const group: Code = [
    ...set(address, get(p)),
    ...range(9).flatMap((t) => [...set(F(t), load(get(address))), ...set(address, i32Add(get(address), get(taps)))]),
    ...range(12).flatMap((k) => set(A(Math.floor(k / 3), k % 3), rowsOfGg[Math.floor(k / 3)]!(k % 3))),
    ...set(address, get(q)),
    ...range(16).flatMap((k) => [...store(get(address), columnsOfAGt[k & 3]!(k >> 2)), ...set(address, i32Add(get(address), get(uPlane)))]),
    ...set(p, i32Add(get(p), i32c(16))),
    ...set(q, i32Add(get(q), i32c(16))),
  ];
  const row: Code = [...set(g, get(groups)), ...countedLoop(g, group), ...set(q, i32Add(get(q), get(uRowPad)))];
  return {
    name: 'winograd_filter',
    type: functionType(7),
    code: functionCode([[4, I32], [22, V128]], [...set(half, f32x4Splat(0.5)), ...set(p, get(w)), ...set(q, get(u)), ...countedLoop(rows, row)]),
  };
}

/**
 * `winograd_dy(src, rowStride, c4, dst, plane, groups, tiles)`: for `tiles` tiles along a row (the next one 2 pixels
 * right), A dy Aᵀ of the 2x2 pixels at src, for `groups` groups of 4 channels, stored as 16 vectors `plane` bytes apart
 * at dst (the next tile's at dst + c4). With A = (Aᵀ)ᵀ the rows of the 4x4 result are dy's rows r0, r0 + r1, r0 − r1, −r1
 * (the columns alike): the adjoint of the output transform.
 */
function outputGradientTransform(): AssembledFunction {
  const [src, rowStride, c4, dst, plane, groups, tiles] = [0, 1, 2, 3, 4, 5, 6];
  const [s, d, g, address] = [7, 8, 9, 10];
  const D = (r: number, c: number) => 11 + r * 2 + c;
  const R = (r: number, c: number) => 15 + r * 2 + c;
  const neg = (a: Code): Code => [...a, ...simd(0xe1)];
  const pixels: Code[] = [get(s), i32Add(get(s), get(c4)), i32Add(get(s), get(rowStride)), i32Add(i32Add(get(s), get(rowStride)), get(c4))];
  const adjoint = (first: Code, second: Code): Code[] => [first, add(first, second), sub(first, second), neg(second)];
  const group: Code = [
    ...range(4).flatMap((k) => set(D(k >> 1, k & 1), load(pixels[k]!))),
    ...range(2).flatMap((c) => adjoint(get(D(0, c)), get(D(1, c))).flatMap((value, r) => set(R(r, c), value))),
    ...set(address, get(d)),
    ...range(4).flatMap((r) =>
      adjoint(get(R(r, 0)), get(R(r, 1))).flatMap((value) => [...store(get(address), value), ...set(address, i32Add(get(address), get(plane)))]),
    ),
  ];
  const loops = tileRows({ src, dst, groups, tiles, s, d, g }, group, i32Add(get(c4), get(c4)), get(c4));
  return { name: 'winograd_dy', type: functionType(7), code: functionCode([[4, I32], [12, V128]], loops) };
}

/**
 * `winograd_filter_gradient(src, dst, taps, groups, rows)`: Gᵀ Ŵ G (the adjoint of the filter transform) of the
 * [16, rows, cols] sums Ŵ at src, for `rows` rows of 4·`groups` columns, stored as the [3, 3, rows, cols] gradient at
 * dst (taps and the 16 planes both `taps` bytes apart).
 */
function filterGradientTransform(): AssembledFunction {
  const [src, dst, taps, groups, rows] = [0, 1, 2, 3, 4];
  const [g, p, q, address] = [5, 6, 7, 8];
  const W = (k: number) => 9 + k;
  const A = (r: number, c: number) => 25 + r * 4 + c;
  const half = 37;
  // Gᵀ = [1 ½ ½ 0; 0 ½ −½ 0; 0 ½ ½ 1] applied to four values.
  const gt = (v: (i: number) => Code): Code[] => [
    add(v(0), mul(add(v(1), v(2)), get(half))),
    mul(sub(v(1), v(2)), get(half)),
    add(mul(add(v(1), v(2)), get(half)), v(3)),
  ];
  const group: Code = [
    ...set(address, get(p)),
    ...range(16).flatMap((k) => [...set(W(k), load(get(address))), ...set(address, i32Add(get(address), get(taps)))]),
    ...range(4).flatMap((nu) => gt((xi) => get(W(xi * 4 + nu))).flatMap((value, r) => set(A(r, nu), value))),
    ...set(address, get(q)),
    ...range(3).flatMap((r) =>
      gt((nu) => get(A(r, nu))).flatMap((value) => [...store(get(address), value), ...set(address, i32Add(get(address), get(taps)))]),
    ),
    ...set(p, i32Add(get(p), i32c(16))),
    ...set(q, i32Add(get(q), i32c(16))),
  ];
  const row: Code = [...set(g, get(groups)), ...countedLoop(g, group)];
  return {
    name: 'winograd_filter_gradient',
    type: functionType(5),
    code: functionCode([[4, I32], [29, V128]], [...set(half, f32x4Splat(0.5)), ...set(p, get(src)), ...set(q, get(dst)), ...countedLoop(rows, row)]),
  };
}

/** `winograd_zero(dst, count)`: stores `count` zero vectors from dst on (clears M before the products add to it). */
function zeroFill(): AssembledFunction {
  const [dst, count] = [0, 1];
  const zero = 2;
  const body: Code = [...store(get(dst), get(zero)), ...set(dst, i32Add(get(dst), i32c(16)))];
  return { name: 'winograd_zero', type: functionType(2), code: functionCode([[1, V128]], [...set(zero, f32x4Splat(0)), ...countedLoop(count, body)]) };
}

/**
 * `copy_rows(src, srcRow, dst, dstRow, rows, left, copy, right)`: for `rows` rows (src and dst advancing `srcRow`
 * and `dstRow` bytes), `left` zero bytes at dst, then `copy` bytes from src, then `right` zero bytes (memory.fill and
 * memory.copy): here one chunk's part of the zero-padded input, written where the chunk's thread reads it next; also
 * the strided row copies of the deep-layer heap forward (conv2d-products.ts) and of heap slices (slice.ts).
 */
function stripFill(): AssembledFunction {
  const [src, srcRow, dst, dstRow, rows, left, copy, right] = [0, 1, 2, 3, 4, 5, 6, 7];
  const fill = (at: Code, bytes: Code): Code => [...at, ...i32c(0), ...bytes, 0xfc, 11, 0];
  const body: Code = [
    ...fill(get(dst), get(left)),
    ...i32Add(get(dst), get(left)), ...get(src), ...get(copy), 0xfc, 10, 0, 0,
    ...fill(i32Add(i32Add(get(dst), get(left)), get(copy)), get(right)),
    ...set(src, i32Add(get(src), get(srcRow))),
    ...set(dst, i32Add(get(dst), get(dstRow))),
  ];
  return { name: 'copy_rows', type: functionType(8), code: functionCode([], countedLoop(rows, body)) };
}

/**
 * `winograd_transpose(src, srcRow, dst, dstRow, rows, cols)`: dst[j][i] = src[i][j] for i < rows, j < cols (float32,
 * row strides in bytes). Called on blocks of 16 rows, whose values each column reads stay in L1 across the columns: the
 * in/out swap of the flipped filter of an input gradient, one block of a tap per call.
 */
function transposeBlock(): AssembledFunction {
  const [src, srcRow, dst, dstRow, rows, cols] = [0, 1, 2, 3, 4, 5];
  const [s, d, i] = [6, 7, 8];
  const [F32_LOAD, F32_STORE] = [[0x2a, 2, 0], [0x38, 2, 0]];
  const value: Code = [...get(d), ...get(s), ...F32_LOAD, ...F32_STORE, ...set(d, i32Add(get(d), i32c(4))), ...set(s, i32Add(get(s), get(srcRow)))];
  const column: Code = [
    ...set(s, get(src)),
    ...set(d, get(dst)),
    ...set(i, get(rows)),
    ...countedLoop(i, value),
    ...set(src, i32Add(get(src), i32c(4))),
    ...set(dst, i32Add(get(dst), get(dstRow))),
  ];
  return { name: 'winograd_transpose', type: functionType(6), code: functionCode([[3, I32]], countedLoop(cols, column)) };
}

type Input = (src: number, rowStride: number, c4: number, dst: number, plane: number, groups: number, tiles: number) => void;
type Output = (src: number, plane: number, dst: number, rowStride: number, c4: number, groups: number, tiles: number, bias: number) => void;
type Filter = (w: number, u: number, taps: number, groups: number, rows: number) => void;
interface Transforms {
  winograd_zero: (dst: number, count: number) => void;
  copy_rows: (src: number, srcRow: number, dst: number, dstRow: number, rows: number, left: number, copy: number, right: number) => void;
  winograd_transpose: (src: number, srcRow: number, dst: number, dstRow: number, rows: number, cols: number) => void;
  winograd_input: Input;
  winograd_dy: Input;
  winograd_filter_gradient: Filter;
  winograd_output: Output;
  winograd_output_relu: Output;
  winograd_filter: (w: number, u: number, taps: number, groups: number, rows: number, uPlane: number, uRowPad: number) => void;
}

/** The assembled transforms (heap-threads.ts runs them on worker threads too). */
export const winogradFunctions = (): AssembledFunction[] => [
  inputTransform(), outputTransform(false), outputTransform(true), filterTransform(), outputGradientTransform(), filterGradientTransform(), zeroFill(), stripFill(), transposeBlock(),
];

/** The assembled transforms on `backend`'s heap, or undefined where it is not tfjs-backend-wasm or has no SIMD. */
export const winogradTransforms = (backend: object): Transforms | undefined => instantiateOnHeap<Transforms>(backend, 'winograd', winogradFunctions);

/**
 * Runs transform `name` now, or with threaded kernels queues it for thread `index` mod threads (the products after a
 * `barrier` then see its results).
 */
export function runner(kernels: TileKernels, transforms: Transforms) {
  return (name: keyof Transforms, args: number[], index: number): void => {
    if (kernels.call) kernels.call(name, args, index);
    else (transforms[name] as (...values: number[]) => void)(...args);
  };
}

/**
 * How a convolution's chunks use the threads: with at least two chunks per thread, each chunk goes whole to one thread
 * (chunk c to thread c mod threads, which has its own buffers), so threads never wait for each other within the
 * convolution; with fewer chunks, every chunk's transforms and products are split over all threads, with barriers.
 */
function lanesFor(kernels: TileKernels, chunks: number): number {
  const threads = kernels.threads ?? 1;
  return threads > 1 && chunks >= 2 * threads ? threads : 1;
}


/**
 * f[p, q, c, o] = w[2 − p, 2 − q, o, c] of the forward filter w [3, 3, O, C] at byte offset `w`, written at `f`: each tap
 * transposed in blocks of 16 rows of w, spread over the threads (followed by a barrier when threaded).
 */
function flipFilter(run: ReturnType<typeof runner>, kernels: TileKernels, w: number, f: number, C: number, O: number): void {
  const threads = kernels.threads ?? 1;
  let call = 0;
  for (let tap = 0; tap < 9; tap++) {
    const from = w + 4 * (8 - tap) * O * C;
    for (let o0 = 0; o0 < O; o0 += 16) run('winograd_transpose', [from + 4 * o0 * C, 4 * C, f + 4 * (tap * C * O + o0), 4 * O, Math.min(16, O - o0), C], call++ % threads);
  }
  kernels.barrier?.();
}

/** Runs a filter transform over `rows` rows (each `rowBytes` long in both operands), split into one call per thread. */
function filterRows(
  kernels: TileKernels,
  run: ReturnType<typeof runner>,
  name: 'winograd_filter' | 'winograd_filter_gradient',
  [src, dst, taps, groups, rows]: [number, number, number, number, number],
  dstRow = 16 * groups,
  extra: number[] = [],
): void {
  const threads = kernels.threads ?? 1;
  for (let t = 0; t < threads; t++) {
    const [r0, r1] = threadShare(rows, t, threads);
    if (r1 > r0) run(name, [src + r0 * groups * 16, dst + r0 * dstRow, taps, groups, r1 - r0, ...extra], t);
  }
}

/** Row stride of U (floats): O plus 8, so that the product's walk down U's rows does not stay in a few cache sets. */
const uRow = (O: number): number => O + 8;

/** The geometry of one stride-1 3x3 convolution as Winograd runs it (explicit padding; zeros outside the input). */
export interface WinogradShape {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  outChannels: number;
  top: number;
  left: number;
}

/** The shape of a forward convolution, or undefined where Winograd does not apply (not 3x3, stride or dilation ≠ 1, channels not multiples of 4). */
export function winogradShape(info: backend_util.Conv2DInfo): WinogradShape | undefined {
  const fits =
    info.filterHeight === 3 && info.filterWidth === 3 && info.strideHeight === 1 && info.strideWidth === 1 &&
    info.dilationHeight === 1 && info.dilationWidth === 1 && info.inChannels % 4 === 0 && info.outChannels % 4 === 0 &&
    info.inChannels > 0 && info.outChannels > 0 && info.dataFormat === 'channelsLast';
  if (!fits) return undefined;
  return {
    batch: info.batchSize, inHeight: info.inHeight, inWidth: info.inWidth, inChannels: info.inChannels,
    outHeight: info.outHeight, outWidth: info.outWidth, outChannels: info.outChannels,
    top: info.padInfo.top, left: info.padInfo.left,
  };
}

/** The stride-1 convolution whose output is `Conv2DBackpropInput`'s dx: dy with the flipped, in/out-swapped filter. */
export function backpropInputShape(info: backend_util.Conv2DInfo): WinogradShape | undefined {
  const forward = winogradShape(info);
  if (!forward) return undefined;
  return {
    batch: info.batchSize, inHeight: info.outHeight, inWidth: info.outWidth, inChannels: info.outChannels,
    outHeight: info.inHeight, outWidth: info.inWidth, outChannels: info.inChannels,
    top: 2 - info.padInfo.top, left: 2 - info.padInfo.left,
  };
}

/**
 * Whether Winograd beats XNNPACK's direct convolution on this shape (measured per UNet-ResNet layer with
 * `pnpm --filter @steel/backend bench:conv`): at least 16 channels on each side (fewer leave the products too short
 * for the transforms to pay), at least 16 tiles, and at least 70% of the 2x2 tiles' pixels inside the output (a 1x7
 * output computes 2x8).
 */
export function winogradPays(s: WinogradShape): boolean {
  const tiles = s.batch * Math.ceil(s.outHeight / 2) * Math.ceil(s.outWidth / 2);
  const inside = (s.outHeight * s.outWidth) / (4 * Math.ceil(s.outHeight / 2) * Math.ceil(s.outWidth / 2));
  return Math.min(s.inChannels, s.outChannels) >= 16 && tiles >= 16 && inside >= 0.7;
}

/**
 * Floats between the 16 planes of V, M or Z for `floats` floats per plane: 32 more than a multiple of 32, so that the
 * 16 vectors of one tile, a plane apart, do not all fall into the same cache set (as planes a power of two apart do).
 */
const plane = (floats: number): number => 32 * Math.ceil(floats / 32) + 32;

/** Floats of V (16 planes of tiles x input channels) per chunk where the whole input is padded first. */
const CHUNK_FLOATS = 1 << 18;
/** Floats of V per chunk where each chunk pads its own strip of input: V, M and the strip stay in one core's L2 cache. */
const STRIP_CHUNK_FLOATS = 1 << 16;
/** Inputs larger than this (bytes) are padded strip by strip, by the threads, instead of whole on the calling thread. */
const STRIP_INPUT_BYTES = 2 << 20;

/** `rows` tile rows from tile row `row` of all images in sequence (image ⌊row / tilesH⌋), tile columns [col, col + cols). */
interface Chunk {
  row: number;
  rows: number;
  col: number;
  cols: number;
}

/** How the tiles are split into chunks (tests force small chunks and both ways of padding). */
export interface ChunkOptions {
  /** Floats of V (or M) per chunk (at least one tile). */
  chunkFloats?: number;
  /**
   * Pad each chunk's input rows into a strip of its thread's own instead of padding the whole input first: the input is
   * read once, and nothing runs on one thread alone (default: for inputs over 2 MiB).
   */
  strips?: boolean;
}

/**
 * The chunks of a convolution: whole tile rows across images where the whole input is padded first; with strips, tile
 * rows of one image, or parts of one tile row where a row holds more tiles than a chunk.
 */
function planChunks(s: WinogradShape, options: ChunkOptions) {
  const { tilesH, tilesW, HP, WP } = tileGrid(s);
  const strips = options.strips ?? 4 * s.batch * HP * WP * s.inChannels > STRIP_INPUT_BYTES;
  // By default at least U's size: deep layers stream all of U once per chunk, so fewer, larger chunks.
  const target = options.chunkFloats ?? Math.max(strips ? STRIP_CHUNK_FLOATS : CHUNK_FLOATS, 16 * s.inChannels * s.outChannels);
  const maxTiles = Math.max(1, Math.floor(target / (16 * Math.max(s.inChannels, s.outChannels))));
  const chunks: Chunk[] = [];
  if (!strips) {
    const all = s.batch * tilesH;
    const rows = Math.max(1, Math.min(all, Math.floor(maxTiles / tilesW)));
    for (let row = 0; row < all; row += rows) chunks.push({ row, rows: Math.min(rows, all - row), col: 0, cols: tilesW });
  } else {
    const rows = Math.max(1, Math.min(tilesH, Math.floor(maxTiles / tilesW)));
    const segments = Math.ceil(tilesW / Math.min(tilesW, maxTiles));
    for (let b = 0; b < s.batch; b++) {
      for (let t = 0; t < tilesH; t += rows) {
        for (let k = 0; k < segments; k++) {
          const [c0, c1] = [Math.floor((tilesW * k) / segments), Math.floor((tilesW * (k + 1)) / segments)];
          chunks.push({ row: b * tilesH + t, rows: Math.min(rows, tilesH - t), col: c0, cols: c1 - c0 });
        }
      }
    }
  }
  const maxRows = Math.max(...chunks.map((c) => c.rows));
  const maxCols = Math.max(...chunks.map((c) => c.cols));
  return { chunks, strips, maxTiles: maxRows * maxCols, stripFloats: strips ? (2 * maxRows + 2) * (2 * maxCols + 2) * s.inChannels : 0 };
}

type Run = ReturnType<typeof runner>;

/**
 * Where `winograd_input` reads a chunk's tiles. With strips, first queues the chunk's strip (its 2·rows + 2 input rows
 * and 2·cols + 2 columns, zero-padded) at `strip`: on the chunk's thread, or split over all threads (`lane` undefined,
 * then followed by a barrier); without strips, reads the whole padded input at `padded`.
 * Returns, per tile row r of the chunk, the byte offset of its first tile's pixels and the byte stride of pixel rows.
 */
function chunkInput(
  run: Run,
  kernels: TileKernels,
  s: WinogradShape,
  chunk: Chunk,
  x: number,
  source: { padded: number | undefined; strip: number },
  lane: number | undefined,
): (r: number) => [number, number] {
  const { tilesH, HP, WP } = tileGrid(s);
  const C = s.inChannels;
  const { padded } = source;
  if (padded !== undefined) {
    return (r) => {
      const [b, t] = [Math.floor((chunk.row + r) / tilesH), (chunk.row + r) % tilesH];
      return [4 * (padded + ((b * HP + 2 * t) * WP + 2 * chunk.col) * C), 4 * WP * C];
    };
  }
  const threads = kernels.threads ?? 1;
  const [b, t] = [Math.floor(chunk.row / tilesH), chunk.row % tilesH];
  const [SH, SW] = [2 * chunk.rows + 2, 2 * chunk.cols + 2];
  const rowBytes = 4 * SW * C;
  // Strip row i is input row h0 + i, strip column j input column w0 + j.
  const [h0, w0] = [2 * t - s.top, 2 * chunk.col - s.left];
  const left = Math.min(SW, Math.max(0, -w0));
  const copy = Math.max(0, Math.min(s.inWidth, w0 + SW) - Math.max(0, w0));
  const first = Math.min(SH, Math.max(0, -h0));
  const end = Math.max(first, Math.min(SH, s.inHeight - h0));
  const zeros = (i: number, n: number, thread: number) => {
    if (n > 0) run('copy_rows', [0, 0, 4 * (source.strip + i * SW * C), rowBytes, n, rowBytes, 0, 0], thread);
  };
  zeros(0, first, lane ?? 0);
  zeros(end, SH - end, lane ?? threads - 1);
  const parts = lane === undefined ? threads : 1;
  for (let p = 0; p < parts; p++) {
    const [i0, i1] = [first + Math.floor(((end - first) * p) / parts), first + Math.floor(((end - first) * (p + 1)) / parts)];
    if (i1 <= i0) continue;
    const src = x + ((b * s.inHeight + h0 + i0) * s.inWidth + Math.max(0, w0)) * C;
    run('copy_rows', [4 * src, 4 * s.inWidth * C, 4 * (source.strip + i0 * SW * C), rowBytes, i1 - i0, 4 * left * C, 4 * copy * C, 4 * (SW - left - copy) * C], lane ?? p);
  }
  // Split over the threads, the strip is complete only after a barrier.
  if (lane === undefined) kernels.barrier?.();
  return (r) => [4 * (source.strip + 2 * r * SW * C), rowBytes];
}

/**
 * Winograd's F(2x2, 3x3) on the heap. `filter` is [3, 3, C, O] (HWIO) for the forward convolution; with `flipped`, it
 * is the forward filter [3, 3, O, C] of the convolution whose input gradient this is: tap (p, q) of the filter used is
 * w[2 − p, 2 − q] transposed. Adds `bias` (one value per output channel, or one for all) and applies ReLU if asked.
 */
export function winogradConv(
  backend: object,
  kernels: TileKernels,
  transforms: Transforms,
  x: TensorInfo,
  filter: TensorInfo,
  s: WinogradShape,
  options: { flipped?: boolean; bias?: TensorInfo | undefined; relu?: boolean } = {},
  chunking: ChunkOptions = {},
): TensorInfo {
  const { batch: B, inChannels: C, outHeight: OH, outWidth: OW, outChannels: O } = s;
  const { tilesH, OH2, OW2 } = tileGrid(s);
  const temps: TensorInfo[] = [];
  try {
    // U = G g Gᵀ, [16, C, O] with padded rows.
    const u = allocFloat32(backend, [16, C, uRow(O)]);
    temps.push(u);
    let source = filter;
    const run = runner(kernels, transforms);
    if (options.flipped) {
      source = allocFloat32(backend, [3, 3, C, O]);
      temps.push(source);
      flipFilter(run, kernels, 4 * heapFloats(backend, filter), 4 * heapFloats(backend, source), C, O);
    }
    filterRows(kernels, run, 'winograd_filter', [4 * heapFloats(backend, source), 4 * heapFloats(backend, u), 4 * C * O, O / 4, C], 4 * uRow(O), [
      4 * C * uRow(O),
      4 * (uRow(O) - O),
    ]);

    const plan = planChunks(s, chunking);
    // The input zero-padded so that every tile's 4x4 pixels lie inside, unless each chunk pads its own strip.
    const padded = plan.strips ? undefined : paddedInput(backend, x, s);
    if (padded) temps.push(padded);
    const direct = OH2 === OH && OW2 === OW;
    const y = allocFloat32(backend, [B, OH, OW, O]);
    const out = direct ? y : allocFloat32(backend, [B, OH2, OW2, O]);
    if (!direct) temps.push(out);
    // Bias per output channel (zeros without one).
    const biasVector = allocFloat32(backend, [O]);
    temps.push(biasVector);
    {
      const bv = float32View(backend, biasVector);
      if (options.bias) {
        const given = float32View(backend, options.bias);
        for (let o = 0; o < O; o++) bv[o] = given[given.length === 1 ? 0 : o]!;
      } else bv.fill(0);
    }
    const paddedBase = padded && heapFloats(backend, padded);
    const lanes = lanesFor(kernels, plan.chunks.length);
    const [vPlane, mPlane] = [plane(plan.maxTiles * C), plane(plan.maxTiles * O)];
    const [v, m, strip] = [lanes * 16 * vPlane, lanes * 16 * mPlane, lanes * plan.stripFloats].map((n) => allocFloat32(backend, [Math.max(1, n)])) as [TensorInfo, TensorInfo, TensorInfo];
    temps.push(v, m, strip);
    const [uBase, xBase, oBase, bBase, v0, m0, strip0] = [u, x, out, biasVector, v, m, strip].map((t) => heapFloats(backend, t)) as number[] as [number, number, number, number, number, number, number];
    const output = options.relu ? 'winograd_output_relu' : 'winograd_output';
    kernels.barrier?.(); // U complete
    plan.chunks.forEach((chunk, index) => {
      const tiles = chunk.rows * chunk.cols;
      const lane = index % lanes;
      // Whole chunks on one thread each (lanes > 1), or every step split over the threads.
      const thread = (r: number) => (lanes > 1 ? lane : r);
      const [vBase, mBase] = [v0 + lane * 16 * vPlane, m0 + lane * 16 * mPlane];
      const input = chunkInput(run, kernels, s, chunk, xBase, { padded: paddedBase, strip: strip0 + lane * plan.stripFloats }, lanes > 1 ? lane : undefined);
      for (let r = 0; r < chunk.rows; r++) {
        const [src, rowStride] = input(r);
        run('winograd_input', [src, rowStride, 4 * C, 4 * (vBase + r * chunk.cols * C), 4 * vPlane, C / 4, chunk.cols], thread(r));
      }
      run('winograd_zero', [4 * mBase, 4 * mPlane], thread(1));
      if (lanes === 1) kernels.barrier?.();
      const products = lanes > 1 ? onThread(kernels, lane) : kernels;
      for (let k = 0; k < 16; k++) {
        multiplyAdd(products, {
          a: vBase + k * vPlane, lda: C,
          b: uBase + k * C * uRow(O), ldb: uRow(O),
          c: mBase + k * mPlane, ldc: O,
          m: tiles, n: O, k: C,
        });
      }
      if (lanes === 1) kernels.barrier?.();
      for (let r = 0; r < chunk.rows; r++) {
        const [b, t] = [Math.floor((chunk.row + r) / tilesH), (chunk.row + r) % tilesH];
        const dst = oBase + ((b * OH2 + 2 * t) * OW2 + 2 * chunk.col) * O;
        run(output, [4 * (mBase + r * chunk.cols * O), 4 * mPlane, 4 * dst, 4 * OW2 * O, 4 * O, O / 4, chunk.cols, 4 * bBase], thread(r));
      }
      // The next chunk reuses this lane's buffers: with split steps, everything must be done first.
      if (lanes === 1) kernels.finish?.();
    });
    kernels.finish?.();
    if (!direct) {
      const ov = float32View(backend, out);
      const yv = float32View(backend, y);
      for (let b = 0; b < B; b++) {
        for (let i = 0; i < OH; i++) {
          const from = (b * OH2 + i) * OW2 * O;
          yv.set(ov.subarray(from, from + OW * O), (b * OH + i) * OW * O);
        }
      }
    }
    return y;
  } finally {
    for (let i = temps.length - 1; i >= 0; i--) disposeIntermediate(backend, temps[i]!);
  }
}

/** x zero-padded to [B, HP, WP, C] (every tile's 4x4 pixels inside): pixel (r, s) is x[r − top, s − left]. */
function paddedInput(backend: object, x: TensorInfo, s: WinogradShape): TensorInfo {
  const { HP, WP } = tileGrid(s);
  return padTo(backend, x, [s.batch, s.inHeight, s.inWidth, s.inChannels], HP, WP, s.top, s.left);
}

/** The [B, H, W, C] tensor t zero-padded to [B, HP, WP, C] with its pixel (h, w) at (h + top, w + left). */
function padTo(backend: object, t: TensorInfo, [B, H, W, C]: [number, number, number, number], HP: number, WP: number, top: number, left: number): TensorInfo {
  const padded = allocFloat32(backend, [B, HP, WP, C]);
  const tv = float32View(backend, t);
  const pv = float32View(backend, padded);
  pv.fill(0);
  const w0 = Math.max(0, left);
  const s0 = Math.max(0, -left);
  const count = Math.min(W - s0, WP - w0);
  for (let b = 0; b < B && count > 0; b++) {
    for (let r = 0; r < HP; r++) {
      const h = r - top;
      if (h < 0 || h >= H) continue;
      const from = ((b * H + h) * W + s0) * C;
      pv.set(tv.subarray(from, from + count * C), ((b * HP + r) * WP + w0) * C);
    }
  }
  return padded;
}

/** Tiles along each axis, the output rounded up to whole tiles, and the padded input those tiles read. */
function tileGrid(s: WinogradShape) {
  const tilesH = Math.ceil(s.outHeight / 2);
  const tilesW = Math.ceil(s.outWidth / 2);
  return { tilesH, tilesW, OH2: 2 * tilesH, OW2: 2 * tilesW, HP: 2 * tilesH + 2, WP: 2 * tilesW + 2 };
}

/**
 * `Conv2DBackpropFilter` of a forward convolution of shape `s` by Winograd: the adjoint of the forward algorithm in the
 * filter, dW[·, ·, c, o] = Gᵀ [ Σ_tiles (Bᵀ d_c B) ⊙ (A dy_o Aᵀ) ] G, i.e. for each of the 16 positions k the product
 * Ŵ_k[c, o] = Σ_tile V_k[tile, c] · Z_k[tile, o] (V_k read transposed), summed over chunks of tile rows.
 */
export function winogradFilterGradient(
  backend: object,
  kernels: TileKernels,
  transforms: Transforms,
  x: TensorInfo,
  dy: TensorInfo,
  s: WinogradShape,
  chunking: ChunkOptions = {},
): TensorInfo {
  const { batch: B, inChannels: C, outHeight: OH, outWidth: OW, outChannels: O } = s;
  const { tilesH, OH2, OW2 } = tileGrid(s);
  const temps: TensorInfo[] = [];
  try {
    const plan = planChunks(s, chunking);
    const padded = plan.strips ? undefined : paddedInput(backend, x, s);
    if (padded) temps.push(padded);
    let grid = dy;
    if (OH2 !== OH || OW2 !== OW) {
      grid = padTo(backend, dy, [B, OH, OW, O], OH2, OW2, 0, 0);
      temps.push(grid);
    }
    const paddedBase = padded && heapFloats(backend, padded);
    // With whole chunks per thread (lanes > 1) each thread adds into its own sums, added up at the end.
    const lanes = lanesFor(kernels, plan.chunks.length);
    const [vPlane, zPlane] = [plane(plan.maxTiles * C), plane(plan.maxTiles * O)];
    const [sums, v, z, strip] = [lanes * 16 * C * O, lanes * 16 * vPlane, lanes * 16 * zPlane, lanes * plan.stripFloats].map((n) =>
      allocFloat32(backend, [Math.max(1, n)]),
    ) as [TensorInfo, TensorInfo, TensorInfo, TensorInfo];
    temps.push(sums, v, z, strip);
    const dw = allocFloat32(backend, [3, 3, C, O]);
    float32View(backend, sums).fill(0);
    const [xBase, gBase, s0, v0, z0, strip0] = [x, grid, sums, v, z, strip].map((t) => heapFloats(backend, t)) as number[] as [number, number, number, number, number, number];
    const run = runner(kernels, transforms);
    plan.chunks.forEach((chunk, index) => {
      const lane = index % lanes;
      const thread = (r: number) => (lanes > 1 ? lane : r);
      const [vBase, zBase, sBase] = [v0 + lane * 16 * vPlane, z0 + lane * 16 * zPlane, s0 + lane * 16 * C * O];
      const input = chunkInput(run, kernels, s, chunk, xBase, { padded: paddedBase, strip: strip0 + lane * plan.stripFloats }, lanes > 1 ? lane : undefined);
      for (let r = 0; r < chunk.rows; r++) {
        const [b, t] = [Math.floor((chunk.row + r) / tilesH), (chunk.row + r) % tilesH];
        const [src, rowStride] = input(r);
        run('winograd_input', [src, rowStride, 4 * C, 4 * (vBase + r * chunk.cols * C), 4 * vPlane, C / 4, chunk.cols], thread(r));
        const at = gBase + ((b * OH2 + 2 * t) * OW2 + 2 * chunk.col) * O;
        run('winograd_dy', [4 * at, 4 * OW2 * O, 4 * O, 4 * (zBase + r * chunk.cols * O), 4 * zPlane, O / 4, chunk.cols], thread(r + 1));
      }
      if (lanes === 1) kernels.barrier?.();
      const products = lanes > 1 ? onThread(kernels, lane) : kernels;
      for (let k = 0; k < 16; k++) {
        multiplyAdd(products, {
          a: vBase + k * vPlane, lda: 1, aStep: C,
          b: zBase + k * zPlane, ldb: O,
          c: sBase + k * C * O, ldc: O,
          m: C, n: O, k: chunk.rows * chunk.cols,
        });
      }
      if (lanes === 1) kernels.finish?.();
    });
    kernels.finish?.();
    if (lanes > 1) {
      const sv = float32View(backend, sums);
      const n = 16 * C * O;
      for (let lane = 1; lane < lanes; lane++) for (let i = 0; i < n; i++) sv[i] = sv[i]! + sv[lane * n + i]!;
    }
    filterRows(kernels, run, 'winograd_filter_gradient', [4 * s0, 4 * heapFloats(backend, dw), 4 * C * O, O / 4, C]);
    kernels.finish?.();
    return dw;
  } finally {
    for (let i = temps.length - 1; i >= 0; i--) disposeIntermediate(backend, temps[i]!);
  }
}
