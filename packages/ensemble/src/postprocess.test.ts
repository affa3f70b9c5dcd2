import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { channel, floodFill, referencePostprocess } from './__fixtures__/reference.ts';
import { isEnsembleError } from './errors.ts';
import { listComponents, postprocess, postprocessClass, REFERENCE_MIN_AREAS, REFERENCE_POSTPROCESS, type ClassRule } from './postprocess.ts';

const level = fc.constantFrom(0.05, 0.3, 0.45, 0.5, 0.52, 0.55, 0.6, 0.75, 0.9, 0.99);

/** `[H, W, C]` probability maps with few distinct levels, so components of several sizes appear. */
const probMap = fc
  .record({ height: fc.integer({ min: 1, max: 14 }), width: fc.integer({ min: 1, max: 14 }), classes: fc.integer({ min: 1, max: 4 }) })
  .chain(({ height, width, classes: channels }) =>
    fc.record({
      height: fc.constant(height),
      width: fc.constant(width),
      channels: fc.constant(channels),
      probs: fc.array(level, { minLength: height * width * channels, maxLength: height * width * channels }).map((a) => Float32Array.from(a)),
      rules: fc.array(
        fc.record({
          threshold: fc.constantFrom(0.3, 0.5, 0.55),
          minArea: fc.integer({ min: 0, max: 8 }),
          topThreshold: fc.constantFrom(0, 0.6, 0.8, 0.95),
          minMaskArea: fc.integer({ min: 0, max: 12 }),
          gate: fc.constantFrom(0, 0.3, 0.6),
        }),
        { minLength: channels, maxLength: channels },
      ),
      classProbs: fc.option(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: channels, maxLength: channels }), { nil: undefined }),
      connectivity: fc.constantFrom(4 as const, 8 as const),
    }),
  );

describe('postprocess', () => {
  test.prop([probMap], { numRuns: 200 })('equals the pixel-by-pixel reference', ({ height, width, channels, probs, rules, classProbs, connectivity }) => {
    const masks = postprocess(probs, { height, width, classes: channels }, { classes: rules, connectivity }, classProbs ? { classProbs } : {});
    expect(masks).toHaveLength(channels);
    for (let k = 0; k < channels; k++) {
      const want = referencePostprocess(channel(probs, k, channels), height, width, rules[k]!, classProbs?.[k], connectivity);
      expect(masks[k]).toEqual(want);
      const one = postprocessClass(channel(probs, k, channels), { height, width }, rules[k]!, { connectivity, ...(classProbs ? { classProb: classProbs[k]! } : {}) });
      expect(one).toEqual(want);
    }
  });

  test.prop([probMap], { numRuns: 100 })('listComponents describes exactly the kept components', ({ height, width, channels, probs, rules, connectivity }) => {
    const list = listComponents(probs, { height, width, classes: channels }, { classes: rules, connectivity });
    const masks = postprocess(probs, { height, width, classes: channels }, { classes: rules, connectivity });
    for (let k = 0; k < channels; k++) {
      const { labels, count } = floodFill(masks[k]!, height, width, connectivity);
      const mine = list.filter((c) => c.classId === k + 1);
      expect(mine).toHaveLength(count);
      const p = channel(probs, k, channels);
      for (let label = 1; label <= count; label++) {
        let area = 0, top = height, left = width, bottom = -1, right = -1, max = -Infinity;
        for (let i = 0; i < labels.length; i++) {
          if (labels[i] !== label) continue;
          const r = Math.floor(i / width), c = i % width;
          area++;
          top = Math.min(top, r); bottom = Math.max(bottom, r); left = Math.min(left, c); right = Math.max(right, c);
          max = Math.max(max, p[i]!);
        }
        expect(mine[label - 1]).toEqual({ classId: k + 1, area, top, left, bottom, right, maxProb: max });
      }
    }
  });

  it('has the reference preset: threshold 0.5, minimum areas 600, 600, 900, 2000', () => {
    expect(REFERENCE_MIN_AREAS).toEqual([600, 600, 900, 2000]);
    expect(REFERENCE_POSTPROCESS.classes.map((r) => [r.threshold, r.minArea])).toEqual([[0.5, 600], [0.5, 600], [0.5, 900], [0.5, 2000]]);
    // A 600-pixel blob is removed for class 1 (area must exceed the minimum, as in the reference), a 601-pixel blob is kept.
    const probs = new Float32Array(40 * 40 * 4);
    for (let i = 0; i < 600; i++) probs[i * 4] = 0.9;
    for (let i = 0; i < 601; i++) probs[i * 4 + 1] = 0.9;
    const masks = postprocess(probs, { height: 40, width: 40, classes: 4 }, REFERENCE_POSTPROCESS);
    expect(masks.map((m) => m.reduce((a, b) => a + b, 0))).toEqual([0, 601, 0, 0]);
  });

  it.each([
    { probs: new Float32Array(11), rules: [{ threshold: 0.5 }], code: 'SHAPE_MISMATCH' },
    { probs: new Float32Array(12), rules: [{ threshold: 0.5 }, { threshold: 0.5 }], code: 'SHAPE_MISMATCH' },
    { probs: new Float32Array(12), rules: [{ threshold: 1.5 }], code: 'INVALID_ARGUMENT' },
    { probs: new Float32Array(12), rules: [{ threshold: 0.5, minArea: -1 }], code: 'INVALID_ARGUMENT' },
    { probs: new Float32Array(12), rules: [{ threshold: 0.5, minArea: 2.5 }], code: 'INVALID_ARGUMENT' },
    { probs: new Float32Array(12), rules: [{ threshold: 0.5, gate: 2 }], code: 'INVALID_ARGUMENT' },
  ] as { probs: Float32Array; rules: ClassRule[]; code: string }[])('rejects $rules with $code', ({ probs, rules, code }) => {
    let error: unknown;
    try {
      postprocess(probs, { height: 3, width: 4, classes: rules.length }, { classes: rules });
    } catch (e) {
      error = e;
    }
    expect(isEnsembleError(error) && error.code).toBe(code);
  });

  it('words its errors', () => {
    expect(() => postprocess(new Float32Array(12), { height: 3, width: 4, classes: 1 }, { classes: [{ threshold: 0.5, minArea: -1 }] })).toThrowErrorMatchingInlineSnapshot(`[EnsembleError: classes[0].minArea: expected a non-negative integer, got -1.]`);
    expect(() => postprocess(new Float32Array(24), { height: 3, width: 4, classes: 2 }, REFERENCE_POSTPROCESS)).toThrowErrorMatchingInlineSnapshot(`[EnsembleError: Expected one rule per channel (2), got 4 rules. Pass as many rules as the model has classes.]`);
  });
});
