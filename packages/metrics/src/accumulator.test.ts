import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { createDiceAccumulator, summarize } from './accumulator.ts';
import { competitionDice, confusionCounts } from './confusion.ts';
import { isMetricsError } from './errors.ts';
import { iouScore, precision } from './scores.ts';

// A random stack split into random batches.
const batches = fc
  .record({ images: fc.integer({ min: 1, max: 6 }), hw: fc.integer({ min: 1, max: 24 }), classes: fc.integer({ min: 1, max: 4 }), float: fc.boolean() })
  .chain(({ images, hw, classes, float }) =>
    fc.record({
      classes: fc.constant(classes),
      hw: fc.constant(hw),
      images: fc.constant(images),
      float: fc.constant(float),
      pred: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: images * hw * classes, maxLength: images * hw * classes }),
      target: fc.uint8Array({ minLength: images * hw * classes, maxLength: images * hw * classes, max: 1 }),
      cuts: fc.array(fc.integer({ min: 1, max: images }), { maxLength: 3 }),
    }),
  );

describe('createDiceAccumulator', () => {
  test.prop([batches])('batches added one by one equal the one-shot computation', ({ classes, hw, images, float, pred, target, cuts }) => {
    const p = float ? Float32Array.from(pred) : Uint8Array.from(pred, (v) => (v > 0.5 ? 1 : 0));
    const shape = [images, 1, hw, classes];
    const whole = confusionCounts(p, target, { shape });
    const acc = createDiceAccumulator({ classes });
    const bounds = [...new Set([0, ...cuts, images])].sort((a, b) => a - b);
    for (let k = 0; k + 1 < bounds.length; k++) {
      const [from, to] = [bounds[k]! * hw * classes, bounds[k + 1]! * hw * classes];
      acc.add(p.subarray(from, to), target.subarray(from, to), { shape: [bounds[k + 1]! - bounds[k]!, 1, hw, classes] });
    }
    expect(acc.images).toBe(images);
    expect(acc.counts()).toEqual(whole);
    const summary = acc.summary();
    const oneShot = competitionDice(p, target, { shape });
    expect(summary.dice).toBeCloseTo(oneShot.score, 12);
    summary.dicePerClass.forEach((d, c) => expect(d).toBeCloseTo(oneShot.perClass[c]!, 12));
    expect(summary.micro.iou).toBeCloseTo(iouScore(whole), 12);
    expect(summary.macro.precision).toBeCloseTo(precision(whole, { reduction: 'macro' }), 12);
  });

  it('adds single images without a shape, counts from elsewhere, and resets', () => {
    const acc = createDiceAccumulator({ classes: 2, threshold: 0.3 });
    acc.add(new Float32Array([0.4, 0, 0.2, 0.9]), new Uint8Array([1, 0, 0, 1])); // one image, 2 pixels x 2 classes
    acc.addCounts(confusionCounts(new Uint8Array([0, 0]), new Uint8Array([0, 1]), { shape: [1, 1, 1, 2] }));
    const s = acc.summary();
    expect(s.images).toBe(2);
    // pairs: (0,0) 1, (0,1) 1, (1,0) empty → 1, (1,1) 0
    expect(s.dicePerClass).toEqual([1, 0.5]);
    expect(s.dice).toBe(0.75);
    expect(s.perClass.recall).toEqual([1, 0.5]);
    expect(summarize(acc.counts())).toEqual(s);
    acc.reset();
    expect(acc.images).toBe(0);
  });

  it.each([
    { run: () => createDiceAccumulator({ classes: 0 }), code: 'INVALID_ARGUMENT' },
    { run: () => createDiceAccumulator({ classes: 4 }).add(new Uint8Array(16), new Uint8Array(16), { shape: [1, 2, 2, 3] }), code: 'SHAPE_MISMATCH' },
    { run: () => createDiceAccumulator({ classes: 4 }).add(new Uint8Array(6), new Uint8Array(6)), code: 'SHAPE_MISMATCH' },
    { run: () => createDiceAccumulator({ classes: 4 }).add(new Uint8Array(8), new Uint8Array(4)), code: 'SHAPE_MISMATCH' },
  ])('throws $code', ({ run, code }) => {
    let error: unknown;
    try {
      run();
    } catch (e) {
      error = e;
    }
    expect(isMetricsError(error) && error.code).toBe(code);
  });

  it('explains a class mismatch', () => {
    const acc = createDiceAccumulator({ classes: 4 });
    expect(() => acc.add(new Uint8Array(12), new Uint8Array(12), { shape: [1, 2, 2, 3] })).toThrowErrorMatchingInlineSnapshot(`[MetricsError: Expected 4 classes (the last axis), got shape [1, 2, 2, 3] with 3.]`);
  });
});
