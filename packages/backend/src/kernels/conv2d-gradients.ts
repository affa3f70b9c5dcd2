// Convolution gradients for backends whose own kernels are missing or slow (wasm), computed with the backend's own
// matrix product and forward Conv2D (XNNPACK on wasm) after rearranging the operands with typed-array loops.
//
// Forward (NHWC, HWIO, dilation 1): y[b,i,j,o] = Σ_{p,q,c} x[b, i·sh + p − top, j·sw + q − left, c] · w[p,q,c,o].
import { backend_util, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import { backpropFilterByProducts, backpropFilterOnHeapProducts, backpropInputByProducts, forEachTap, preferProducts } from './conv2d-products.ts';
import { backpropFilterByTaps, backpropInputByTaps } from './conv2d-taps.ts';
import { allocFloat32, disposeIntermediate, float32View } from './tensor-data.ts';
import { backpropFilterOnHeap, backpropInputOnHeap, channelMajorPlanes, gridOfDy, heapProductsFit, planeGeometry } from './conv2d-gemm.ts';
import { tileKernels } from './gemm.ts';
import { productThreadCount, threadedTiles } from './heap-threads.ts';
import { heapMemory } from './wasm-heap-module.ts';
import { winogradFilterRoute, winogradInputRoute } from './winograd-route.ts';
import { flippedPhaseFilter } from './flipped-filter.ts';

type Padding = 'valid' | [[number, number], [number, number], [number, number], [number, number]];
type Conv2DRunner = (backend: object, x: TensorInfo, filter: TensorInfo, dilations: [number, number], pad?: Padding) => TensorInfo;
type MatMulRunner = (backend: object, a: TensorInfo, b: TensorInfo) => TensorInfo;

/** Runs a backend's own Conv2D kernel (stride 1, 'valid' or explicit padding) without going through the engine. */
export function conv2dRunner(conv2dKernel: KernelFunc): Conv2DRunner {
  return (backend, x, filter, dilations, pad = 'valid') =>
    conv2dKernel({
      inputs: { x, filter },
      backend,
      attrs: { strides: [1, 1], pad, dataFormat: 'NHWC', dilations, dimRoundingMode: undefined } as unknown as NamedAttrMap,
    }) as TensorInfo;
}

/** Runs a backend's own BatchMatMul kernel on a [1, M, K] and a [1, K, N] tensor without going through the engine. */
export function matMulRunner(batchMatMulKernel: KernelFunc): MatMulRunner {
  return (backend, a, b) =>
    batchMatMulKernel({
      inputs: { a, b },
      backend,
      attrs: { transposeA: false, transposeB: false } as unknown as NamedAttrMap,
    }) as TensorInfo;
}

function convInfoOf(xShape: number[], filterShape: number[], attrs: NamedAttrMap): backend_util.Conv2DInfo {
  const { strides, pad, dataFormat, dimRoundingMode } = attrs as unknown as {
    strides: number | [number, number];
    pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  const info = backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    backend_util.convertConv2DDataFormat(dataFormat ?? 'NHWC'),
  );
  if (info.dataFormat !== 'channelsLast') throw new Error(`Convolution gradients support NHWC only, got ${String(dataFormat)}.`);
  return info;
}

/** Frees intermediates in reverse order of creation. */
function disposeAll(backend: object, infos: (TensorInfo | undefined)[]): void {
  for (let i = infos.length - 1; i >= 0; i--) if (infos[i]) disposeIntermediate(backend, infos[i]!);
}

/**
 * Largest ratio of grid positions computed to output pixels (WQ / OW) for which the heap products run the gradients
 * (measured on UNet-ResNet18 layers, `bench/conv-gradients.ts`): dW beats XNNPACK's products on every layer that does not
 * `preferProducts`; dX is about even with XNNPACK's forward convolution, so it uses them only with relaxed SIMD (fused
 * multiply-add), little padding and one thread.
 */
const HEAP_FILTER_MAX_WASTE = 2;
const HEAP_INPUT_MAX_WASTE = 1.25;

/** Largest left operand of one matrix product in `Conv2DBackpropFilter`, in floats (the taps are split to stay under it). */
const MAX_PRODUCT_OPERAND = 1 << 23;

/**
 * `Conv2DBackpropFilter` as matrix products. dW[p,q,c,o] = Σ_{b,i,j} x[b, i·sh+p−top, j·sw+q−left, c] · dy[b,i,j,o].
 *
 * x is split into sh·sw phase planes (rows ≡ r mod sh, columns ≡ r' mod sw, padding included), each stored channel-major
 * as X[c, b, h, w] over a [B, HQ, WQ] grid with HQ = OH + ⌈KH/sh⌉ − 1 (and WQ alike); dy is zero-padded to the same
 * [B, HQ, WQ] grid as D[n, o]. Tap (p, q) reads its phase plane shifted by (⌊p/sh⌋, ⌊q/sw⌋), which on the flattened
 * grid is one offset, so its rows of X are contiguous slices and dW[p,q] = X_pq · D: one [taps·C, n] x [n, O] product
 * gives a block of taps of dW in its own [KH, KW, C, O] layout (positions outside OH x OW meet zeros of D).
 */
export function createConv2DBackpropFilter(runMatMul: MatMulRunner, maxOperand = MAX_PRODUCT_OPERAND, onHeap = true): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const x = inputs['x']!;
    const dy = inputs['dy']!;
    const filterShape = (attrs as { filterShape: number[] }).filterShape;
    const info = convInfoOf(x.shape, filterShape, attrs as NamedAttrMap);
    const { inChannels: C, outChannels: O, filterHeight: KH, filterWidth: KW } = info;
    if (preferProducts(info)) {
      const heap = onHeap ? (backpropFilterByTaps(backend, x, dy, info) ?? backpropFilterOnHeapProducts(backend, x, dy, info)) : undefined;
      return heap ?? backpropFilterByProducts(backend, x, dy, info, runMatMul);
    }
    const winograd = onHeap ? winogradFilterRoute(backend, info) : undefined;
    if (winograd) return winograd(x, dy);
    const kernels = onHeap && heapProductsFit(info, O, HEAP_FILTER_MAX_WASTE) ? tileKernels(backend) : undefined;
    if (kernels) return backpropFilterOnHeap(backend, threadedTiles(kernels, heapMemory(backend)), x, dy, info);
    const g = planeGeometry(info);
    const { N, L } = g;
    const taps = KH * KW;
    const perProduct = Math.max(1, Math.min(taps, Math.floor(maxOperand / (C * N))));
    const temps: TensorInfo[] = [];
    try {
      const planes = channelMajorPlanes(backend, x, info, g);
      temps.push(planes);
      // dy on the grid, as the product's [1, N, O] right operand (a fresh tensor: the product caches its packed right
      // operand by tensor id).
      const grid = gridOfDy(backend, dy, info, g);
      temps.push(grid);
      const d = { dataId: grid.dataId, shape: [1, N, O], dtype: 'float32' as const };
      const out = allocFloat32(backend, [KH, KW, C, O]);
      try {
        for (let t0 = 0; t0 < taps; t0 += perProduct) {
          const n = Math.min(perProduct, taps - t0);
          const a = allocFloat32(backend, [1, n * C, N]);
          let r: TensorInfo | undefined;
          try {
            const pv = float32View(backend, planes);
            const av = float32View(backend, a);
            for (let t = 0; t < n; t++) {
              const { plane, offset } = g.tap(t0 + t);
              for (let c = 0; c < C; c++) {
                const src = (plane * C + c) * L + offset;
                av.set(pv.subarray(src, src + N), (t * C + c) * N);
              }
            }
            r = runMatMul(backend, a, d);
            float32View(backend, out).set(float32View(backend, r), t0 * C * O);
          } finally {
            disposeAll(backend, [a, r]);
          }
        }
      } catch (error) {
        disposeIntermediate(backend, out);
        throw error;
      }
      return out;
    } finally {
      disposeAll(backend, temps);
    }
  };
}

