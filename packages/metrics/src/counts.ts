import type { Layout } from './input.ts';
import { BLOCK, CHUNK, countKernel, float32Threshold, PRED_AT, TARGET_AT, type CountKernel } from './simd.ts';
import type { MaskData } from './types.ts';

// Counting kernel. Per (image, class) it sums three things: predicted pixels (p), target pixels (t) and pixels in both (i);
// the confusion counts follow (tp = i, fp = p - i, fn = t - i, tn = pixels - p - t + i).
//
// Where WebAssembly SIMD is available, byte masks and float32 probabilities against byte targets (1, 2 or 4 classes)
// are copied, a chunk at a time, into the memory of the kernel in ./simd and counted 16 elements per step.
// Otherwise the fast path reads four mask bytes as one 32-bit word and adds words lane by lane (SIMD within a register): with 0/1
// bytes, 255 words can be summed before any byte lane can carry into the next. Binary Uint8 masks are read in place
// through an Int32Array view; other inputs are first packed, 4096 values at a time, into 0/1 bytes of a scratch buffer.
// With channel-last data and 1, 2 or 4 classes, byte lane L of every word always holds class L % classes.

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const CHUNK_WORDS = 1024;
const BLOCK_WORDS = 255;

let scratchP: Int32Array | undefined;
let scratchT: Int32Array | undefined;

/** Non-zero bytes of `w` to 1, zero bytes to 0. */
function nonZeroBytes(w: number): number {
  let x = w | (w >> 4);
  x |= x >> 2;
  x |= x >> 1;
  return x & 0x01010101;
}

/** Adds the four byte lanes of `acc` to lanes[at..at+3]. */
function flush(acc: number, lanes: Float64Array, at: number): void {
  lanes[at]! += acc & 255;
  lanes[at + 1]! += (acc >>> 8) & 255;
  lanes[at + 2]! += (acc >>> 16) & 255;
  lanes[at + 3]! += acc >>> 24;
}

/** Adds lane-wise counts of n words into lanes: [0..3] pred, [4..7] target, [8..11] both. */
function addWords(pw: Int32Array, po: number, tw: Int32Array, to: number, n: number, lanes: Float64Array): void {
  // Two interleaved accumulator sets (even and odd words), each taking at most 255 words per block.
  const BLOCK = 2 * BLOCK_WORDS;
  for (let k = 0; k < n; k += BLOCK) {
    const count = Math.min(n - k, BLOCK);
    const pair = count & ~1;
    const p0 = po + k;
    const t0 = to + k;
    let ap = 0;
    let at = 0;
    let ai = 0;
    let bp = 0;
    let bt = 0;
    let bi = 0;
    let bad = 0;
    for (let j = 0; j < pair; j += 2) {
      const p = pw[p0 + j]!;
      const t = tw[t0 + j]!;
      const q = pw[p0 + j + 1]!;
      const u = tw[t0 + j + 1]!;
      ap = (ap + p) | 0;
      at = (at + t) | 0;
      ai = (ai + (p & t)) | 0;
      bp = (bp + q) | 0;
      bt = (bt + u) | 0;
      bi = (bi + (q & u)) | 0;
      bad |= p | t | q | u;
    }
    if (pair < count) {
      const p = pw[p0 + pair]!;
      const t = tw[t0 + pair]!;
      ap = (ap + p) | 0;
      at = (at + t) | 0;
      ai = (ai + (p & t)) | 0;
      bad |= p | t;
    }
    if ((bad & 0xfefefefe) !== 0) {
      // Some byte is neither 0 nor 1 (e.g. a 0/255 mask): recount this block with every byte mapped to 0/1.
      ap = 0;
      at = 0;
      ai = 0;
      bp = 0;
      bt = 0;
      bi = 0;
      for (let j = 0; j < count; j++) {
        const p = nonZeroBytes(pw[p0 + j]!);
        const t = nonZeroBytes(tw[t0 + j]!);
        if ((j & 1) === 0) {
          ap = (ap + p) | 0;
          at = (at + t) | 0;
          ai = (ai + (p & t)) | 0;
        } else {
          bp = (bp + p) | 0;
          bt = (bt + t) | 0;
          bi = (bi + (p & t)) | 0;
        }
      }
    }
    flush(ap, lanes, 0);
    flush(at, lanes, 4);
    flush(ai, lanes, 8);
    flush(bp, lanes, 0);
    flush(bt, lanes, 4);
    flush(bi, lanes, 8);
  }
}

