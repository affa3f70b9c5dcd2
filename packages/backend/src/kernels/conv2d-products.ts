// Convolutions with few output pixels and many weights (the deep ResNet stages) as single matrix products in which the
// weights are the left operand. The backend's matrix product (XNNPACK on wasm) repacks its right operand on every call
// and its Conv2D rearranges and repacks the filter, which for a fresh 3x3 512->512 filter costs about three times the
// arithmetic; the left operand is read in place. With T = KH·KW·C taps and N = B·OH·OW output pixels:
//   forward  yᵀ[O, N]  = wᵀ[O, T] · colsᵀ[T, N]
//   dx:      colsᵀ[T, N] = w[T, O] · dyᵀ[O, N], then scatter-added into dx
//   dW:      w[T, O]    = colsᵀ[T, N] · dy[N, O]
// where colsᵀ[(p,q,c), (b,i,j)] = x[b, i·sh + p − top, j·sw + q − left, c] (0 in the padding).
import { backend_util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { heapFloats, multiplyAdd } from './gemm.ts';
import { conv2dByTaps, convolveTaps, FILTER_BLOCK_FLOATS, fillWithBias, heapKernels, reluInPlace } from './conv2d-taps.ts';
import { allocFloat32, disposeIntermediate, float32View } from './tensor-data.ts';
import { winogradRoute } from './winograd-route.ts';

type MatMulRunner = (backend: object, a: TensorInfo, b: TensorInfo) => TensorInfo;

/**
 * Whether a convolution runs faster as products on its weights: at most `ratio` times as many output pixels as output
 * channels. Measured on wasm (XNNPACK): the gradients gain up to ratio 1, the forward pass (whose transpose of the
 * filter costs as much as the product there) only up to 1/4.
 */
export function preferProducts(info: backend_util.Conv2DInfo, ratio = 1): boolean {
  return info.dilationHeight === 1 && info.dilationWidth === 1 && info.batchSize * info.outHeight * info.outWidth <= ratio * info.outChannels;
}

function disposeAll(backend: object, infos: (TensorInfo | undefined)[]): void {
  for (let i = infos.length - 1; i >= 0; i--) if (infos[i]) disposeIntermediate(backend, infos[i]!);
}

/** Blocked transpose of the [rows, cols] matrix at `src` into `dst` as [cols, rows]. */
function transpose(src: Float32Array, dst: Float32Array, rows: number, cols: number): void {
  const BLOCK = 32;
  for (let r0 = 0; r0 < rows; r0 += BLOCK) {
    const r1 = Math.min(rows, r0 + BLOCK);
    for (let c0 = 0; c0 < cols; c0 += BLOCK) {
      const c1 = Math.min(cols, c0 + BLOCK);
      for (let r = r0; r < r1; r++) {
        const s = r * cols;
        for (let c = c0; c < c1; c++) dst[c * rows + r] = src[s + c]!;
      }
    }
  }
}

/** Visits every (tap row of colsᵀ, output pixel n, input offset) pair that lies inside the input. */
export function forEachTap(info: backend_util.Conv2DInfo, visit: (colsRow: number, n: number, xOffset: number) => void): void {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: KH, filterWidth: KW } = info;
  const { top, left } = info.padInfo;
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < OH; i++) {
      for (let j = 0; j < OW; j++) {
        const n = (b * OH + i) * OW + j;
        for (let p = 0; p < KH; p++) {
          const h = i * sh + p - top;
          if (h < 0 || h >= H) continue;
          for (let q = 0; q < KW; q++) {
            const w = j * sw + q - left;
            if (w < 0 || w >= W) continue;
            visit((p * KW + q) * C, n, ((b * H + h) * W + w) * C);
          }
        }
      }
    }
  }
}

/** colsᵀ as a new [1, T, N] tensor. */
function colsTransposed(backend: object, x: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
  const C = info.inChannels;
  const T = info.filterHeight * info.filterWidth * C;
  const N = info.batchSize * info.outHeight * info.outWidth;
  const cols = allocFloat32(backend, [1, T, N]);
  const cv = float32View(backend, cols);
  const xv = float32View(backend, x);
  cv.fill(0);
  forEachTap(info, (row, n, src) => {
    for (let c = 0; c < C; c++) cv[(row + c) * N + n] = xv[src + c]!;
  });
  return cols;
}

/**
 * Forward convolution by products, with an optional bias and ReLU (what `FusedConv2D` adds), as a new [B, OH, OW, O]
 * tensor.
 */