/** Input channels up to which `Conv2DBackpropInput` uses a matrix product and a scatter-add (e.g. a grey or RGB stem). */
const FEW_INPUT_CHANNELS = 4;

/**
 * `Conv2DBackpropInput`. dx[b,h,w,c] = Σ dy[b,i,j,o] · w[p,q,c,o] over h = i·sh + p − top, w = j·sw + q − left.
 *
 * Output rows h ≡ r (mod sh) take only the taps p ≡ r + top (mod sh); for each of the sh·sw phases this is a stride-1
 * forward convolution of dy (explicitly padded) with those taps, flipped and with in/out channels swapped, and the phase
 * results are interleaved into dx (stride 1: a single phase, which is dx; 3x3 stride-1 ones run by Winograd where it
 * pays, winograd-route.ts). With few input channels (the stem) the forward
 * convolution would have few output channels, which XNNPACK runs slowly, so dx is the scatter-add of dy · wᵀ instead.
 */
export function createConv2DBackpropInput(runConv2D: Conv2DRunner, runMatMul: MatMulRunner, onHeap = true): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const dy = inputs['dy']!;
    const filter = inputs['filter']!;
    const inputShape = (attrs as { inputShape: number[] }).inputShape;
    const info = convInfoOf(inputShape, filter.shape, attrs as NamedAttrMap);
    // Few pixels, many weights (at most a quarter as many pixels as output channels): a product that reads w once.
    if (preferProducts(info, 1 / 4)) return (onHeap ? backpropInputByTaps(backend, dy, filter, info) : undefined) ?? backpropInputByProducts(backend, dy, filter, info, runMatMul);
    const winograd = onHeap ? winogradInputRoute(backend, info) : undefined;
    if (winograd) return winograd(dy, filter);
    const kernels = onHeap && heapProductsFit(info, info.inChannels, HEAP_INPUT_MAX_WASTE) ? tileKernels(backend) : undefined;
    // Single-threaded (its products write overlapping rows per tap), so only where XNNPACK runs on one thread too.
    if (kernels?.relaxed && productThreadCount() === 1) return backpropInputOnHeap(backend, kernels, dy, filter, info);
    if (preferProducts(info)) return backpropInputByProducts(backend, dy, filter, info, runMatMul);
    if (info.inChannels <= FEW_INPUT_CHANNELS || !phasesNeedNoCrop(info)) return backpropInputByProduct(backend, dy, filter, info, runMatMul);
    return backpropInputByPhases(backend, dy, filter, info, runConv2D);
  };
}

