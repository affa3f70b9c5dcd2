import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { competitionDice, confusionCounts, dice, iou } from './confusion.ts';
import { isMetricsError, MetricsError } from './errors.ts';
import type { MaskData } from './types.ts';
import { repeatThresholdVector, THRESHOLD, THRESHOLD_VECTOR } from '../../../tooling/vitest/threshold-vector.ts';

// Independent reference: one pixel at a time, class by class, as the competition's numpy code reads.
function reference(pred: ArrayLike<number>, target: ArrayLike<number>, shape: number[], threshold = 0.5, floats = [false, false]) {
  const [b, h, w, c] = shape as [number, number, number, number];
  const on = (v: number, isFloat: boolean) => (isFloat ? v > threshold : v !== 0);
  const out: { tp: number; fp: number; fn: number; tn: number; dice: number }[] = [];
  for (let img = 0; img < b; img++) {
    for (let cls = 0; cls < c; cls++) {
      let tp = 0;
      let fp = 0;
      let fn = 0;
      let tn = 0;
      for (let px = 0; px < h * w; px++) {
        const k = (img * h * w + px) * c + cls;
        const p = on(pred[k]!, floats[0]!);
        const t = on(target[k]!, floats[1]!);
        if (p && t) tp++;
        else if (p) fp++;
        else if (t) fn++;
        else tn++;
      }
      out.push({ tp, fp, fn, tn, dice: tp + fp + fn === 0 ? 1 : (2 * tp) / (2 * tp + fp + fn) });
    }
  }
  return out;
}

const u8 = (...v: number[]) => new Uint8Array(v);

describe('dice and iou of one pair', () => {
  it.each([
    { pred: [1, 1, 0, 0], target: [1, 0, 0, 0], dice: 2 / 3, iou: 1 / 2 },
    { pred: [0, 0, 0, 0], target: [0, 0, 0, 0], dice: 1, iou: 1 },
    { pred: [1, 0, 0, 0], target: [0, 0, 0, 0], dice: 0, iou: 0 },
    { pred: [0, 1, 1, 1], target: [0, 1, 1, 1], dice: 1, iou: 1 },
    { pred: [1, 1, 1, 0, 0], target: [0, 1, 1, 1, 1], dice: 4 / 7, iou: 2 / 5 },
  ])('$pred vs $target', ({ pred, target, dice: d, iou: j }) => {
    expect(dice(u8(...pred), u8(...target))).toBeCloseTo(d, 12);
    expect(iou(u8(...pred), u8(...target))).toBeCloseTo(j, 12);
  });

  it('thresholds probabilities at p > t (the shared vector: exactly at t is off) and treats any non-zero byte as positive', () => {
    const { probabilities, mask } = THRESHOLD_VECTOR;
    for (const Float of [Float32Array, Float64Array]) {
      const counts = confusionCounts(Float.from(probabilities), Uint8Array.from(mask), { shape: [probabilities.length, 1, 1, 1], threshold: THRESHOLD });
      expect(Array.from(counts.fp), Float.name).toEqual(mask.map(() => 0));
      expect(Array.from(counts.fn), Float.name).toEqual(mask.map(() => 0));
    }
    // Long enough for the vectorised kernel (16 values a vector, 4 classes interleaved).
    const long = repeatThresholdVector(16 * 4 * 8);
    const counts = confusionCounts(long.probabilities, long.mask, { shape: [1, 1, 128, 4], threshold: THRESHOLD });
    expect(Array.from(counts.fp)).toEqual([0, 0, 0, 0]);
    expect(Array.from(counts.fn)).toEqual([0, 0, 0, 0]);
    const probs = new Float32Array([0.1, 0.5, 0.7, 0.49]);
    expect(dice(probs, u8(0, 0, 255, 0))).toBe(1);
    expect(dice(probs, u8(0, 1, 1, 0), { threshold: 0.6 })).toBeCloseTo(2 / 3, 12);
    expect(dice(u8(0, 0, 0), u8(0, 0, 0))).toBe(1);
    expect(dice(new Uint8Array(0), new Uint8Array(0))).toBe(1);
  });

  it('throws SHAPE_MISMATCH with both lengths', () => {
    const error = (() => {
      try {
        dice(u8(1, 0), u8(1));
      } catch (e) {
        return e;
      }
    })();
    expect(isMetricsError(error) && error.code).toBe('SHAPE_MISMATCH');
    expect((error as Error).message).toMatchInlineSnapshot(
      `"Expected pred and target of the same length, got 2 (pred) and 1 (target)."`,
    );
  });

  it('throws INVALID_ARGUMENT for a bad threshold or array type', () => {
    expect(() => dice(u8(1), u8(1), { threshold: Number.NaN })).toThrow(MetricsError);
    expect(() => dice([1] as unknown as Uint8Array, u8(1))).toThrow(/Uint8Array/);
  });
});

