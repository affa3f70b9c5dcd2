// The gradient of FusedBatchNorm with broadcasting arithmetic. tfjs-core 4.22's own gradient tiles 1/sqrt(variance + ε) to
// the full input shape (wasm's Tile kernel takes ~100 ns per element) and makes about ten full-size temporaries; this one
// makes three: dx, x − mean and dy · (x − mean), plus two reductions.
//
// y = (x − m) · r · s + o with r = (v + ε)^(−1/2), broadcast over the axes where m has size 1:
//   dx = dy · r · s
//   dm = −r · s · Σ dy
//   dv = −½ · r³ · s · Σ dy · (x − m)
//   ds = r · Σ dy · (x − m)
//   do = Σ dy
import * as tf from '@tensorflow/tfjs-core';
import { meanGradConfig } from './mean-gradient.ts';
import { BATCH_NORM_TRAINING, batchNormTrainingGradConfig } from './batch-norm-training.ts';

/** Axes of `xShape` over which a tensor of `shape` is broadcast (its size 1 or missing there, aligned to the right). */
function broadcastAxes(shape: readonly number[], xShape: readonly number[]): number[] {
  const axes: number[] = [];
  for (let i = 0; i < xShape.length; i++) {
    const d = shape[shape.length - xShape.length + i];
    if (d === undefined || d === 1) axes.push(i);
  }
  return axes;
}

/** tfjs gradient config for the `FusedBatchNorm` kernel (what `tf.batchNorm` runs), registered by `setupBackend`. */
export const fusedBatchNormGradConfig: tf.GradConfig = {
  kernelName: 'FusedBatchNorm',
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  gradFunc: (dy, saved, attrs) => {
    const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
    const [x, mean, variance, scale] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined];
    const g = dy as tf.Tensor;
    const axes = broadcastAxes(mean.shape, x.shape);
    const r = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
    const rs = scale == null ? r : tf.mul(r, scale);
    // The reductions every parameter's gradient needs (the tape asks for dx only when mean, variance, scale and offset are
    // all constants, which training never does).
    const sumDy = tf.reshape(tf.sum(g, axes), mean.shape);
    const sumDyXc = tf.reshape(tf.sum(tf.mul(g, tf.sub(x, mean)), axes), mean.shape);
    return {
      x: () => tf.mul(g, rs),
      mean: () => tf.neg(tf.mul(rs, sumDy)),
      variance: () => tf.mul(tf.mul(tf.mul(rs, tf.square(r)), tf.scalar(-0.5)), sumDyXc),
      scale: () => tf.mul(r, sumDyXc),
      offset: () => sumDy,
    };
  },
};

let stockGradient: tf.GradConfig | undefined;

const ours = () => tf.getGradient('FusedBatchNorm') === fusedBatchNormGradConfig && tf.getGradient('Mean') === meanGradConfig;

/**
 * Makes this package's `FusedBatchNorm` and `Mean` gradients the registered ones (global to all backends) and returns
 * their labels. Importing tfjs-layers (or the tfjs union package) registers tfjs' gradients again, so `setupBackend`
 * calls this, and on wasm and cpu so does every forward `FusedBatchNorm` (and wasm `Mean`; see `keepingGradient`).
 */
export function registerGradientFixes(): string[] {
  const current = tf.getGradient('FusedBatchNorm');
  if (current !== fusedBatchNormGradConfig) {
    if (current) stockGradient = current;
    tf.registerGradient(fusedBatchNormGradConfig);
  }
  if (tf.getGradient('Mean') !== meanGradConfig) tf.registerGradient(meanGradConfig);
  if (tf.getGradient(BATCH_NORM_TRAINING) !== batchNormTrainingGradConfig) tf.registerGradient(batchNormTrainingGradConfig);
  return ['FusedBatchNorm (gradient)', 'Mean (gradient)', `${BATCH_NORM_TRAINING} (gradient)`];
}

/**
 * Wraps a backend's forward kernel so that each call first makes sure this package's gradients are registered: the
 * engine looks the gradient up when it records the kernel, so the tape records ours whatever was imported since.
 */
export function keepingGradient(stockKernel: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    if (!ours()) registerGradientFixes();
    return stockKernel(args);
  };
}

/** The gradient tfjs had registered for `FusedBatchNorm` before this package replaced it (for tests and benchmarks). */
export function stockFusedBatchNormGradient(): tf.GradConfig | undefined {
  return stockGradient;
}
