// Convolution gradients as blocked matrix products on tfjs-backend-wasm's heap, with the register-tiled SIMD kernels of
// gemm.ts. Both gradients use one geometry, the phase planes of the padded input:
//
// x (padding included) is split into sh·sw phase planes (rows ≡ r mod sh, columns ≡ r' mod sw), each a [B, HQ, WQ]
// grid with HQ = OH + ⌈KH/sh⌉ − 1 (WQ alike), flattened to N = B·HQ·WQ positions; dy is zero-padded to the same grid as
// D[N, O]. Tap (p, q) reads its phase plane shifted by off = ⌊p/sh⌋·WQ + ⌊q/sw⌋ positions, so with X_plane[n, c]:
//   dW[p, q, c, o]          = Σ_n X_plane(p,q)[n + off, c] · D[n, o]     (one product per tap: Xᵀ[C, N] · D[N, O])
//   dX_plane(p,q)[n + off, c] += Σ_o D[n, o] · W[p, q, c, o]             (one product per tap: D[N, O] · Wᵀ[O, C])
// Grid positions outside OH x OW hold zeros of D, so they add nothing; dx is read back from its planes.
import { backend_util, type TensorInfo } from '@tensorflow/tfjs-core';
import { heapFloats, multiplyAdd, type TileKernels } from './gemm.ts';
import { allocFloat32, disposeIntermediate, float32View } from './tensor-data.ts';

/** The phase-plane geometry of a convolution. */
export interface Planes {
  QH: number;
  QW: number;
  HQ: number;
  WQ: number;
  /** Grid positions per plane, B·HQ·WQ. */
  N: number;
  /** Positions stored per plane: N, rounded up to whole 4-row blocks, plus the largest tap offset. */
  L: number;
  planes: number;
  /** Grid positions per image, HQ·WQ, of which the first OH·WQ (`span`) can meet non-zero dy. */
  P: number;
  span: number;
  /** Plane and offset of tap t = p·KW + q. */
  tap(t: number): { plane: number; offset: number };
}

/** The phase planes of `info`'s input (see the file comment). */
export function planeGeometry(info: backend_util.Conv2DInfo): Planes {
  const { batchSize: B, outHeight: OH, outWidth: OW, strideHeight: sh, strideWidth: sw, filterHeight: KH, filterWidth: KW } = info;
  const QH = Math.ceil(KH / sh);
  const QW = Math.ceil(KW / sw);
  const HQ = OH + QH - 1;
  const WQ = OW + QW - 1;
  const N = B * HQ * WQ;
  const L = 4 * Math.ceil(N / 4) + (QH - 1) * WQ + QW - 1;
  return {
    QH, QW, HQ, WQ, N, L,
    P: HQ * WQ,
    span: OH * WQ,
    planes: sh * sw,
    tap: (t) => {
      const p = Math.floor(t / KW);
      const q = t % KW;
      return { plane: (p % sh) * sw + (q % sw), offset: Math.floor(p / sh) * WQ + Math.floor(q / sw) };
    },
  };
}

/** Visits every pixel of x that lies in a phase plane: (source float offset in x, plane position index in channels). */
function forEachPlanePixel(info: backend_util.Conv2DInfo, g: Planes, visit: (src: number, plane: number, position: number) => void): void {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  const P = g.HQ * g.WQ;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const hh = h + top;
      if (hh < 0) continue;
      const rp = hh % sh;
      const h2 = (hh - rp) / sh;
      if (h2 >= g.HQ) continue;
      for (let w = 0; w < W; w++) {
        const ww = w + left;
        if (ww < 0) continue;
        const rq = ww % sw;
        const w2 = (ww - rq) / sw;
        if (w2 >= g.WQ) continue;
        visit(((b * H + h) * W + w) * C, rp * sw + rq, b * P + h2 * g.WQ + w2);
      }
    }
  }
}

/** dy zero-padded to the plane grid, [rows, O] with rows = N rounded up to a multiple of 4. */
export function gridOfDy(backend: object, dy: TensorInfo, info: backend_util.Conv2DInfo, g: Planes): TensorInfo {
  const { batchSize: B, outHeight: OH, outWidth: OW, outChannels: O } = info;
  const d = allocFloat32(backend, [4 * Math.ceil(g.N / 4), O]);
  const dyv = float32View(backend, dy);
  const dv = float32View(backend, d);
  dv.fill(0);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < OH; i++) {
      const src = (b * OH + i) * OW * O;
      dv.set(dyv.subarray(src, src + OW * O), (b * g.HQ * g.WQ + i * g.WQ) * O);
    }
  }
  return d;
}

/** x's phase planes channel-major, [planes, C, L] (zero in the padding and past the grid). */
export function channelMajorPlanes(backend: object, x: TensorInfo, info: backend_util.Conv2DInfo, g: Planes): TensorInfo {
  const C = info.inChannels;
  const planes = allocFloat32(backend, [g.planes * C * g.L]);
  const xv = float32View(backend, x);
  const pv = float32View(backend, planes);
  pv.fill(0);
  forEachPlanePixel(info, g, (src, plane, position) => {
    const dst = plane * C * g.L + position;
    for (let c = 0; c < C; c++) pv[dst + c * g.L] = xv[src + c]!;
  });
  return planes;
}