// A binary mask pair of one random length, possibly with 0/255 bytes.
const maskPair = fc.integer({ min: 0, max: 200 }).chain((n) =>
  fc.tuple(
    fc.uint8Array({ minLength: n, maxLength: n, max: 1 }),
    fc.uint8Array({ minLength: n, maxLength: n, max: 1 }),
    fc.boolean(),
  ),
);

describe('properties of one pair', () => {
  test.prop([maskPair])('symmetric, in [0, 1], IoU = Dice / (2 - Dice)', ([a, b, scale]) => {
    if (scale) a = a.map((v) => v * 255);
    const d = dice(a, b);
    expect(dice(b, a)).toBe(d);
    expect(d).toBeGreaterThanOrEqual(0);
    expect(d).toBeLessThanOrEqual(1);
    expect(iou(a, b)).toBeCloseTo(d / (2 - d), 12);
  });

  test.prop([maskPair])('both empty gives 1, one empty and the other not gives 0', ([a]) => {
    const empty = new Uint8Array(a.length);
    expect(dice(empty, empty)).toBe(1);
    if (a.some((v) => v !== 0)) {
      expect(dice(a, empty)).toBe(0);
      expect(dice(empty, a)).toBe(0);
    }
  });

  test.prop([maskPair])('a mask with itself gives 1', ([a]) => {
    expect(dice(a, a)).toBe(1);
  });
});

// Random stacks of every supported type, any class count, including unaligned byte offsets (so both code paths run).
const stack = fc
  .record({
    b: fc.integer({ min: 1, max: 3 }),
    h: fc.integer({ min: 1, max: 9 }),
    w: fc.integer({ min: 1, max: 40 }),
    c: fc.integer({ min: 1, max: 5 }),
    predKind: fc.constantFrom('u8', 'u8-255', 'u8-offset', 'f32', 'f64', 'i32'),
    targetKind: fc.constantFrom('u8', 'u8-offset', 'f32', 'clamped'),
    threshold: fc.constantFrom(0.5, 0.3, 0.9),
    seed: fc.integer(),
  })
  .map(({ b, h, w, c, predKind, targetKind, threshold, seed }) => {
    const n = b * h * w * c;
    let s = seed >>> 0;
    const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const make = (kind: string): MaskData => {
      const density = rand();
      const values = Array.from({ length: n }, () => rand());
      switch (kind) {
        case 'u8':
          return Uint8Array.from(values, (v) => (v < density ? 1 : 0));
        case 'u8-255':
          return Uint8Array.from(values, (v) => (v < density ? 255 : 0));
        case 'u8-offset': {
          const buffer = new Uint8Array(n + 3);
          buffer.set(values.map((v) => (v < density ? 1 : 0)), 3);
          return buffer.subarray(3);
        }
        case 'clamped':
          return Uint8ClampedArray.from(values, (v) => (v < density ? 7 : 0));
        case 'i32':
          return Int32Array.from(values, (v) => (v < density ? -1 : 0));
        case 'f64':
          return Float64Array.from(values);
        default:
          return Float32Array.from(values);
      }
    };
    return { shape: [b, h, w, c], pred: make(predKind), target: make(targetKind), threshold };
  });

