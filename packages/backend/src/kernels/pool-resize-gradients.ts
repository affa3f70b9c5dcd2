// Typed-array gradients of max pooling and nearest-neighbour resizing, valid on any backend.
import { backend_util, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import { allocFloat32, float32View, makeFloat32, readFloat32 } from './tensor-data.ts';

/** The window geometry (sizes, strides, padding) of a `MaxPoolGrad` call, from its forward input and attributes. */
export function maxPoolGeometry(input: TensorInfo, attrs: NamedAttrMap | undefined): backend_util.Conv2DInfo {
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as {
    filterSize: number | [number, number];
    strides: number | [number, number];
    pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  return backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
}

/**
 * `MaxPoolGrad`: routes each dy to the position of its window's maximum in the forward input. The first maximum in
 * row-major window order wins ties, and padding never wins (only positions inside the input are candidates), which is
 * what the forward MaxPool computes for any sign of the input.
 */
export const maxPoolGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const dy = inputs['dy']!;
  const input = inputs['input']!;
  const info = maxPoolGeometry(input, attrs);
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: KH, filterWidth: KW } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  // Output first: allocating may move the wasm heap, which would detach views taken before.
  const out = allocFloat32(backend, input.shape);
  const x = float32View(backend, input);
  const dyv = float32View(backend, dy);
  const dx = float32View(backend, out);
  dx.fill(0);
  const best = new Float32Array(C);
  const where = new Int32Array(C);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < OH; i++) {
      const h0 = Math.max(0, i * sh - top);
      const h1 = Math.min(H, i * sh - top + KH);
      for (let j = 0; j < OW; j++) {
        const w0 = Math.max(0, j * sw - left);
        const w1 = Math.min(W, j * sw - left + KW);
        if (h0 >= h1 || w0 >= w1) continue;
        // The window's first in-input value starts as the maximum whatever its sign (NaN included); `>` keeps the
        // first of ties.
        const first = ((b * H + h0) * W + w0) * C;
        for (let c = 0; c < C; c++) {
          best[c] = x[first + c]!;
          where[c] = first + c;
        }
        for (let h = h0; h < h1; h++) {
          for (let w = h === h0 ? w0 + 1 : w0; w < w1; w++) {
            const base = ((b * H + h) * W + w) * C;
            for (let c = 0; c < C; c++) {
              const v = x[base + c]!;
              if (v > best[c]!) {
                best[c] = v;
                where[c] = base + c;
              }
            }
          }
        }
        const dyBase = ((b * OH + i) * OW + j) * C;
        for (let c = 0; c < C; c++) {
          const k = where[c]!;
          dx[k] = dx[k]! + dyv[dyBase + c]!;
        }
      }
    }
  }
  return out;
};

/**
 * The source row (or column) the forward nearest-neighbour resize reads for each output row, with tfjs' conventions for
 * `alignCorners` and `halfPixelCenters` (those of its cpu kernel).
 */
export function nearestSourceIndex(inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean): Int32Array {
  const effIn = alignCorners && outSize > 1 ? inSize - 1 : inSize;
  const effOut = alignCorners && outSize > 1 ? outSize - 1 : outSize;
  const ratio = effIn / effOut;
  const src = new Int32Array(outSize);
  for (let r = 0; r < outSize; r++) {
    const frac = halfPixelCenters ? ratio * (r + 0.5) : ratio * r;
    let s = Math.min(inSize - 1, alignCorners ? Math.round(frac) : Math.floor(frac));
    if (halfPixelCenters) s = Math.max(0, s);
    src[r] = s;
  }
  return src;
}

/**
 * `ResizeNearestNeighborGrad`: dx[b, src(r), src(c), d] += dy[b, r, c, d], the exact adjoint of the forward resize (for a
 * x2 upsampling without corner alignment that is a 2x2 block sum of dy).
 */
export const resizeNearestNeighborGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const images = inputs['images']!;
  const dy = inputs['dy']!;
  const { alignCorners = false, halfPixelCenters = false } = attrs as NamedAttrMap as { alignCorners?: boolean; halfPixelCenters?: boolean };
  const [B, H, W, C] = images.shape as [number, number, number, number];
  const [, OH, OW] = dy.shape as [number, number, number, number];
  const rows = nearestSourceIndex(H, OH, alignCorners, halfPixelCenters);
  const cols = nearestSourceIndex(W, OW, alignCorners, halfPixelCenters);
  const out = allocFloat32(backend, images.shape);
  const dyv = float32View(backend, dy);
  const dx = float32View(backend, out);
  dx.fill(0);
  let k = 0;
  for (let b = 0; b < B; b++) {
    for (let r = 0; r < OH; r++) {
      const rowBase = (b * H + rows[r]!) * W;
      for (let c = 0; c < OW; c++) {
        const base = (rowBase + cols[c]!) * C;
        for (let d = 0; d < C; d++) dx[base + d] = dx[base + d]! + dyv[k++]!;
      }
    }
  }
  return out;
};

