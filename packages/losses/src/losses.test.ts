import * as tf from '@tensorflow/tfjs-core';
// tfjs-core registers no gradients by itself (the tfjs union package and tfjs-layers do).
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { describe, expect, it } from 'vitest';
import {
  bceRef,
  focalRef,
  lovaszRef,
  numericGradient,
  overlapRef,
  randomCase,
  rng,
  weightedDiceRef,
  type Case,
} from './__fixtures__/reference.ts';
import { bceWithLogitsLoss } from './bce.ts';
import { bceWeightedDiceLoss } from './combined.ts';
import { isLossesError } from './errors.ts';
import { focalLoss } from './focal.ts';
import { lovaszHingeLoss } from './lovasz.ts';
import { diceLoss, jaccardLoss, weightedDiceLoss } from './overlap.ts';
import type { LossFn } from './registry.ts';

interface Subject {
  name: string;
  loss: LossFn;
  reference: (c: Case) => number;
}

const subjects: Subject[] = [
  { name: 'bce', loss: (t, x) => bceWithLogitsLoss(t, x), reference: (c) => bceRef(c) },
  {
    name: 'bce with posWeight',
    loss: (t, x) => bceWithLogitsLoss(t, x, { posWeight: [2, 2, 1, 1.5] }),
    reference: (c) => bceRef(c, [2, 2, 1, 1.5]),
  },
  { name: 'dice', loss: (t, x) => diceLoss(t, x), reference: (c) => overlapRef(c, 'dice') },
  {
    name: 'dice per image, smooth 0.5',
    loss: (t, x) => diceLoss(t, x, { perImage: true, smooth: 0.5 }),
    reference: (c) => overlapRef(c, 'dice', 0.5, true),
  },
  { name: 'jaccard', loss: (t, x) => jaccardLoss(t, x), reference: (c) => overlapRef(c, 'jaccard') },
  { name: 'weighted dice', loss: (t, x) => weightedDiceLoss(t, x), reference: (c) => weightedDiceRef(c) },
  {
    name: 'bce + weighted dice',
    loss: (t, x) => bceWeightedDiceLoss(t, x),
    reference: (c) => 0.7 * bceRef(c, [2, 2, 1, 1.5]) + 0.3 * weightedDiceRef(c),
  },
  { name: 'focal', loss: (t, x) => focalLoss(t, x), reference: (c) => focalRef(c) },
  {
    name: 'focal alpha off, gamma 1',
    loss: (t, x) => focalLoss(t, x, { alpha: null, gamma: 1 }),
    reference: (c) => focalRef(c, null, 1),
  },
  { name: 'lovasz hinge', loss: (t, x) => lovaszHingeLoss(t, x), reference: (c) => lovaszRef(c) },
  {
    name: 'lovasz hinge per class',
    loss: (t, x) => lovaszHingeLoss(t, x, { perImage: false }),
    reference: (c) => lovaszRef(c, false),
  },
];

/** Loss value and gradient with respect to the logits, through tfjs. */
function evaluate(loss: LossFn, c: Case): { value: number; grad: Float32Array } {
  return tf.tidy(() => {
    const yTrue = tf.tensor(Float32Array.from(c.z), c.shape);
    const logits = tf.tensor(Float32Array.from(c.x), c.shape);
    const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => loss(yTrue, x))(logits);
    return { value: value.dataSync()[0]!, grad: grad.dataSync() as Float32Array };
  });
}

const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

describe.each(subjects)('$name', ({ loss, reference }) => {
  it('equals the float64 reference on random inputs', () => {
    for (const seed of [1, 2, 3]) {
      const c = randomCase(seed);
      const expected = reference(c);
      expect(evaluate(loss, c).value).toBeCloseTo(expected, 5);
    }
  });

  it('has the gradient of the float64 reference (central differences)', () => {
    for (const seed of [4, 5]) {
      const c = randomCase(seed, [2, 3, 4, 4], 3);
      const { grad } = evaluate(loss, c);
      const numeric = numericGradient((x) => reference({ ...c, x }), c.x);
      const scale = maxAbs(numeric);
      expect(scale).toBeGreaterThan(0);
      for (let k = 0; k < grad.length; k++) expect(Math.abs(grad[k]! - numeric[k]!)).toBeLessThan(2e-3 * scale + 1e-7);
    }
  });

  it('stays finite and exact for logits of ±100 in value and gradient', () => {
    const r = rng(9);
    const c = randomCase(7);
    // Magnitudes 50 to 100, all distinct (the Lovász hinge is not differentiable at ties).
    const x = c.x.map(() => (r() < 0.5 ? -1 : 1) * (50 + 50 * r()));
    x[0] = 100;
    x[1] = -100;
    const extreme = { ...c, x };
    const { value, grad } = evaluate(loss, extreme);
    expect(Number.isFinite(value)).toBe(true);
    expect(grad.every(Number.isFinite)).toBe(true);
    expect(value).toBeCloseTo(reference(extreme), 4);
    const numeric = numericGradient((v) => reference({ ...extreme, x: v }), x);
    const scale = Math.max(maxAbs(numeric), 1e-3);
    for (let k = 0; k < grad.length; k++) expect(Math.abs(grad[k]! - numeric[k]!)).toBeLessThan(2e-3 * scale + 1e-6);
  });

  it('accepts int32 and bool targets and leaves its inputs alive', () => {
    const c = randomCase(11);
    const logits = tf.tensor(Float32Array.from(c.x), c.shape);
    const asInt = tf.tensor(Int32Array.from(c.z), c.shape, 'int32');
    const asBool = tf.tensor(Uint8Array.from(c.z), c.shape, 'bool');
    const a = loss(asInt, logits);
    const b = loss(asBool, logits);
    expect(a.shape).toEqual([]);
    expect(a.dataSync()[0]).toBeCloseTo(reference(c), 5);
    expect(b.dataSync()[0]).toBeCloseTo(reference(c), 5);
    expect(logits.isDisposed || asInt.isDisposed || asBool.isDisposed).toBe(false);
    tf.dispose([a, b, logits, asInt, asBool]);
  });
});