describe('confusionCounts and competitionDice', () => {
  it('matches hand-computed counts on a 1x2x2x2 stack', () => {
    // class 0: pred [1,1,0,0], target [1,0,1,0]; class 1: pred all 0, target all 0.
    const pred = u8(1, 0, 1, 0, 0, 0, 0, 0);
    const target = u8(1, 0, 0, 0, 1, 0, 0, 0);
    const counts = confusionCounts(pred, target, { shape: [1, 2, 2, 2] });
    expect(Array.from(counts.tp)).toEqual([1, 0]);
    expect(Array.from(counts.fp)).toEqual([1, 0]);
    expect(Array.from(counts.fn)).toEqual([1, 0]);
    expect(Array.from(counts.tn)).toEqual([1, 4]);
    const result = competitionDice(pred, target, { shape: [1, 2, 2, 2] });
    expect(result.perClass).toEqual([0.5, 1]);
    expect(result.score).toBe(0.75);
  });

  it('accepts [H, W, C] and [H, W] shapes', () => {
    const a = u8(1, 1, 0, 1, 0, 0);
    const b = u8(1, 0, 0, 1, 1, 0);
    expect(competitionDice(a, b, { shape: [2, 3] }).score).toBe(dice(a, b));
    expect(competitionDice(a, b, { shape: [1, 3, 2] }).perClass).toEqual([dice(u8(1, 0, 0), u8(1, 0, 1)), dice(u8(1, 1, 0), u8(0, 1, 0))]);
  });

  test.prop([stack], { numRuns: 300 })('equals the pixel-by-pixel reference for every input type', ({ shape, pred, target, threshold }) => {
    const floats = [pred instanceof Float32Array || pred instanceof Float64Array, target instanceof Float32Array];
    const expected = reference(pred, target, shape, threshold, floats);
    const counts = confusionCounts(pred, target, { shape, threshold });
    expect(Array.from(counts.tp)).toEqual(expected.map((e) => e.tp));
    expect(Array.from(counts.fp)).toEqual(expected.map((e) => e.fp));
    expect(Array.from(counts.fn)).toEqual(expected.map((e) => e.fn));
    expect(Array.from(counts.tn)).toEqual(expected.map((e) => e.tn));
    const result = competitionDice(pred, target, { shape, threshold });
    expect(result.score).toBeCloseTo(expected.reduce((s, e) => s + e.dice, 0) / expected.length, 12);
  });

  it('counts a full-size 256x1600x4 pair like the reference', () => {
    const n = 256 * 1600 * 4;
    const pred = new Float32Array(n).map((_, k) => ((k * 2654435761) % 1000) / 1000);
    const target = new Uint8Array(n).map((_, k) => ((k >> 9) % 3 === 0 ? 1 : 0));
    const expected = reference(pred, target, [1, 256, 1600, 4], 0.5, [true, false]);
    const counts = confusionCounts(pred, target, { shape: [1, 256, 1600, 4] });
    expect(Array.from(counts.tp)).toEqual(expected.map((e) => e.tp));
    expect(Array.from(counts.fn)).toEqual(expected.map((e) => e.fn));
  });

  it.each([
    { shape: [1, 2, 2, 4], length: 15, message: 'Expected 16 values for shape [1, 2, 2, 4], got 15.' },
    { shape: [2, 0, 2, 4], length: 0, message: /positive integers/ },
    { shape: [5], length: 5, message: /\[batch, height, width, classes\]/ },
  ])('throws SHAPE_MISMATCH for shape $shape and length $length', ({ shape, length, message }) => {
    const a = new Uint8Array(length);
    expect(() => confusionCounts(a, a, { shape })).toThrow(message);
    try {
      confusionCounts(a, a, { shape });
    } catch (error) {
      expect(isMetricsError(error) && error.code).toBe('SHAPE_MISMATCH');
    }
  });
});
