// Stride-1 convolutions with few output pixels (the deep stages of small inputs) as matrix products over only the taps
// that meet the input.
//
// At outputs of 1x7, 2x2 or 2x14 pixels a 3x3 filter with 'same' padding reads mostly padding: at 1x7 only the middle
// row of taps meets the input (30% of the multiplies of a full product are not by zero), at 2x2 four taps in nine. The
// products of conv2d-products.ts multiply those zeros. Here tap (p, q) is multiplied over the output pixels whose input
// pixel exists, and nothing else:
//   forward  y[n] += x[n + s(p,q)] · w[p, q]            (w[p, q] is [C, O]; n the tap's valid output pixels)
//   dx       dx[n + s(p,q)] += dy[n] · w[p, q]ᵀ          (computed transposed, so that w is read in place)
//   dW       w[p, q] = Σₙ x[n + s(p,q)]ᵀ · dy[n]
// The forward pass keeps pixels in pixel-major rows, (i·OW + j)·B + b (the batch innermost): then one output row i of a
// tap's valid pixels is one run of rows in x and in y, and a tap that does not shift columns has one run in all. dW
// gathers each tap's valid rows of x and dy into one product.
import type { backend_util, TensorInfo } from '@tensorflow/tfjs-core';
import { heapFloats, multiplyAdd, onThread, threadShare, tileKernels, type TileKernels } from './gemm.ts';
import { threadedTiles } from './heap-threads.ts';
import { allocFloat32, disposeIntermediate, float32View } from './tensor-data.ts';
import { heapMemory } from './wasm-heap-module.ts';
import { runner, winogradTransforms } from './winograd.ts';

/** A stride-1 convolution's frame: batch, input and output sizes, and the padding before the first row and column. */
export interface TapFrame {
  B: number;
  H: number;
  W: number;
  OH: number;
  OW: number;
  top: number;
  left: number;
}

/** Rows of one product: the first pixel-major row of x and of y, and how many follow. */
export interface TapRun {
  x: number;
  y: number;
  rows: number;
}

/** Whether the tap route applies: stride 1, no dilation. */
export const tapRouteFits = (info: backend_util.Conv2DInfo): boolean =>
  info.strideHeight === 1 && info.strideWidth === 1 && info.dilationHeight === 1 && info.dilationWidth === 1;

/** The forward convolution's frame. */
export const forwardFrame = (info: backend_util.Conv2DInfo): TapFrame => ({
  B: info.batchSize,
  H: info.inHeight,
  W: info.inWidth,
  OH: info.outHeight,
  OW: info.outWidth,
  top: info.padInfo.top,
  left: info.padInfo.left,
});

/** Tap (p, q)'s shift and the output rows [i0, i1) and columns [j0, j1) whose input pixel exists; undefined for none. */
function tapSpan(f: TapFrame, p: number, q: number): { dh: number; dw: number; i0: number; i1: number; j0: number; j1: number } | undefined {
  const dh = p - f.top;
  const dw = q - f.left;
  const [i0, i1] = [Math.max(0, -dh), Math.min(f.OH, f.H - dh)];
  const [j0, j1] = [Math.max(0, -dw), Math.min(f.OW, f.W - dw)];
  return i1 > i0 && j1 > j0 ? { dh, dw, i0, i1, j0, j1 } : undefined;
}

/**
 * The runs of pixel-major rows over which tap (p, q) meets the input: output rows i and columns j with input pixel
 * (i + p − top, j + q − left) inside; one run per output row, or one in all when the tap keeps the columns and input and
 * output are as wide.
 */
export function tapRuns(f: TapFrame, p: number, q: number): TapRun[] {
  const span = tapSpan(f, p, q);
  if (!span) return [];
  const { dh, dw, i0, i1, j0, j1 } = span;
  const x = (i: number) => ((i + dh) * f.W + j0 + dw) * f.B;
  const y = (i: number) => (i * f.OW + j0) * f.B;
  if (j0 === 0 && j1 === f.OW && f.W === f.OW) return [{ x: x(i0), y: y(i0), rows: (i1 - i0) * f.OW * f.B }];
  const runs: TapRun[] = [];
  for (let i = i0; i < i1; i++) runs.push({ x: x(i), y: y(i), rows: (j1 - j0) * f.B });
  return runs;
}