/** Whether every phase convolution pads dy by >= 0 (false only for explicit padding as large as the filter). */
function phasesNeedNoCrop(info: backend_util.Conv2DInfo): boolean {
  const axis = (s: number, k: number, pad: number) => {
    for (let r = 0; r < s; r++) {
      const t = (r + pad) % s;
      if (t < k && Math.ceil((k - t) / s) - 1 - Math.floor((r + pad) / s) < 0) return false;
    }
    return true;
  };
  return axis(info.strideHeight, info.filterHeight, info.padInfo.top) && axis(info.strideWidth, info.filterWidth, info.padInfo.left);
}

function backpropInputByPhases(backend: object, dy: TensorInfo, filter: TensorInfo, info: backend_util.Conv2DInfo, runConv2D: Conv2DRunner): TensorInfo {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: O } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: KH, filterWidth: KW } = info;
  const { top, left } = info.padInfo;
  const k = { KW, C, O, sh, sw };
  let dx: TensorInfo | undefined;
  try {
    for (let rh = 0; rh < sh; rh++) {
      for (let rw = 0; rw < sw; rw++) {
        // Phase geometry along each axis: first tap, number of taps, rows of dx in the phase, padding of dy.
        const tp = (rh + top) % sh;
        const tq = (rw + left) % sw;
        const MH = tp < KH ? Math.ceil((KH - tp) / sh) : 0;
        const MW = tq < KW ? Math.ceil((KW - tq) / sw) : 0;
        const H2 = rh < H ? Math.ceil((H - rh) / sh) : 0;
        const W2 = rw < W ? Math.ceil((W - rw) / sw) : 0;
        if (sh * sw > 1 && !dx) {
          dx = allocFloat32(backend, [B, H, W, C]);
          float32View(backend, dx).fill(0);
        }
        if (MH === 0 || MW === 0 || H2 === 0 || W2 === 0) continue;
        const padTop = MH - 1 - Math.floor((rh + top) / sh);
        const padLeft = MW - 1 - Math.floor((rw + left) / sw);
        const padBottom = Math.max(0, H2 + MH - 1 - OH - padTop);
        const padRight = Math.max(0, W2 + MW - 1 - OW - padLeft);
        const f = allocFloat32(backend, [MH, MW, O, C]);
        let r: TensorInfo | undefined;
        try {
          flippedPhaseFilter(float32View(backend, filter), float32View(backend, f), k, tp, tq, MH, MW);
          r = runConv2D(backend, dy, f, [1, 1], [[0, 0], [padTop, padBottom], [padLeft, padRight], [0, 0]]);
          const [, RH, RW] = r.shape as [number, number, number, number];
          if (sh * sw === 1 && RH === H && RW === W) {
            dx = r;
            r = undefined;
            continue;
          }
          if (!dx) {
            dx = allocFloat32(backend, [B, H, W, C]);
            float32View(backend, dx).fill(0);
          }
          const rv = float32View(backend, r);
          const xv = float32View(backend, dx);
          for (let b = 0; b < B; b++) {
            for (let h2 = 0; h2 < H2; h2++) {
              const rowSrc = (b * RH + h2) * RW * C;
              const rowDst = (b * H + rh + sh * h2) * W * C;
              if (sw === 1) {
                xv.set(rv.subarray(rowSrc, rowSrc + W2 * C), rowDst + rw * C);
                continue;
              }
              for (let w2 = 0; w2 < W2; w2++) {
                const src = rowSrc + w2 * C;
                xv.set(rv.subarray(src, src + C), rowDst + (rw + sw * w2) * C);
              }
            }
          }
        } finally {
          disposeAll(backend, [f, r]);
        }
      }
    }
  } catch (error) {
    if (dx) disposeIntermediate(backend, dx);
    throw error;
  }
  return dx!;
}