describe('hand-computed values', () => {
  it('bce of zero logits is log 2 whatever the target', () => {
    const t = tf.tensor4d([1, 0, 1, 0], [1, 2, 2, 1]);
    const x = tf.zeros([1, 2, 2, 1]);
    const loss = bceWithLogitsLoss(t, x);
    expect(loss.dataSync()[0]).toBeCloseTo(Math.LN2, 6);
    tf.dispose([t, x, loss]);
  });

  it('dice and jaccard of a perfect confident prediction are 0; of the opposite, near 1', () => {
    const t = tf.tensor4d([1, 0, 1, 0], [1, 2, 2, 1]);
    const good = tf.tensor4d([100, -100, 100, -100], [1, 2, 2, 1]);
    const bad = tf.neg(good);
    const values = [diceLoss(t, good), jaccardLoss(t, good), diceLoss(t, bad, { smooth: 0 }), jaccardLoss(t, bad, { smooth: 0 })];
    const [d0, j0, d1, j1] = values.map((v) => v.dataSync()[0]!);
    expect(d0).toBeCloseTo(0, 6);
    expect(j0).toBeCloseTo(0, 6);
    expect(d1).toBeCloseTo(1, 6);
    expect(j1).toBeCloseTo(1, 6);
    tf.dispose([t, good, bad, ...values]);
  });

  it('weighted dice: one positive pixel at p = 1, three negatives at p = 0 give loss 0', () => {
    // p' = t' everywhere, so 2Σp't' / (Σp'² + Σt'²) = 1.
    const t = tf.tensor4d([1, 0, 0, 0], [1, 2, 2, 1]);
    const x = tf.tensor4d([100, -100, -100, -100], [1, 2, 2, 1]);
    const loss = weightedDiceLoss(t, x);
    expect(loss.dataSync()[0]).toBeCloseTo(0, 6);
    // All p = 0.5 → p' = 0 → loss 1.
    const half = tf.zeros([1, 2, 2, 1]);
    const loss2 = weightedDiceLoss(t, half);
    expect(loss2.dataSync()[0]).toBeCloseTo(1, 6);
    tf.dispose([t, x, loss, half, loss2]);
  });

  it('lovasz hinge of margins >= 1 everywhere is 0, and of zero logits is 1 per non-empty pair', () => {
    const t = tf.tensor4d([1, 0, 1, 0], [1, 2, 2, 1]);
    const x = tf.tensor4d([2, -3, 1.5, -1], [1, 2, 2, 1]);
    const zero = tf.zeros([1, 2, 2, 1]);
    const a = lovaszHingeLoss(t, x);
    const b = lovaszHingeLoss(t, zero);
    expect(a.dataSync()[0]).toBeCloseTo(0, 6);
    // All errors are 1; the Lovász extension sums to the Jaccard loss of predicting everything wrong: 1.
    expect(b.dataSync()[0]).toBeCloseTo(1, 6);
    tf.dispose([t, x, zero, a, b]);
  });
});

describe('errors', () => {
  const t = () => tf.zeros([1, 2, 2, 4]);
  it.each([
    { name: 'shape mismatch', run: () => bceWithLogitsLoss(t(), tf.zeros([1, 2, 2, 3])), code: 'SHAPE_MISMATCH' },
    { name: 'rank 2', run: () => diceLoss(tf.zeros([2, 4]), tf.zeros([2, 4])), code: 'SHAPE_MISMATCH' },
    { name: 'posWeight length', run: () => bceWithLogitsLoss(t(), t(), { posWeight: [1, 2] }), code: 'INVALID_ARGUMENT' },
    { name: 'negative smooth', run: () => jaccardLoss(t(), t(), { smooth: -1 }), code: 'INVALID_ARGUMENT' },
    { name: 'alpha above 1', run: () => focalLoss(t(), t(), { alpha: 2 }), code: 'INVALID_ARGUMENT' },
    { name: 'recipe on 3 classes', run: () => bceWeightedDiceLoss(tf.zeros([1, 2, 2, 3]), tf.zeros([1, 2, 2, 3])), code: 'INVALID_ARGUMENT' },
  ])('$name throws $code', ({ run, code }) => {
    let error: unknown;
    tf.tidy(() => {
      try {
        run();
      } catch (e) {
        error = e;
      }
    });
    expect(isLossesError(error) && error.code).toBe(code);
  });

  it('names both shapes on a mismatch', () => {
    tf.tidy(() => {
      expect(() => bceWithLogitsLoss(tf.zeros([1, 2, 2, 4]), tf.zeros([1, 2, 2, 3]))).toThrowErrorMatchingInlineSnapshot(`[LossesError: bceWithLogitsLoss: expected yTrue and yPredLogits of the same shape, got [1, 2, 2, 4] and [1, 2, 2, 3].]`);
      expect(() => bceWeightedDiceLoss(tf.zeros([1, 2, 2, 3]), tf.zeros([1, 2, 2, 3]))).toThrowErrorMatchingInlineSnapshot(`[LossesError: bceWeightedDiceLoss: expected posWeight to have one entry per class (3), got 4: [2, 2, 1, 1.5].]`);
    });
  });
});
