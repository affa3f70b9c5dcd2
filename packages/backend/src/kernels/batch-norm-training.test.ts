import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // registers tfjs' gradient functions (Sum, Mul, Add)
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { setupBackend } from '../setup-backend.ts';
import { BATCH_NORM_TRAINING, batchNormTrainingGradConfig } from './batch-norm-training.ts';
import { dot, randomArray, relativeError, trainingBatchNormRef } from './reference.test-utils.ts';

const EPS = 1e-5;

/** The fused kernel through the engine: y, mean, variance. */
const fused = (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) =>
  tf.engine().runKernel(BATCH_NORM_TRAINING, { x, scale: gamma, offset: beta }, { varianceEpsilon: EPS }) as tf.Tensor[];

/** Mean and biased variance per channel in float64. */
function moments(x: Float32Array, C: number) {
  const N = x.length / C;
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  for (let i = 0; i < x.length; i++) mean[i % C] = mean[i % C]! + x[i]! / N;
  for (let i = 0; i < x.length; i++) variance[i % C] = variance[i % C]! + (x[i]! - mean[i % C]!) ** 2 / N;
  return { mean, variance };
}

// Shapes: channel counts that are multiples of 4 run the SIMD passes (one block of 64 rows, several, a short last one),
// others the JavaScript path; offsets make means large against the spread (the shifted sums must not cancel).
const bnCase = fc.record({
  shape: fc.constantFrom<number[]>([2, 3, 4, 8], [1, 9, 15, 4], [3, 7, 11, 16], [2, 4, 4, 3], [5, 6], [1, 1, 1, 4], [4, 32, 33, 12]),
  offset: fc.constantFrom(0, 30),
  seed: fc.integer({ min: 0, max: 2 ** 30 }),
});

describe('training-mode batch norm kernels on wasm (1 thread; 2 threads: wasm-threads.fixture.ts)', () => {
  test.prop([bnCase], { numRuns: 20 })('match a float64 reference: y, mean, variance, dx, dγ, dβ', async (k) => {
    await setupBackend({ backend: 'wasm', threads: 1 });
    const C = k.shape.at(-1)!;
    const n = k.shape.reduce((a, d) => a * d, 1);
    const x = randomArray(n, k.seed).map((v, i) => 2 * v + k.offset + (i % C));
    const gamma = randomArray(C, k.seed + 1);
    const beta = randomArray(C, k.seed + 2);
    const dy = randomArray(n, k.seed + 3);
    const ref = trainingBatchNormRef(x, gamma, dy, C, EPS);
    const { mean, variance } = moments(x, C);
    const yRef = Float64Array.from(x, (v, i) => ((v - mean[i % C]!) / Math.sqrt(variance[i % C]! + EPS)) * gamma[i % C]! + beta[i % C]!);
    const got = tf.tidy(() => {
      const [xt, g, b] = [tf.tensor(x, k.shape), tf.tensor(gamma), tf.tensor(beta)];
      const [y, m, v] = fused(xt, g, b);
      const f = (a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => tf.sum(tf.mul(fused(a, c, d)[0]!, tf.tensor(dy, k.shape)));
      const grads = tf.grads(f as (...t: tf.Tensor[]) => tf.Tensor)([xt, g, b]);
      return [y!, m!, v!, ...grads].map((t) => t.dataSync() as Float32Array);
    });
    const [y, m, v, dx, dg, db] = got;
    expect(relativeError(y!, yRef)).toBeLessThan(1e-5);
    expect(relativeError(m!, mean)).toBeLessThan(1e-6);
    expect(relativeError(v!, variance)).toBeLessThan(1e-5);
    expect(relativeError(dx!, ref.dx)).toBeLessThan(1e-4);
    expect(relativeError(dg!, ref.dGamma)).toBeLessThan(1e-5);
    expect(relativeError(db!, ref.dBeta)).toBeLessThan(1e-5);
  });

  it('passes gradients that reach the mean and variance outputs back to x (finite differences)', async () => {
    await setupBackend({ backend: 'wasm', threads: 1 });
    const shape = [2, 5, 6, 8];
    const C = 8;
    const n = 480;
    const x = randomArray(n, 61).map((v, i) => 3 * v + (i % C));
    const [gamma, beta] = [randomArray(C, 62), randomArray(C, 63)];
    const [dy, dm, dv] = [randomArray(n, 64), randomArray(C, 65), randomArray(C, 66)];
    const loss = (xt: tf.Tensor, g: tf.Tensor) => {
      const [y, m, v] = fused(xt, g, tf.tensor(beta));
      return tf.add(tf.add(tf.sum(tf.mul(y!, tf.tensor(dy, shape))), tf.sum(tf.mul(m!, tf.tensor(dm)))), tf.sum(tf.mul(v!, tf.tensor(dv))));
    };
    const got = tf.tidy(() => tf.grads(loss as (...t: tf.Tensor[]) => tf.Tensor)([tf.tensor(x, shape), tf.tensor(gamma)]).map((g) => g.dataSync() as Float32Array));
    const [vx, vg] = [randomArray(n, 67), randomArray(C, 68)];
    const h = 1e-2;
    const at = (t: number) =>
      tf.tidy(() => loss(tf.tensor(x.map((xv, i) => xv + t * vx[i]!), shape), tf.tensor(gamma.map((gv, i) => gv + t * vg[i]!))).dataSync()[0]!);
    const numeric = (at(h) - at(-h)) / (2 * h);
    const analytic = dot(got[0]!, vx) + dot(got[1]!, vg);
    expect(Math.abs(numeric - analytic) / Math.abs(analytic)).toBeLessThan(1e-2);
  });

  it('is registered with its gradient by setupBackend on wasm, not on cpu (cpu keeps the stock ops: an independent reference)', async () => {
    await setupBackend({ backend: 'wasm', threads: 1 });
    expect(tf.getKernel(BATCH_NORM_TRAINING, 'wasm')).toBeDefined();
    expect(tf.getGradient(BATCH_NORM_TRAINING)).toBe(batchNormTrainingGradConfig);
    expect(tf.getKernel(BATCH_NORM_TRAINING, 'cpu')).toBeUndefined();
  });

  it('names the tensor and the shapes it expected when scale does not match the channels', async () => {
    await setupBackend({ backend: 'wasm', threads: 1 });
    expect(() => tf.tidy(() => fused(tf.ones([2, 2, 3]), tf.ones([2]), tf.zeros([3])))).toThrow(/scale as 3 float32 values .* got float32\[2\]/);
  });
});