function backpropInputByProduct(backend: object, dy: TensorInfo, filter: TensorInfo, info: backend_util.Conv2DInfo, runMatMul: MatMulRunner): TensorInfo {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: O } = info;
  const T = info.filterHeight * info.filterWidth * C;
  const temps: TensorInfo[] = [];
  try {
    const wt = allocFloat32(backend, [1, O, T]);
    temps.push(wt);
    {
      const wv = float32View(backend, filter);
      const tv = float32View(backend, wt);
      for (let t = 0; t < T; t++) for (let o = 0; o < O; o++) tv[o * T + t] = wv[t * O + o]!;
    }
    // dy as one [1, B·OH·OW, O] matrix (same data).
    const cols = runMatMul(backend, { dataId: dy.dataId, shape: [1, B * OH * OW, O], dtype: 'float32' }, wt);
    temps.push(cols);
    const dx = allocFloat32(backend, [B, H, W, C]);
    const cv = float32View(backend, cols);
    const xv = float32View(backend, dx);
    xv.fill(0);
    // cols is [N, T]: output pixel n's taps are one row.
    forEachTap(info, (tap, n, dst) => {
      const src = n * T + tap;
      for (let c = 0; c < C; c++) xv[dst + c] = xv[dst + c]! + cv[src + c]!;
    });
    return dx;
  } finally {
    disposeAll(backend, temps);
  }
}