/** Packs n words (4n values from `start`) of a float array into 0/1 bytes: value > threshold. */
function packFloat(data: Float32Array | Float64Array, start: number, n: number, threshold: number, out: Int32Array): void {
  for (let j = 0, i = start; j < n; j++, i += 4) {
    out[j] =
      (data[i]! > threshold ? 1 : 0) |
      (data[i + 1]! > threshold ? 0x100 : 0) |
      (data[i + 2]! > threshold ? 0x10000 : 0) |
      (data[i + 3]! > threshold ? 0x1000000 : 0);
  }
}

/** Packs n words of an integer array into 0/1 bytes: value !== 0. */
function packInteger(data: Uint8Array | Uint8ClampedArray | Int32Array, start: number, n: number, out: Int32Array): void {
  for (let j = 0, i = start; j < n; j++, i += 4) {
    out[j] =
      (data[i] !== 0 ? 1 : 0) | (data[i + 1] !== 0 ? 0x100 : 0) | (data[i + 2] !== 0 ? 0x10000 : 0) | (data[i + 3] !== 0 ? 0x1000000 : 0);
  }
}

const isFloat = (data: MaskData): data is Float32Array | Float64Array =>
  data instanceof Float32Array || data instanceof Float64Array;

/** An Int32Array over the same bytes when `data` is a byte mask aligned to 4 bytes, else undefined. */
function wordView(data: MaskData): Int32Array | undefined {
  if ((data instanceof Uint8Array || data instanceof Uint8ClampedArray) && data.byteOffset % 4 === 0) {
    return new Int32Array(data.buffer, data.byteOffset, data.length >>> 2);
  }
  return undefined;
}

/** Words [w, w + n) of `data` as (array, offset): the view itself, or the scratch buffer after packing. */
function words(data: MaskData, view: Int32Array | undefined, w: number, n: number, threshold: number, scratch: Int32Array): number {
  if (view !== undefined) return w;
  if (isFloat(data)) packFloat(data, w * 4, n, threshold, scratch);
  else packInteger(data, w * 4, n, scratch);
  return 0;
}

/** Scalar counting of elements [start, end), where element `start` has class `c0`. */
function addScalar(
  pred: MaskData,
  target: MaskData,
  start: number,
  end: number,
  c0: number,
  classes: number,
  threshold: number,
  sums: Float64Array,
): void {
  const pf = isFloat(pred);
  const tf = isFloat(target);
  let c = c0;
  for (let i = start; i < end; i++) {
    const pv = pred[i]!;
    const tv = target[i]!;
    const p = pf ? pv > threshold : pv !== 0;
    const t = tf ? tv > threshold : tv !== 0;
    if (p) sums[c]! += 1;
    if (t) sums[classes + c]! += 1;
    if (p && t) sums[2 * classes + c]! += 1;
    if (++c === classes) c = 0;
  }
}

const isBytes = (data: MaskData): data is Uint8Array | Uint8ClampedArray =>
  data instanceof Uint8Array || data instanceof Uint8ClampedArray;

/**
 * Counts elements [s, s + 16 v) of one image with the WebAssembly kernel, copying them into its memory a chunk at a time,
 * and adds the four int32 lanes of each sum to `sums` (lane k holds class k % classes).
 */