export function conv2dByProducts(
  backend: object,
  x: TensorInfo,
  filter: TensorInfo,
  bias: TensorInfo | undefined,
  relu: boolean,
  info: backend_util.Conv2DInfo,
  runMatMul: MatMulRunner,
): TensorInfo {
  const O = info.outChannels;
  const T = info.filterHeight * info.filterWidth * info.inChannels;
  const N = info.batchSize * info.outHeight * info.outWidth;
  const temps: (TensorInfo | undefined)[] = [];
  try {
    const cols = colsTransposed(backend, x, info);
    temps.push(cols);
    const wt = allocFloat32(backend, [1, O, T]);
    temps.push(wt);
    transpose(float32View(backend, filter), float32View(backend, wt), T, O);
    const yt = runMatMul(backend, wt, cols);
    temps.push(yt);
    const y = allocFloat32(backend, [info.batchSize, info.outHeight, info.outWidth, O]);
    const yv = float32View(backend, y);
    transpose(float32View(backend, yt), yv, O, N);
    if (bias) {
      const bv = float32View(backend, bias);
      const shared = bv.length === 1;
      for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) yv[n * O + o] = yv[n * O + o]! + bv[shared ? 0 : o]!;
    }
    if (relu) reluInPlace(yv);
    return y;
  } finally {
    disposeAll(backend, temps);
  }
}

/** cols[N, T] (one row of taps x channels per output pixel, zeros in the padding) into `cols`. */
function fillCols(backend: object, x: TensorInfo, cols: TensorInfo, info: backend_util.Conv2DInfo): void {
  const C = info.inChannels;
  const T = info.filterHeight * info.filterWidth * C;
  const cv = float32View(backend, cols);
  const xv = float32View(backend, x);
  cv.fill(0);
  forEachTap(info, (row, n, src) => cv.set(xv.subarray(src, src + C), n * T + row));
}

/**
 * `Conv2DBackpropFilter` by one product on tfjs-backend-wasm's heap: dW[T, O] = cols[N, T]ᵀ · dy[N, O], cols read
 * transposed in place and dy copied to rows padded off a power-of-two stride; the threads take rows of dW. Undefined
 * where the heap kernels are missing or O is not a multiple of 4.
 */
export function backpropFilterOnHeapProducts(backend: object, x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo | undefined {
  const O = info.outChannels;
  const kernels = O % 4 === 0 ? heapKernels(backend) : undefined;
  if (!kernels) return undefined;
  const T = info.filterHeight * info.filterWidth * info.inChannels;
  const N = info.batchSize * info.outHeight * info.outWidth;
  const cols = allocFloat32(backend, [N, T]);
  const d = allocFloat32(backend, [N, O + 8]);
  try {
    fillCols(backend, x, cols, info);
    const [dv, yv] = [float32View(backend, d), float32View(backend, dy)];
    for (let n = 0; n < N; n++) dv.set(yv.subarray(n * O, (n + 1) * O), n * (O + 8));
    const dw = allocFloat32(backend, [info.filterHeight, info.filterWidth, info.inChannels, O]);
    float32View(backend, dw).fill(0);
    const [cBase, dBase, wBase] = [cols, d, dw].map((t) => heapFloats(backend, t)) as [number, number, number];
    multiplyAdd(kernels, { a: cBase, lda: 1, aStep: T, b: dBase, ldb: O + 8, c: wBase, ldc: O, m: T, n: O, k: N });
    kernels.finish?.();
    return dw;
  } finally {
    disposeIntermediate(backend, d);
    disposeIntermediate(backend, cols);
  }
}


/**
 * Forward convolution by products on tfjs-backend-wasm's heap, y[N, O] = cols[N, T] · w[T, O]: the tap route's product
 * (`convolveTaps`) with cols as one-pixel images and w as a 1x1 filter, in blocks of taps that stay in L2. Undefined where
 * the heap kernels are missing or O is not a multiple of 4.
 */
export function conv2dOnHeap(
  backend: object,
  x: TensorInfo,
  filter: TensorInfo,
  bias: TensorInfo | undefined,
  relu: boolean,
  info: backend_util.Conv2DInfo,
  blockFloats = FILTER_BLOCK_FLOATS,
): TensorInfo | undefined {
  const O = info.outChannels;
  const kernels = O % 4 === 0 ? heapKernels(backend) : undefined;
  if (!kernels) return undefined;
  const T = info.filterHeight * info.filterWidth * info.inChannels;
  const N = info.batchSize * info.outHeight * info.outWidth;
  const cols = allocFloat32(backend, [N, T]);
  let panels: TensorInfo | undefined;
  try {
    fillCols(backend, x, cols, info);
    const y = allocFloat32(backend, [info.batchSize, info.outHeight, info.outWidth, O]);
    fillWithBias(backend, y, bias, O);
    const at = { x: heapFloats(backend, cols), w: heapFloats(backend, filter), y: heapFloats(backend, y) };
    const pixels = { B: N, H: 1, W: 1, OH: 1, OW: 1, top: 0, left: 0 };
    panels = convolveTaps(backend, kernels, at, pixels, { KH: 1, KW: 1, C: T, O }, blockFloats);
    kernels.finish?.();
    if (relu) reluInPlace(float32View(backend, y));
    return y;
  } finally {
    if (panels) disposeIntermediate(backend, panels);
    disposeIntermediate(backend, cols);
  }
}

/** `Conv2DBackpropInput` by products: colsᵀ = w · dyᵀ, scatter-added into a new [B, H, W, C] tensor. */
export function backpropInputByProducts(backend: object, dy: TensorInfo, filter: TensorInfo, info: backend_util.Conv2DInfo, runMatMul: MatMulRunner): TensorInfo {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outChannels: O } = info;
  const T = info.filterHeight * info.filterWidth * C;
  const N = B * info.outHeight * info.outWidth;
  const temps: (TensorInfo | undefined)[] = [];
  try {
    const dyt = allocFloat32(backend, [1, O, N]);
    temps.push(dyt);
    transpose(float32View(backend, dy), float32View(backend, dyt), N, O);
    // The filter [KH, KW, C, O] is w[T, O] as it is.
    const cols = runMatMul(backend, { dataId: filter.dataId, shape: [1, T, O], dtype: 'float32' }, dyt);
    temps.push(cols);
    const dx = allocFloat32(backend, [B, H, W, C]);
    const cv = float32View(backend, cols);
    const xv = float32View(backend, dx);
    xv.fill(0);
    forEachTap(info, (row, n, dst) => {
      for (let c = 0; c < C; c++) xv[dst + c] = xv[dst + c]! + cv[(row + c) * N + n]!;
    });
    return dx;
  } finally {
    disposeAll(backend, temps);
  }
}

