// Training-mode batch norm as two kernels. tfjs-layers' BatchNormalization, when training, runs tf.moments and then
// FusedBatchNorm: about ten kernels forward and twenty backward per layer (Mean, Sub, Square, Mean, the normalisation,
// then their gradients, each reading and writing the whole activation). These two read it twice each:
//
//   forward (`SteelBatchNormTraining`: x, scale γ, offset β → y, mean μ, biased variance v):
//     sums of (x − k) and (x − k)² per channel (k: the first row, so that a large mean does not cancel), then
//     y = (x − μ) · γ/σ + β with σ = √(v + ε);
//   gradient (`SteelBatchNormTrainingGrad`: dy, x, μ, v, γ, and the gradients of μ and v where they are used → dx, dγ, dβ):
//     S = Σ dy and T = Σ dy · (x − μ) per channel, then dβ = S, dγ = T / σ and
//     dx = γ/σ · dy + (x − μ) · (2·dv/N − γ·T/(σ³·N)) + (dμ − γ·S/σ)/N    (N values per channel).
//
// On tfjs-backend-wasm both passes run as SIMD loops on its heap (batch-norm-functions.ts), on the heap worker threads
// where there are several, with the per-block partial sums added in float64 here. Elsewhere, or where the channel count
// is not a multiple of 4, the same formulas run in JavaScript in float64.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { batchNormFunctions, type BatchNormPasses } from './batch-norm-functions.ts';
import { threadShare, tileKernels, type TileKernels } from './gemm.ts';
import { threadedTiles } from './heap-threads.ts';
import { heapMemory, heapOffset, instantiateOnHeap } from './wasm-heap-module.ts';
import { allocFloat32, disposeIntermediate, float32View } from './tensor-data.ts';

/** Names of the kernels registered by `registerKernelFixes` on wasm (cpu keeps tfjs' ops: the reference in tests). */
export const BATCH_NORM_TRAINING = 'SteelBatchNormTraining';
export const BATCH_NORM_TRAINING_GRAD = 'SteelBatchNormTrainingGrad';

/** Rows summed in float32 before their partial sums go to the float64 total. */
const BLOCK_ROWS = 64;
/** Below this many values a pass stays on the calling thread (waking the workers costs more than it saves). */
const THREADED_VALUES = 1 << 15;

interface Passes {
  passes: BatchNormPasses;
  kernels: TileKernels | undefined;
}

/** The SIMD passes on `backend`'s heap (and the threaded queue where there is one), or undefined. */
function heapPasses(backend: object): Passes | undefined {
  const passes = instantiateOnHeap<BatchNormPasses>(backend, 'batch-norm', batchNormFunctions);
  if (!passes) return undefined;
  const tiles = tileKernels(backend);
  const kernels = tiles && threadedTiles(tiles, heapMemory(backend));
  return { passes, kernels: kernels?.call ? kernels : undefined };
}

/** Runs `name` over `rows` rows, split over the threads (in whole blocks for the sums) when the tensor is large enough. */
function runRows(p: Passes, name: keyof BatchNormPasses, rows: number, values: number, args: (r0: number, r1: number) => number[]): void {
  const threads = p.kernels && values >= THREADED_VALUES ? (p.kernels.threads ?? 1) : 1;
  if (threads === 1) {
    (p.passes[name] as (...a: number[]) => void)(...args(0, rows));
    return;
  }
  const unit = name === 'bn_sums' ? BLOCK_ROWS : 1;
  const units = Math.ceil(rows / unit);
  for (let t = 0; t < threads; t++) {
    const [u0, u1] = threadShare(units, t, threads);
    if (u1 > u0) p.kernels!.call!(name, args(u0 * unit, Math.min(rows, u1 * unit)), t);
  }
  p.kernels!.finish!();
}

interface Sums {
  first: Float64Array;
  second: Float64Array;
}

/**
 * Per channel Σ (u − n) and Σ (u − n)(x − m) over the rows of channels-last u and x (same shape), n and m per channel:
 * on the heap when `p` is given and C is a multiple of 4, else in float64 JavaScript.
 */