function addSimd(
  k: CountKernel,
  pred: Uint8Array | Uint8ClampedArray | Float32Array,
  target: Uint8Array | Uint8ClampedArray,
  s: number,
  v: number,
  classes: number,
  threshold: number,
  sums: Float64Array,
): void {
  const float = pred instanceof Float32Array;
  const end = s + 16 * v;
  k.sums.fill(0);
  for (let i = s; i < end; i += CHUNK) {
    const len = Math.min(CHUNK, end - i);
    k.bytes.set(target.subarray(i, i + len), TARGET_AT);
    const vectors = len >>> 4;
    if (float) {
      k.floats.set(pred.subarray(i, i + len), PRED_AT >>> 2);
      for (let b = 0; b < vectors; b += BLOCK) {
        k.countFloats(PRED_AT + 64 * b, TARGET_AT + 16 * b, Math.min(BLOCK, vectors - b), threshold);
      }
    } else {
      k.bytes.set(pred.subarray(i, i + len), PRED_AT);
      for (let b = 0; b < vectors; b += BLOCK) {
        k.countBytes(PRED_AT + 16 * b, TARGET_AT + 16 * b, Math.min(BLOCK, vectors - b));
      }
    }
  }
  for (let lane = 0; lane < 4; lane++) {
    const c = lane % classes;
    sums[c]! += k.sums[lane]!;
    sums[classes + c]! += k.sums[4 + lane]!;
    sums[2 * classes + c]! += k.sums[8 + lane]!;
  }
}

/**
 * Adds the per (image, class) sums of `pred` and `target` to `p`, `t` and `i` (pair (img, c) at `(offset + img) * classes + c`).
 * Inputs are checked by the caller.
 */
export function addSums(
  pred: MaskData,
  target: MaskData,
  layout: Layout,
  threshold: number,
  p: Float64Array,
  t: Float64Array,
  i: Float64Array,
  offset: number,
): void {
  const { images, pixels, classes } = layout;
  const perImage = pixels * classes;
  const sums = new Float64Array(3 * classes);
  const fast = LITTLE_ENDIAN && 4 % classes === 0;
  const simd =
    fast && isBytes(target) && (isBytes(pred) || pred instanceof Float32Array) ? countKernel() : undefined;
  const threshold32 = simd !== undefined ? float32Threshold(threshold) : threshold;
  const viewP = fast ? wordView(pred) : undefined;
  const viewT = fast ? wordView(target) : undefined;
  const lanes = new Float64Array(12);
  if (fast) {
    scratchP ??= new Int32Array(CHUNK_WORDS);
    scratchT ??= new Int32Array(CHUNK_WORDS);
  }
  for (let img = 0; img < images; img++) {
    const s = img * perImage;
    const e = s + perImage;
    sums.fill(0);
    if (!fast) {
      addScalar(pred, target, s, e, 0, classes, threshold, sums);
    } else if (simd !== undefined) {
      // Whole 16-element vectors in the kernel (an image starts at a multiple of `classes`), then a scalar tail.
      const v = Math.floor(perImage / 16);
      addSimd(simd, pred as Uint8Array | Float32Array, target as Uint8Array, s, v, classes, threshold32, sums);
      addScalar(pred, target, s + 16 * v, e, 0, classes, threshold, sums);
    } else {
      // Scalar head up to a word boundary, words, scalar tail. An image starts at a multiple of `classes`.
      const a = Math.min(e, s + ((4 - (s % 4)) % 4));
      addScalar(pred, target, s, a, 0, classes, threshold, sums);
      const wa = a / 4;
      const we = Math.floor(e / 4);
      lanes.fill(0);
      // Byte masks read in place need no chunks; packed inputs go through the scratch buffers.
      const step = viewP !== undefined && viewT !== undefined ? we - wa : CHUNK_WORDS;
      for (let w = wa; w < we; w += step) {
        const n = Math.min(step, we - w);
        const po = words(pred, viewP, w, n, threshold, scratchP!);
        const to = words(target, viewT, w, n, threshold, scratchT!);
        addWords(viewP ?? scratchP!, po, viewT ?? scratchT!, to, n, lanes);
      }
      // Lane L holds element 4w + L, whose class is (4w + L - s) % classes = L % classes, as classes divides 4 and s.
      for (let lane = 0; lane < 4; lane++) {
        const c = lane % classes;
        sums[c]! += lanes[lane]!;
        sums[classes + c]! += lanes[4 + lane]!;
        sums[2 * classes + c]! += lanes[8 + lane]!;
      }
      const tail = Math.max(a, we * 4);
      addScalar(pred, target, tail, e, (tail - s) % classes, classes, threshold, sums);
    }
    const base = (offset + img) * classes;
    for (let c = 0; c < classes; c++) {
      p[base + c]! += sums[c]!;
      t[base + c]! += sums[classes + c]!;
      i[base + c]! += sums[2 * classes + c]!;
    }
  }
}