/** Copies the [B, pixels, C] rows of `src` into pixel-major rows (pixel · B + b) of `dst`. */
function toPixelMajor(src: Float32Array, dst: Float32Array, B: number, pixels: number, C: number): void {
  for (let b = 0; b < B; b++) {
    for (let s = 0; s < pixels; s++) dst.set(src.subarray((b * pixels + s) * C, (b * pixels + s + 1) * C), (s * B + b) * C);
  }
}

/** max(v, 0) in place. */
export function reluInPlace(values: Float32Array): void {
  for (let k = 0; k < values.length; k++) if (values[k]! < 0) values[k] = 0;
}

/** The inverse of {@link toPixelMajor}, with ReLU when asked. */
function fromPixelMajor(src: Float32Array, dst: Float32Array, B: number, pixels: number, C: number, relu: boolean): void {
  for (let b = 0; b < B; b++) {
    for (let s = 0; s < pixels; s++) dst.set(src.subarray((s * B + b) * C, (s * B + b + 1) * C), (b * pixels + s) * C);
  }
  if (relu) reluInPlace(dst);
}

/** Floats of the filter that one thread copies and multiplies per block of rows (a block stays in its L2 cache). */
export const FILTER_BLOCK_FLOATS = 1 << 17;

/** Sets every row of `O` floats of `y` to the bias (one value, or one per column), or to zero without one. */
export function fillWithBias(backend: object, y: TensorInfo, bias: TensorInfo | undefined, O: number): void {
  const yv = float32View(backend, y);
  if (!bias) {
    yv.fill(0);
    return;
  }
  const bv = float32View(backend, bias);
  for (let n = 0; n < yv.length / O; n++) for (let o = 0; o < O; o++) yv[n * O + o] = bv[bv.length === 1 ? 0 : o]!;
}

/**
 * Adds the convolution of pixel-major `x` (rows of `C` floats at float offset `x`) with the filter at `w` ([KH·KW, C, O])
 * to the pixel-major rows of `O` floats at `y`. Each thread takes a contiguous share of the output columns and, per tap
 * and block of input channels, copies its columns of the filter to rows padded off a power-of-two stride (the filter's
 * own rows, O floats apart, would fall into a few cache sets), then multiplies the tap's runs, so the filter is read
 * from memory once. Queues the work and returns the panels, which the caller frees after `finish`. (A 1x1 filter over
 * one-pixel images is a plain product y[N, O] += x[N, C] · w[C, O]: conv2d-products.ts's im2col route.)
 */
export function convolveTaps(
  backend: object,
  kernels: TileKernels,
  at: { x: number; w: number; y: number },
  frame: TapFrame,
  filter: { KH: number; KW: number; C: number; O: number },
  blockFloats: number,
): TensorInfo {
  const { KH, KW, C, O } = filter;
  const run = runner(kernels, winogradTransforms(backend)!);
  const threads = kernels.call ? (kernels.threads ?? 1) : 1;
  const widest = 4 * Math.ceil(O / 4 / threads);
  const block = Math.max(1, Math.min(C, Math.floor(blockFloats / widest)));
  const panels = allocFloat32(backend, [threads, block, widest + 8]);
  const pBase = heapFloats(backend, panels);
  const runs = Array.from({ length: KH * KW }, (_, tap) => tapRuns(frame, Math.floor(tap / KW), tap % KW));
  for (let t = 0; t < threads; t++) {
    const [o0, o1] = threadShare(O / 4, t, threads).map((g) => 4 * g) as [number, number];
    if (o1 === o0) continue;
    const panel = pBase + t * block * (widest + 8);
    const products = threads > 1 ? onThread(kernels, t) : kernels;
    runs.forEach((tapRuns, tap) => {
      if (tapRuns.length === 0) return;
      for (let c0 = 0; c0 < C; c0 += block) {
        const k = Math.min(block, C - c0);
        run('copy_rows', [4 * (at.w + (tap * C + c0) * O + o0), 4 * O, 4 * panel, 4 * (widest + 8), k, 0, 4 * (o1 - o0), 0], t);
        for (const r of tapRuns) {
          multiplyAdd(products, { a: at.x + r.x * C + c0, lda: C, b: panel, ldb: widest + 8, c: at.y + r.y * O + o0, ldc: O, m: r.rows, n: o1 - o0, k });
        }
      }
    });
  }
  return panels;
}