/**
 * Whether the heap product kernels handle this convolution's gradients: dilation 1, a multiple of 4 `columns` (output
 * channels for dW, input channels for dX) and at most `maxWaste` grid positions computed per output pixel (the products
 * skip each image's padding rows, not the WQ − OW padding columns of each row).
 */
export function heapProductsFit(info: backend_util.Conv2DInfo, columns: number, maxWaste: number): boolean {
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1 || columns % 4 !== 0 || columns === 0) return false;
  return planeGeometry(info).WQ <= maxWaste * info.outWidth;
}

/** Floats of B kept hot in cache per block (128 KiB: in L2 with A's rows); `blockFloats` in the kernels below. */
const BLOCK_FLOATS = 1 << 15;

/**
 * `Conv2DBackpropFilter` on the heap: x's planes channel-major as Xᵀ[C, L] per plane, one product per tap and k-block.
 * Every product on one tap's rows of dW has the same rows, so `kernels` may be threaded (heap-threads.ts).
 */
export function backpropFilterOnHeap(
  backend: object,
  kernels: TileKernels,
  x: TensorInfo,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
  blockFloats = BLOCK_FLOATS,
): TensorInfo {
  const { inChannels: C, outChannels: O, filterHeight: KH, filterWidth: KW } = info;
  const g = planeGeometry(info);
  const temps: TensorInfo[] = [];
  try {
    const planes = channelMajorPlanes(backend, x, info, g);
    temps.push(planes);
    const d = gridOfDy(backend, dy, info, g);
    temps.push(d);
    const out = allocFloat32(backend, [KH, KW, C, O]);
    float32View(backend, out).fill(0);
    const [pBase, dBase, oBase] = [planes, d, out].map((t) => heapFloats(backend, t)) as [number, number, number];
    // Reduction blocks within each image's first OH grid rows (D is zero on the others).
    const kc = Math.max(16, 4 * Math.floor(blockFloats / O / 4));
    const blocks: [number, number][] = [];
    for (let b = 0; b < info.batchSize; b++) {
      for (let k0 = 0; k0 < g.span; k0 += kc) blocks.push([b * g.P + k0, Math.min(kc, g.span - k0)]);
    }
    for (const [k0, k] of blocks) {
      for (let t = 0; t < KH * KW; t++) {
        const { plane, offset } = g.tap(t);
        multiplyAdd(kernels, {
          a: pBase + plane * C * g.L + offset + k0, lda: g.L,
          b: dBase + k0 * O, ldb: O,
          c: oBase + t * C * O, ldc: O,
          m: C, n: O, k,
        });
      }
    }
    kernels.finish?.();
    return out;
  } finally {
    for (let i = temps.length - 1; i >= 0; i--) disposeIntermediate(backend, temps[i]!);
  }
}

/** `Conv2DBackpropInput` on the heap: dx's planes channel-last [L, C] per plane, one product per tap and column block. */
export function backpropInputOnHeap(
  backend: object,
  kernels: TileKernels,
  dy: TensorInfo,
  filter: TensorInfo,
  info: backend_util.Conv2DInfo,
  blockFloats = BLOCK_FLOATS,
): TensorInfo {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outChannels: O, filterHeight: KH, filterWidth: KW } = info;
  const g = planeGeometry(info);
  const taps = KH * KW;
  const temps: TensorInfo[] = [];
  try {
    const d = gridOfDy(backend, dy, info, g);
    temps.push(d);
    // Wᵀ per tap: [taps, O, C].
    const wt = allocFloat32(backend, [taps, O, C]);
    temps.push(wt);
    const planes = allocFloat32(backend, [g.planes * g.L * C]);
    temps.push(planes);
    const dx = allocFloat32(backend, [B, H, W, C]);
    {
      const wv = float32View(backend, filter);
      const tv = float32View(backend, wt);
      for (let t = 0; t < taps; t++) {
        const base = t * C * O;
        for (let c = 0; c < C; c++) for (let o = 0; o < O; o++) tv[base + o * C + c] = wv[base + c * O + o]!;
      }
      float32View(backend, planes).fill(0);
    }
    const [dBase, wBase, pBase] = [d, wt, planes].map((t) => heapFloats(backend, t)) as [number, number, number];
    const cc = Math.min(C, Math.max(8, 8 * Math.floor(blockFloats / O / 8)));
    for (let t = 0; t < taps; t++) {
      const { plane, offset } = g.tap(t);
      for (let c0 = 0; c0 < C; c0 += cc) {
        // Rows of D within each image's first OH grid rows (the others are zero).
        for (let b = 0; b < B; b++) {
          multiplyAdd(kernels, {
            a: dBase + b * g.P * O, lda: O,
            b: wBase + t * O * C + c0, ldb: C,
            c: pBase + (plane * g.L + offset + b * g.P) * C + c0, ldc: C,
            m: g.span, n: Math.min(cc, C - c0), k: O,
          });
        }
      }
    }
    const pv = float32View(backend, planes);
    const xv = float32View(backend, dx);
    xv.fill(0);
    forEachPlanePixel(info, g, (dst, plane, position) => {
      const src = (plane * g.L + position) * C;
      xv.set(pv.subarray(src, src + C), dst);
    });
    return dx;
  } finally {
    for (let i = temps.length - 1; i >= 0; i--) disposeIntermediate(backend, temps[i]!);
  }
}
