import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { createAdam } from '../adam.ts';
import { setupBackend } from '../setup-backend.ts';
import { ADAM_UPDATE, adamRunsOnHeap, type AdamUpdateAttrs } from './adam-update.ts';
import { randomArray } from './reference.test-utils.ts';

/** Adam's update in float64 (Kingma & Ba, Algorithm 1, with tfjs' placement of ε). */
function adamRef(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, a: AdamUpdateAttrs) {
  const n = w.length;
  const [ow, om, ov] = [new Float64Array(n), new Float64Array(n), new Float64Array(n)];
  for (let i = 0; i < n; i++) {
    om[i] = a.beta1 * m[i]! + (1 - a.beta1) * g[i]!;
    ov[i] = a.beta2 * v[i]! + (1 - a.beta2) * g[i]! * g[i]!;
    const mHat = om[i]! / (1 - a.accBeta1);
    const vHat = ov[i]! / (1 - a.accBeta2);
    ow[i] = w[i]! - (a.learningRate * mHat) / (Math.sqrt(vHat) + a.epsilon);
  }
  return [ow, om, ov];
}

/**
 * The worst error of `got` in units of the float32 rounding that its terms allow: 2⁻²³ of the largest change `want`
 * makes to `base` (the old value, the moments' terms), plus half an ulp of the result.
 */
function roundingErrors(got: ArrayLike<number>, want: ArrayLike<number>, base: ArrayLike<number> | null): number {
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]! - (base ? base[i]! : 0)));
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / (scale * 2 ** -23 + Math.abs(want[i]!) * 2 ** -24));
  return worst;
}

describe.each(['wasm', 'cpu'] as const)('SteelAdamUpdate on %s', (backend) => {
  it.each([1, 3, 4, 1027, 40_000])('matches the float64 update for %i elements (SIMD groups and the tail)', async (n) => {
    await setupBackend({ backend, threads: 1 });
    const w = randomArray(n, 1);
    const g = randomArray(n, 2).map((x) => x * 0.01);
    const m = randomArray(n, 3).map((x) => x * 0.001);
    const v = randomArray(n, 4).map((x) => x * x * 1e-4);
    const attrs: AdamUpdateAttrs = { learningRate: 3e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, accBeta1: 0.9 ** 3, accBeta2: 0.999 ** 3 };
    const inputs = { value: tf.tensor1d(w), gradient: tf.tensor1d(g), m: tf.tensor1d(m), v: tf.tensor1d(v) };
    const outs = tf.engine().runKernel(ADAM_UPDATE, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
    const want = adamRef(w, g, m, v, attrs);
    const got = outs.map((t) => ({ shape: t.shape, values: t.dataSync() }));
    tf.dispose([...outs, ...Object.values(inputs)]);
    got.forEach(({ shape, values }, k) => {
      expect(shape).toEqual([n]);
      // A handful of float32 roundings per element (the moments cancel, the step divides).
      expect(roundingErrors(values, want[k]!, k === 0 ? w : null)).toBeLessThan(16);
    });
  });

  it(backend === 'wasm' ? 'runs as WebAssembly SIMD on the heap' : 'runs its JavaScript loop', async () => {
    await setupBackend({ backend, threads: 1 });
    expect(adamRunsOnHeap(tf.backend())).toBe(backend === 'wasm');
  });

  it('rejects moments of another size', async () => {
    await setupBackend({ backend, threads: 1 });
    const [a, b] = [tf.zeros([4]), tf.zeros([5])];
    const attrs = { learningRate: 1, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, accBeta1: 0.9, accBeta2: 0.999 };
    expect(() => tf.engine().runKernel(ADAM_UPDATE, { value: a, gradient: a, m: b, v: a }, attrs)).toThrow(/float32 value, gradient and moments of one shape/);
    tf.dispose([a, b]);
  });
});

describe.each(['wasm', 'cpu'] as const)('createAdam on %s', (backend) => {
  it("gives tfjs' Adam results to the last bit over several steps, with the same optimizer weights", async () => {
    await setupBackend({ backend, threads: 1 });
    const shapes = [[3, 3, 2, 5], [7], [1]];
    const run = async (optimizer: tf.AdamOptimizer) => {
      const vars = shapes.map((s, k) => tf.tidy(() => tf.variable(tf.tensor(randomArray(s.reduce((a, d) => a * d, 1), 10 + k), s), true, `adam-${backend}-${k}-${Math.random()}`)));
      for (let step = 0; step < 4; step++) {
        // The last variable gets no gradient on odd steps (tfjs skips it but still creates its moments).
        const grads = vars.map((v, k) => ({ name: v.name, tensor: tf.tidy(() => tf.sin(tf.mul(v, step + k + 1))) }));
        optimizer.applyGradients(step % 2 ? grads.slice(0, 2) : grads);
        tf.dispose(grads.map((g) => g.tensor));
      }
      const values = vars.map((v) => Array.from(v.dataSync()));
      const weights = await optimizer.getWeights();
      const saved = weights.map((w) => ({ name: w.name.replace(/adam-\w+-\d-[\d.e-]+/, 'var'), values: Array.from(w.tensor.dataSync()) }));
      tf.dispose([...weights.slice(0, 1).map((w) => w.tensor), ...vars]);
      optimizer.dispose();
      return { values, saved };
    };
    const before = tf.memory().numTensors;
    const stock = await run(tf.train.adam(0.01));
    const ours = await run(createAdam(0.01));
    expect(ours).toEqual(stock);
    expect(tf.memory().numTensors).toBe(before);
  });
});
