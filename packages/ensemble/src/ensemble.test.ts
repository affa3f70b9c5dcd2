import * as tf from '@tensorflow/tfjs-core';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { combineProbabilities, createEnsemble, createInputAdapter, normalizeWeights, type CombineMode } from './ensemble.ts';
import { isEnsembleError } from './errors.ts';
import { withTta } from './tta.ts';

/** Float64 reference of the combine modes, written from their definitions. */
function reference(members: number[][], weights: number[], mode: CombineMode): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  const w = weights.map((v) => v / total);
  return members[0]!.map((_, j) => {
    const p = members.map((m) => m[j]!);
    if (mode === 'mean') return p.reduce((s, v, i) => s + w[i]! * v, 0);
    if (mode === 'rms') return Math.sqrt(p.reduce((s, v, i) => s + w[i]! * v * v, 0));
    if (mode === 'geometric') return Math.exp(p.reduce((s, v, i) => s + w[i]! * Math.log(Math.max(v, 1e-7)), 0));
    return Math.max(...p.filter((_, i) => w[i]! > 0));
  });
}

const modes = fc.constantFrom<CombineMode>('mean', 'rms', 'geometric', 'max');
const members = fc.integer({ min: 1, max: 4 }).chain((m) =>
  fc.integer({ min: 1, max: 20 }).chain((n) =>
    fc.record({
      probs: fc.array(fc.array(fc.float({ min: 0, max: 1, noNaN: true }), { minLength: n, maxLength: n }), { minLength: m, maxLength: m }),
      weights: fc.array(fc.double({ min: 0, max: 5, noNaN: true }), { minLength: m, maxLength: m }).filter((w) => w.some((v) => v > 1e-3)),
    }),
  ),
);

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThanOrEqual(tol);
}

describe('combineProbabilities and createEnsemble', () => {
  test.prop([members, modes], { numRuns: 60 })('combine by the definition of each mode, on arrays and tensors', async ({ probs, weights }, mode) => {
    const want = reference(probs, weights, mode);
    expectClose(combineProbabilities(probs.map((p) => Float32Array.from(p)), { weights, mode }), want);
    const n = probs[0]!.length;
    const ensemble = createEnsemble(
      probs.map((p) => ({ predict: () => tf.tensor4d(p, [1, 1, n, 1]) })),
      { weights, mode },
    );
    const x = tf.zeros([1, 1, n, 1]) as tf.Tensor4D;
    const out = await ensemble(x);
    expectClose(await out.data(), want);
    tf.dispose([x, out]);
  });

  it('defaults to the plain mean', () => {
    expect(Array.from(combineProbabilities([new Float32Array([0, 1]), new Float32Array([1, 1])]))).toEqual([0.5, 1]);
  });

  it('feeds each member through its own input adapter (1 vs 3 channels, own normalisation)', async () => {
    // The grey member sees the channel mean; the colour member sees (x / 255 - 0.5) / 0.25 per channel.
    const x = tf.tensor4d([30, 60, 90, 255, 255, 255], [1, 1, 2, 3]);
    const seen: number[][] = [];
    const spy = (t: tf.Tensor4D): tf.Tensor4D => {
      seen.push([...t.shape, ...t.dataSync()]);
      return tf.tidy(() => tf.sigmoid(tf.mean(t, 3, true)) as tf.Tensor4D);
    };
    const ensemble = createEnsemble([
      { predict: spy, adapt: createInputAdapter({ channels: 1, scale: 1 / 255 }) },
      { predict: spy, adapt: createInputAdapter({ channels: 3, scale: 1 / 255, mean: 0.5, std: [0.25, 0.25, 0.25] }) },
    ]);
    const out = await ensemble(x);
    expect(seen[0]!.slice(0, 4)).toEqual([1, 1, 2, 1]);
    expectClose(seen[0]!.slice(4), [60 / 255, 1]);
    expect(seen[1]!.slice(0, 4)).toEqual([1, 1, 2, 3]);
    expectClose(seen[1]!.slice(4), [30, 60, 90, 255, 255, 255].map((v) => (v / 255 - 0.5) / 0.25));
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    expectClose(await out.data(), [0.5 * sig(60 / 255) + 0.5 * sig((60 / 255 - 0.5) / 0.25), 0.5 * sig(1) + 0.5 * sig(2)]);
    tf.dispose([x, out]);
  });

  it('repeats a grey batch for a 3-channel member', () => {
    const x = tf.tensor4d([0.25, 0.75], [1, 1, 2, 1]);
    const y = createInputAdapter({ channels: 3 })(x);
    expect(y.shape).toEqual([1, 1, 2, 3]);
    expect(Array.from(y.dataSync())).toEqual([0.25, 0.25, 0.25, 0.75, 0.75, 0.75]);
    tf.dispose([x, y]);
  });

  it('composes with TTA without leaking, and skips members of weight 0', async () => {
    let calls = 0;
    const never = (): tf.Tensor4D => {
      calls++;
      return tf.zeros([1, 2, 2, 1]);
    };
    const predict = withTta(createEnsemble([{ predict: (t) => tf.sigmoid(t) }, { predict: never }], { weights: [1, 0] }));
    const x = tf.tensor4d([0, 1, 2, 3], [1, 2, 2, 1]);
    const out = await predict(x);
    expectClose(await out.data(), [0, 1, 2, 3].map((v) => 1 / (1 + Math.exp(-v))));
    expect(calls).toBe(0);
    tf.dispose([x, out]);
  });

  it('rejects members whose outputs differ in shape, without leaking', async () => {
    const ensemble = createEnsemble([{ predict: () => tf.zeros([1, 2, 2, 4]) }, { predict: () => tf.zeros([1, 2, 2, 3]), name: 'fpn' }]);
    const x = tf.zeros([1, 2, 2, 1]) as tf.Tensor4D;
    await expect(ensemble(x)).rejects.toThrowErrorMatchingInlineSnapshot(`[EnsembleError: fpn: expected a prediction of shape [1, 2, 2, 4] like the members before it, got [1, 2, 2, 3].]`);
    x.dispose();
  });
});

describe('normalizeWeights', () => {
  it('normalises to sum 1', () => {
    expect(normalizeWeights([1, 3], 2)).toEqual([0.25, 0.75]);
    expect(normalizeWeights(undefined, 4)).toEqual([0.25, 0.25, 0.25, 0.25]);
  });
  it.each([
    { weights: [0.5], count: 2 },
    { weights: [0.5, -0.5], count: 2 },
    { weights: [0, 0], count: 2 },
    { weights: [0.5, Number.NaN], count: 2 },
    { weights: [0.5, Infinity], count: 2 },
  ])('rejects $weights for $count models with INVALID_WEIGHTS', ({ weights, count }) => {
    let error: unknown;
    try {
      normalizeWeights(weights, count);
    } catch (e) {
      error = e;
    }
    expect(isEnsembleError(error) && error.code).toBe('INVALID_WEIGHTS');
  });
  it('words its errors', () => {
    expect(() => normalizeWeights([0.5], 2)).toThrowErrorMatchingInlineSnapshot(`[EnsembleError: Expected 2 weights (one per model), got 1.]`);
    expect(() => normalizeWeights([0.5, -1], 2)).toThrowErrorMatchingInlineSnapshot(`[EnsembleError: weights[1]: expected a finite non-negative number, got -1.]`);
    expect(() => createEnsemble([{ predict: (t) => t }], { mode: 'median' as 'mean' })).toThrowErrorMatchingInlineSnapshot(`[EnsembleError: Unknown combine mode 'median'; expected one of mean, rms, geometric, max.]`);
  });
});