function channelSums(backend: object, p: Passes | undefined, u: TensorInfo, x: TensorInfo, n: Float32Array, m: Float32Array): Sums {
  const C = n.length;
  const size = tf.util.sizeFromShape(x.shape);
  const rows = size / C;
  const first = new Float64Array(C);
  const second = new Float64Array(C);
  if (p && C % 4 === 0) {
    const blocks = Math.ceil(rows / BLOCK_ROWS);
    const scratch = allocFloat32(backend, [2 * C + 2 * C * blocks]);
    const s = float32View(backend, scratch);
    for (let c = 0; c < C; c++) {
      const [g, lane] = [c >> 2, c & 3];
      s[8 * g + lane] = n[c]!;
      s[8 * g + 4 + lane] = m[c]!;
    }
    const base = heapOffset(backend, scratch);
    const [uo, xo] = [heapOffset(backend, u), heapOffset(backend, x)];
    const row = 4 * C;
    runRows(p, 'bn_sums', rows, size, (r0, r1) => [uo + r0 * row, xo + r0 * row, base, base + 8 * C + (r0 / BLOCK_ROWS) * 8 * C, C / 4, r1 - r0, BLOCK_ROWS]);
    const parts = float32View(backend, scratch);
    for (let b = 0; b < blocks; b++) {
      const o = 2 * C + 2 * C * b;
      for (let c = 0; c < C; c++) {
        const i = o + 8 * (c >> 2) + (c & 3);
        first[c] = first[c]! + parts[i]!;
        second[c] = second[c]! + parts[i + 4]!;
      }
    }
    disposeIntermediate(backend, scratch);
    return { first, second };
  }
  const uv = float32View(backend, u);
  const xv = float32View(backend, x);
  for (let i = 0; i < size; i++) {
    const c = i % C;
    const d = uv[i]! - n[c]!;
    first[c] = first[c]! + d;
    second[c] = second[c]! + d * (xv[i]! - m[c]!);
  }
  return { first, second };
}

/** out = p·u + q·(x − m) + r per channel (coefficients as float64 arrays, used as float32). */
function channelAffine(backend: object, p: Passes | undefined, u: TensorInfo, x: TensorInfo, k: { p: Float64Array; m: Float32Array; q: Float64Array; r: Float64Array }): TensorInfo {
  const C = k.m.length;
  const size = tf.util.sizeFromShape(x.shape);
  const out = allocFloat32(backend, x.shape);
  if (p && C % 4 === 0) {
    const scratch = allocFloat32(backend, [4 * C]);
    const s = float32View(backend, scratch);
    for (let c = 0; c < C; c++) {
      const o = 16 * (c >> 2) + (c & 3);
      [s[o], s[o + 4], s[o + 8], s[o + 12]] = [k.p[c]!, k.m[c]!, k.q[c]!, k.r[c]!];
    }
    const [uo, xo, oo, ko] = [heapOffset(backend, u), heapOffset(backend, x), heapOffset(backend, out), heapOffset(backend, scratch)];
    const row = 4 * C;
    runRows(p, 'bn_apply', size / C, size, (r0, r1) => [uo + r0 * row, xo + r0 * row, ko, oo + r0 * row, C / 4, r1 - r0]);
    disposeIntermediate(backend, scratch);
    return out;
  }
  const [uv, xv, ov] = [float32View(backend, u), float32View(backend, x), float32View(backend, out)];
  const f = Math.fround;
  const [pf, qf, rf] = [Float32Array.from(k.p), Float32Array.from(k.q), Float32Array.from(k.r)];
  for (let i = 0; i < size; i++) {
    const c = i % C;
    ov[i] = f(f(pf[c]! * uv[i]!) + f(qf[c]! * f(xv[i]! - k.m[c]!))) + rf[c]!;
  }
  return out;
}

function channels(name: string, x: TensorInfo, perChannel: Record<string, TensorInfo | undefined>): number {
  const C = x.shape[x.shape.length - 1] ?? 0;
  const bad = (t: TensorInfo) => t.dtype !== 'float32' || tf.util.sizeFromShape(t.shape) !== C;
  if (x.dtype !== 'float32' || x.shape.length < 2 || C === 0) throw new Error(`${name} expects channels-last float32 x of rank ≥ 2, got ${x.dtype}[${x.shape}].`);
  for (const [key, t] of Object.entries(perChannel)) {
    if (t && bad(t)) throw new Error(`${name} expects ${key} as ${C} float32 values (one per channel of x [${x.shape}]), got ${t.dtype}[${t.shape}].`);
  }
  return C;
}

const values = (backend: object, t: TensorInfo | undefined, C: number): Float32Array => (t ? Float32Array.from(float32View(backend, t)) : new Float32Array(C));