/** The heap's product kernels, threaded where the backend runs threads; undefined off tfjs-backend-wasm's SIMD build. */
export function heapKernels(backend: object): TileKernels | undefined {
  const tiles = tileKernels(backend);
  return tiles && winogradTransforms(backend) ? threadedTiles(tiles, heapMemory(backend)) : undefined;
}

/**
 * Forward convolution (optional bias of one value or one per output channel, optional ReLU) by the tap route, as a new
 * [B, OH, OW, O] tensor. Undefined where the route does not fit, the heap kernels are missing or O is not a multiple of 4.
 */
export function conv2dByTaps(
  backend: object,
  x: TensorInfo,
  filter: TensorInfo,
  bias: TensorInfo | undefined,
  relu: boolean,
  info: backend_util.Conv2DInfo,
  blockFloats = FILTER_BLOCK_FLOATS,
): TensorInfo | undefined {
  const { batchSize: B, inChannels: C, outChannels: O } = info;
  const kernels = O % 4 === 0 && tapRouteFits(info) ? heapKernels(backend) : undefined;
  if (!kernels) return undefined;
  const inPixels = info.inHeight * info.inWidth;
  const outPixels = info.outHeight * info.outWidth;
  const xp = allocFloat32(backend, [inPixels * B, C]);
  const yp = allocFloat32(backend, [outPixels * B, O]);
  let panels: TensorInfo | undefined;
  try {
    toPixelMajor(float32View(backend, x), float32View(backend, xp), B, inPixels, C);
    fillWithBias(backend, yp, bias, O);
    const at = { x: heapFloats(backend, xp), w: heapFloats(backend, filter), y: heapFloats(backend, yp) };
    panels = convolveTaps(backend, kernels, at, forwardFrame(info), { KH: info.filterHeight, KW: info.filterWidth, C, O }, blockFloats);
    kernels.finish?.();
    const y = allocFloat32(backend, [B, info.outHeight, info.outWidth, O]);
    fromPixelMajor(float32View(backend, yp), float32View(backend, y), B, outPixels, O, relu);
    return y;
  } finally {
    if (panels) disposeIntermediate(backend, panels);
    disposeIntermediate(backend, yp);
    disposeIntermediate(backend, xp);
  }
}

/**
 * `Conv2DBackpropInput` by the tap route, transposed: dxᵀ[:, x rows] += w[p, q] · dyᵀ[:, y rows] over each tap's runs,
 * with w[p, q] ([C, O]) read in place (no flipped copy of the filter) and dy and dx transposed to pixel-major columns
 * (small next to the filter here). The threads share the rows of dxᵀ. A new [B, H, W, C] tensor; undefined where the
 * route does not fit, the heap kernels are missing, C is not a multiple of 4 or a run is not (the batch is not).
 */