/** `Conv2DBackpropFilter` by products: dW = colsᵀ · dy, as a new [KH, KW, C, O] tensor. */
export function backpropFilterByProducts(backend: object, x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo, runMatMul: MatMulRunner): TensorInfo {
  const O = info.outChannels;
  const N = info.batchSize * info.outHeight * info.outWidth;
  const temps: (TensorInfo | undefined)[] = [];
  try {
    const cols = colsTransposed(backend, x, info);
    temps.push(cols);
    // A copy of dy: the product caches its packed right operand by tensor id.
    const d = allocFloat32(backend, [1, N, O]);
    temps.push(d);
    float32View(backend, d).set(float32View(backend, dy));
    const dw = runMatMul(backend, cols, d);
    return { dataId: dw.dataId, shape: [info.filterHeight, info.filterWidth, info.inChannels, O], dtype: 'float32' };
  } finally {
    disposeAll(backend, temps);
  }
}

/**
 * Wraps a backend's `Conv2D` or `FusedConv2D` kernel so that convolutions (NHWC, float32, no activation other than
 * ReLU, bias of one value per output channel) that `preferProducts` run as products, and 3x3 stride-1 ones where
 * Winograd pays run by Winograd on the heap; everything else goes to `fallback`.
 */
export function withProductRoute(fallback: KernelFunc, runMatMul: MatMulRunner): KernelFunc {
  return (args) => {
    const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
    const attrs = args.attrs as unknown as {
      strides: number | [number, number];
      pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
      dataFormat?: 'NHWC' | 'NCHW';
      dilations?: number | [number, number];
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
      activation?: string;
    };
    const activation = attrs.activation ?? 'linear';
    const plainBias = !bias || (bias.shape.length <= 1 && bias.dtype === 'float32');
    if (!x || !filter || preluActivationWeights || (activation !== 'linear' && activation !== 'relu') || !plainBias) return fallback(args);
    if (x.dtype !== 'float32' || filter.dtype !== 'float32' || (attrs.dataFormat ?? 'NHWC') !== 'NHWC') return fallback(args);
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      attrs.strides,
      attrs.dilations ?? 1,
      attrs.pad,
      attrs.dimRoundingMode,
    );
    if (bias && bias.shape.reduce((a, d) => a * d, 1) !== 1 && bias.shape[0] !== info.outChannels) return fallback(args);
    if (preferProducts(info, 1 / 4)) {
      const relu = activation === 'relu';
      return (
        conv2dByTaps(args.backend, x, filter, bias, relu, info) ??
        conv2dOnHeap(args.backend, x, filter, bias, relu, info) ??
        conv2dByProducts(args.backend, x, filter, bias, relu, info, runMatMul)
      );
    }
    const winograd = winogradRoute(args.backend, info);
    if (winograd) return winograd(x, filter, { bias, relu: activation === 'relu' });
    return fallback(args);
  };
}