/** Per output row (or column): the two source indices and the weight of the second, as tfjs' forward bilinear resize computes them. */
export function bilinearSourceWeights(inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean) {
  const effIn = alignCorners && outSize > 1 ? inSize - 1 : inSize;
  const effOut = alignCorners && outSize > 1 ? outSize - 1 : outSize;
  const ratio = effIn / effOut;
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const frac = new Float64Array(outSize);
  for (let r = 0; r < outSize; r++) {
    const src = halfPixelCenters ? ratio * (r + 0.5) - 0.5 : ratio * r;
    const floor = Math.max(0, Math.floor(src));
    lo[r] = floor;
    hi[r] = Math.min(inSize - 1, Math.ceil(src));
    frac[r] = src - floor;
  }
  return { lo, hi, frac };
}

/**
 * `ResizeBilinearGrad`: each dy is spread over the four source pixels of its output with the forward's interpolation
 * weights, the exact adjoint of the forward resize for every `alignCorners` / `halfPixelCenters` combination.
 */
export const resizeBilinearGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const images = inputs['images']!;
  const dy = inputs['dy']!;
  const { alignCorners = false, halfPixelCenters = false } = attrs as NamedAttrMap as { alignCorners?: boolean; halfPixelCenters?: boolean };
  const [B, H, W, C] = images.shape as [number, number, number, number];
  const [, OH, OW] = dy.shape as [number, number, number, number];
  const rows = bilinearSourceWeights(H, OH, alignCorners, halfPixelCenters);
  const cols = bilinearSourceWeights(W, OW, alignCorners, halfPixelCenters);
  const dyv = readFloat32(backend, dy);
  const dx = new Float64Array(B * H * W * C);
  let k = 0;
  for (let b = 0; b < B; b++) {
    for (let r = 0; r < OH; r++) {
      const rf = rows.frac[r]!;
      const top = (b * H + rows.lo[r]!) * W;
      const bottom = (b * H + rows.hi[r]!) * W;
      for (let c = 0; c < OW; c++) {
        const cf = cols.frac[c]!;
        const [c0, c1] = [cols.lo[c]!, cols.hi[c]!];
        const tl = (top + c0) * C;
        const tr = (top + c1) * C;
        const bl = (bottom + c0) * C;
        const br = (bottom + c1) * C;
        const wtl = (1 - rf) * (1 - cf);
        const wtr = (1 - rf) * cf;
        const wbl = rf * (1 - cf);
        const wbr = rf * cf;
        for (let d = 0; d < C; d++) {
          const g = dyv[k++]!;
          dx[tl + d] = dx[tl + d]! + g * wtl;
          dx[tr + d] = dx[tr + d]! + g * wtr;
          dx[bl + d] = dx[bl + d]! + g * wbl;
          dx[br + d] = dx[br + d]! + g * wbr;
        }
      }
    }
  }
  return makeFloat32(backend, images.shape, Float32Array.from(dx));
};

/**
 * `ResizeNearestNeighborGrad` for a backend with fast average pooling (wasm: XNNPACK): when every output row r reads
 * source row ⌊r / fh⌋ and every column c source column ⌊c / fw⌋ (integer upsampling, e.g. x2 without corner alignment),
 * the gradient is the fh x fw block sum of dy, i.e. fh·fw times its average pooling; otherwise `resizeNearestNeighborGrad`.
 */
export function resizeNearestNeighborGradByPooling(avgPool: KernelFunc, multiply: KernelFunc): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const images = inputs['images']!;
    const dy = inputs['dy']!;
    const { alignCorners = false, halfPixelCenters = false } = attrs as NamedAttrMap as { alignCorners?: boolean; halfPixelCenters?: boolean };
    const [, H, W] = images.shape as [number, number, number, number];
    const [, OH, OW] = dy.shape as [number, number, number, number];
    const fh = OH / H;
    const fw = OW / W;
    const blocks = (src: Int32Array, f: number) => Number.isInteger(f) && src.every((s, r) => s === Math.floor(r / f));
    if (dy.dtype !== 'float32' || !blocks(nearestSourceIndex(H, OH, alignCorners, halfPixelCenters), fh) || !blocks(nearestSourceIndex(W, OW, alignCorners, halfPixelCenters), fw)) {
      return resizeNearestNeighborGrad(args);
    }
    const mean = avgPool({ inputs: { x: dy }, backend, attrs: { filterSize: [fh, fw], strides: [fh, fw], pad: 'valid', dimRoundingMode: undefined } as unknown as NamedAttrMap }) as TensorInfo;
    if (fh * fw === 1) return mean;
    const factor = makeFloat32(backend, [], Float32Array.of(fh * fw));
    try {
      return multiply({ inputs: { a: mean, b: factor }, backend, attrs: {} }) as TensorInfo;
    } finally {
      (backend as { disposeData(id: object): void }).disposeData(mean.dataId);
      (backend as { disposeData(id: object): void }).disposeData(factor.dataId);
    }
  };
}