/** `SteelBatchNormTraining`: x (channels last), scale, offset; attr varianceEpsilon → y, mean, variance (biased). */
export const batchNormTraining: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, scale, offset } = inputs as Record<'x' | 'scale' | 'offset', TensorInfo>;
  const C = channels(BATCH_NORM_TRAINING, x, { scale, offset });
  const eps = (attrs as unknown as { varianceEpsilon: number }).varianceEpsilon;
  const N = tf.util.sizeFromShape(x.shape) / C;
  const p = heapPasses(backend);
  const shift = Float32Array.from(float32View(backend, x).subarray(0, C));
  const { first, second } = channelSums(backend, p, x, x, shift, shift);
  const mean = new Float32Array(C);
  const variance = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    const d = first[c]! / N;
    mean[c] = shift[c]! + d;
    variance[c] = Math.max(0, second[c]! / N - d * d);
  }
  const [gamma, beta] = [values(backend, scale, C), values(backend, offset, C)];
  const q = Float64Array.from(gamma, (g, c) => g / Math.sqrt(variance[c]! + eps));
  const y = channelAffine(backend, p, x, x, { p: new Float64Array(C), m: mean, q, r: Float64Array.from(beta) });
  const outs = [allocFloat32(backend, [C]), allocFloat32(backend, [C])];
  float32View(backend, outs[0]!).set(mean);
  float32View(backend, outs[1]!).set(variance);
  return [y, ...outs];
};

/** `SteelBatchNormTrainingGrad`: dy, x, mean, variance, scale and optional dmean, dvariance → dx, dscale, doffset. */
export const batchNormTrainingGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, x, mean, variance, scale, dmean, dvariance } = inputs as Record<string, TensorInfo | undefined> as Record<'dy' | 'x' | 'mean' | 'variance' | 'scale', TensorInfo> & Record<'dmean' | 'dvariance', TensorInfo | undefined>;
  const C = channels(BATCH_NORM_TRAINING_GRAD, x, { mean, variance, scale, dmean, dvariance });
  if (dy.dtype !== 'float32' || !tf.util.arraysEqual(dy.shape, x.shape)) throw new Error(`${BATCH_NORM_TRAINING_GRAD} expects dy of x's shape [${x.shape}], got ${dy.dtype}[${dy.shape}].`);
  const eps = (attrs as unknown as { varianceEpsilon: number }).varianceEpsilon;
  const N = tf.util.sizeFromShape(x.shape) / C;
  const p = heapPasses(backend);
  const m = values(backend, mean, C);
  const { first: S, second: T } = channelSums(backend, p, dy, x, new Float32Array(C), m);
  const [gamma, v, dm, dv] = [values(backend, scale, C), values(backend, variance, C), values(backend, dmean, C), values(backend, dvariance, C)];
  const inv = Float64Array.from(v, (vc) => 1 / Math.sqrt(vc + eps));
  const coefficients = {
    p: Float64Array.from(gamma, (g, c) => g * inv[c]!),
    m,
    q: Float64Array.from(gamma, (g, c) => (2 * dv[c]!) / N - (g * T[c]! * inv[c]! ** 3) / N),
    r: Float64Array.from(gamma, (g, c) => (dm[c]! - g * S[c]! * inv[c]!) / N),
  };
  const dx = channelAffine(backend, p, dy, x, coefficients);
  const outs = [allocFloat32(backend, [C]), allocFloat32(backend, [C])];
  float32View(backend, outs[0]!).set(Float32Array.from(T, (t, c) => t * inv[c]!));
  float32View(backend, outs[1]!).set(Float32Array.from(S));
  return [dx, ...outs];
};

/** tfjs gradient config of `SteelBatchNormTraining` (registered by `setupBackend`, global to all backends). */
export const batchNormTrainingGradConfig: tf.GradConfig = {
  kernelName: BATCH_NORM_TRAINING,
  inputsToSave: ['x', 'scale'],
  outputsToSave: [false, true, true],
  gradFunc: (dys, saved, attrs) => {
    const [dy, dmean, dvariance] = dys as tf.Tensor[];
    const [x, scale, mean, variance] = saved as tf.Tensor[];
    const [dx, dscale, doffset] = tf.engine().runKernel(BATCH_NORM_TRAINING_GRAD, { dy: dy!, x: x!, mean: mean!, variance: variance!, scale: scale!, dmean: dmean!, dvariance: dvariance! }, attrs) as tf.Tensor[];
    return { x: () => dx!, scale: () => dscale!, offset: () => doffset! };
  },
};
