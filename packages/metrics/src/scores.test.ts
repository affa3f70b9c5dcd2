import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { competitionDice, confusionCounts } from './confusion.ts';
import { isMetricsError } from './errors.ts';
import { accuracy, f1Score, fbetaScore, iouScore, precision, recall, specificity } from './scores.ts';
import type { ConfusionCounts } from './types.ts';

// Two images, two classes, counts chosen by hand. Pair (i, c) at i * 2 + c.
//   (0,0): tp 2 fp 1 fn 1 tn 6   (0,1): all empty, tn 10
//   (1,0): tp 0 fp 0 fn 4 tn 6   (1,1): tp 3 fp 0 fn 0 tn 7
const counts: ConfusionCounts = {
  images: 2,
  classes: 2,
  tp: Float64Array.from([2, 0, 0, 3]),
  fp: Float64Array.from([1, 0, 0, 0]),
  fn: Float64Array.from([1, 0, 4, 0]),
  tn: Float64Array.from([6, 10, 6, 7]),
};

describe('reductions on hand-computed counts', () => {
  it('micro pools everything', () => {
    // tp 5, fp 1, fn 5, tn 29
    expect(iouScore(counts)).toBeCloseTo(5 / 11, 12);
    expect(f1Score(counts, { reduction: 'micro' })).toBeCloseTo(10 / 16, 12);
    expect(precision(counts)).toBeCloseTo(5 / 6, 12);
    expect(recall(counts)).toBeCloseTo(5 / 10, 12);
    expect(specificity(counts)).toBeCloseTo(29 / 30, 12);
    expect(accuracy(counts)).toBeCloseTo(34 / 40, 12);
  });

  it('macro and per-class pool images per class', () => {
    // class 0: tp 2 fp 1 fn 5 → IoU 2/8; class 1: tp 3 fp 0 fn 0 → IoU 1
    expect(Array.from(iouScore(counts, { reduction: 'per-class' }))).toEqual([0.25, 1]);
    expect(iouScore(counts, { reduction: 'macro' })).toBeCloseTo(0.625, 12);
    expect(iouScore(counts, { reduction: 'weighted', classWeights: [3, 1] })).toBeCloseTo(0.75 * 0.25 + 0.25, 12);
  });

  it('imagewise reductions score images or pairs first; zeroDivision decides empty pairs', () => {
    // image 0: tp 2 fp 1 fn 1 → IoU 0.5; image 1: tp 3 fp 0 fn 4 → 3/7
    expect(iouScore(counts, { reduction: 'micro-imagewise' })).toBeCloseTo((0.5 + 3 / 7) / 2, 12);
    // pairs: 0.5, empty, 0, 1
    expect(Array.from(iouScore(counts, { reduction: 'none' }))).toEqual([0.5, 1, 0, 1]);
    expect(iouScore(counts, { reduction: 'macro-imagewise' })).toBeCloseTo(2.5 / 4, 12);
    expect(iouScore(counts, { reduction: 'macro-imagewise', zeroDivision: 0 })).toBeCloseTo(1.5 / 4, 12);
    expect(iouScore(counts, { reduction: 'weighted-imagewise', classWeights: [1, 3] })).toBeCloseTo(0.25 * 0.25 + 0.75 * 1, 12);
    expect(Number.isNaN(precision(counts, { reduction: 'none', zeroDivision: Number.NaN })[1])).toBe(true);
  });

  it('fbeta with beta 1 is f1; beta 2 weights recall', () => {
    expect(fbetaScore(counts, { beta: 1 })).toBeCloseTo(f1Score(counts), 12);
    // micro: (5 * 5) / (5 * 5 + 4 * 5 + 1)
    expect(fbetaScore(counts, { beta: 2 })).toBeCloseTo(25 / 46, 12);
  });

  it.each([
    { run: () => iouScore(counts, { reduction: 'weighted' }), message: /needs classWeights/ },
    { run: () => iouScore(counts, { reduction: 'weighted', classWeights: [1] }), message: /Expected 2 classWeights/ },
    { run: () => iouScore(counts, { reduction: 'weighted', classWeights: [1, -1] }), message: /classWeights\[1\]/ },
    { run: () => iouScore(counts, { reduction: 'mean' as 'micro' }), message: /Unknown reduction 'mean'/ },
    { run: () => fbetaScore(counts, { beta: -1 }), message: /beta/ },
  ])('throws INVALID_ARGUMENT: $message', ({ run, message }) => {
    expect(run).toThrow(message);
    try {
      run();
    } catch (error) {
      expect(isMetricsError(error) && error.code).toBe('INVALID_ARGUMENT');
    }
  });
});

const stack = fc
  .record({ b: fc.integer({ min: 1, max: 3 }), hw: fc.integer({ min: 1, max: 30 }), c: fc.integer({ min: 1, max: 4 }) })
  .chain(({ b, hw, c }) =>
    fc.record({
      shape: fc.constant([b, 1, hw, c]),
      pred: fc.uint8Array({ minLength: b * hw * c, maxLength: b * hw * c, max: 1 }),
      target: fc.uint8Array({ minLength: b * hw * c, maxLength: b * hw * c, max: 1 }),
    }),
  );

describe('properties', () => {
  test.prop([stack])('f1 macro-imagewise with zeroDivision 1 is the competition score', ({ shape, pred, target }) => {
    const c = confusionCounts(pred, target, { shape });
    expect(f1Score(c, { reduction: 'macro-imagewise' })).toBeCloseTo(competitionDice(pred, target, { shape }).score, 12);
  });

  test.prop([stack])('per pair, IoU = Dice / (2 - Dice) and every score is in [0, 1]', ({ shape, pred, target }) => {
    const c = confusionCounts(pred, target, { shape });
    const d = f1Score(c, { reduction: 'none' });
    const j = iouScore(c, { reduction: 'none' });
    d.forEach((v, k) => expect(j[k]).toBeCloseTo(v / (2 - v), 12));
    for (const score of [iouScore, f1Score, precision, recall, specificity, accuracy]) {
      for (const v of score(c, { reduction: 'none' })) {
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
      }
    }
  });
});