export function backpropInputByTaps(backend: object, dy: TensorInfo, filter: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo | undefined {
  const { batchSize: B, inChannels: C, outChannels: O, filterHeight: KH, filterWidth: KW } = info;
  if (!tapRouteFits(info) || C % 4 !== 0) return undefined;
  const frame = forwardFrame(info);
  const runs = Array.from({ length: KH * KW }, (_, tap) => tapRuns(frame, Math.floor(tap / KW), tap % KW));
  if (runs.some((r) => r.some((run) => run.rows % 4 !== 0))) return undefined;
  const kernels = heapKernels(backend);
  if (!kernels) return undefined;
  const inPixels = info.inHeight * info.inWidth;
  const outPixels = info.outHeight * info.outWidth;
  // Columns padded by 4 floats: rows stay 16-byte aligned and off a power-of-two stride.
  const [NY, NX] = [outPixels * B + 4, inPixels * B + 4];
  const dyt = allocFloat32(backend, [O, NY]);
  const dxt = allocFloat32(backend, [C, NX]);
  try {
    const [yv, tv] = [float32View(backend, dy), float32View(backend, dyt)];
    for (let b = 0; b < B; b++) {
      for (let s = 0; s < outPixels; s++) {
        const [src, col] = [(b * outPixels + s) * O, s * B + b];
        for (let o = 0; o < O; o++) tv[o * NY + col] = yv[src + o]!;
      }
    }
    float32View(backend, dxt).fill(0);
    const [wBase, yBase, xBase] = [filter, dyt, dxt].map((t) => heapFloats(backend, t)) as [number, number, number];
    runs.forEach((tapRuns, tap) => {
      for (const r of tapRuns) {
        multiplyAdd(kernels, { a: wBase + tap * C * O, lda: O, b: yBase + r.y, ldb: NY, c: xBase + r.x, ldc: NX, m: C, n: r.rows, k: O });
      }
    });
    kernels.finish?.();
    const dx = allocFloat32(backend, [B, info.inHeight, info.inWidth, C]);
    const [xv, sv] = [float32View(backend, dx), float32View(backend, dxt)];
    for (let b = 0; b < B; b++) {
      for (let s = 0; s < inPixels; s++) {
        const [dst, col] = [(b * inPixels + s) * C, s * B + b];
        for (let c = 0; c < C; c++) xv[dst + c] = sv[c * NX + col]!;
      }
    }
    return dx;
  } finally {
    disposeIntermediate(backend, dxt);
    disposeIntermediate(backend, dyt);
  }
}

/**
 * `Conv2DBackpropFilter` by the tap route: per tap, the valid output pixels' rows of x and of dy (padded off a
 * power-of-two stride) gathered into one product dW[p, q] = Xᵀ · D, whose rows the threads share; taps that never meet
 * the input stay zero. A new [KH, KW, C, O] tensor; undefined where the route does not fit, the heap kernels are missing
 * or O is not a multiple of 4.
 */
export function backpropFilterByTaps(backend: object, x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo | undefined {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: O } = info;
  const { filterHeight: KH, filterWidth: KW } = info;
  const kernels = O % 4 === 0 && tapRouteFits(info) ? heapKernels(backend) : undefined;
  if (!kernels) return undefined;
  // The tap's valid pixels, per image and output row: columns [j0, j1) of row i read input row i + dh, columns + dw.
  const frame = forwardFrame(info);
  const spans = Array.from({ length: KH * KW }, (_, tap) => tapSpan(frame, Math.floor(tap / KW), tap % KW));
  const rowsOf = (span: (typeof spans)[number]) => (span ? B * (span.i1 - span.i0) * (span.j1 - span.j0) : 0);
  const total = spans.reduce((n, span) => n + rowsOf(span), 0);
  const D = O + 8;
  const gx = allocFloat32(backend, [Math.max(1, total), C]);
  const gd = allocFloat32(backend, [Math.max(1, total), D]);
  try {
    const dw = allocFloat32(backend, [KH, KW, C, O]);
    // Views after the last allocation (a growing heap detaches earlier ones).
    const [xv, yv, gxv, gdv] = [float32View(backend, x), float32View(backend, dy), float32View(backend, gx), float32View(backend, gd)];
    float32View(backend, dw).fill(0);
    const [xBase, dBase, wBase] = [gx, gd, dw].map((t) => heapFloats(backend, t)) as [number, number, number];
    let row = 0;
    spans.forEach((s, tap) => {
      if (!s) return;
      const first = row;
      const width = s.j1 - s.j0;
      for (let b = 0; b < B; b++) {
        for (let i = s.i0; i < s.i1; i++) {
          const src = ((b * H + i + s.dh) * W + s.j0 + s.dw) * C;
          gxv.set(xv.subarray(src, src + width * C), row * C);
          for (let j = 0; j < width; j++) {
            const n = (b * OH + i) * OW + s.j0 + j;
            gdv.set(yv.subarray(n * O, (n + 1) * O), (row + j) * D);
          }
          row += width;
        }
      }
      multiplyAdd(kernels, { a: xBase + first * C, lda: 1, aStep: C, b: dBase + first * D, ldb: D, c: wBase + tap * C * O, ldc: O, m: C, n: O, k: row - first });
    });
    kernels.finish?.();
    return dw;
  } finally {
    disposeIntermediate(backend, gd);
    disposeIntermediate(backend, gx);
  }
}
