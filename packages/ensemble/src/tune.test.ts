import { dice } from '@steel/metrics';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { parsePostprocessConfig } from './config.ts';
import { isEnsembleError } from './errors.ts';
import { postprocess } from './postprocess.ts';
import { createTuner } from './tune.ts';

/** Paints a rectangle of value v into channel k of an `[H, W, C]` map. */
function rect(a: Float32Array | Uint8Array, width: number, channels: number, k: number, top: number, left: number, h: number, w: number, v: number): void {
  for (let r = top; r < top + h; r++) for (let c = left; c < left + w; c++) a[(r * width + c) * channels + k] = v;
}

describe('createTuner', () => {
  it('finds the known optimum of a constructed case', () => {
    // Class 1 of every image: a 10x20 defect with probability 0.55 inside, a one-pixel halo at 0.45 around it (false
    // positives below 0.5), and a 8x10 = 80-pixel false blob at 0.95 far away. Only threshold 0.5 recovers the defect exactly
    // (0.6 loses it, 0.4 adds the halo), and only minArea 100 removes the blob while keeping the 200-pixel defect.
    // Class 2 is empty in the truth but has a 400-pixel blob at 0.95 in image 0, larger than every minArea and above every
    // threshold: only the gate 0.5 removes it (the classifier gives 0.2).
    const height = 40, width = 60, channels = 2;
    const tuner = createTuner({ height, width, classes: channels, thresholds: [0.3, 0.4, 0.5, 0.6, 0.7] });
    for (let i = 0; i < 3; i++) {
      const probs = new Float32Array(height * width * channels).fill(0.02);
      const truth = new Uint8Array(height * width * channels);
      rect(probs, width, channels, 0, 4 + i, 4, 12, 22, 0.45);
      rect(probs, width, channels, 0, 5 + i, 5, 10, 20, 0.55);
      rect(truth, width, channels, 0, 5 + i, 5, 10, 20, 1);
      rect(probs, width, channels, 0, 28, 40, 8, 10, 0.95);
      if (i === 0) rect(probs, width, channels, 1, 20, 30, 20, 20, 0.95);
      tuner.add(probs, truth, { classProbs: [0.9, i === 0 ? 0.2 : 0.1] });
    }
    const result = tuner.search({ minAreas: [0, 50, 100, 200, 300], gates: [0, 0.5] });
    expect(result.images).toBe(3);
    expect(result.classes[0]).toEqual({ threshold: 0.5, minArea: 100, topThreshold: 0, minMaskArea: 0, gate: 0 });
    expect(result.classScores[0]).toBe(1);
    expect(result.classes[1]).toEqual({ threshold: 0.3, minArea: 0, topThreshold: 0, minMaskArea: 0, gate: 0.5 });
    expect(result.candidates.filter((c) => c.classId === 2 && c.dice === 1).every((c) => c.gate === 0.5)).toBe(true);
    expect(result.score).toBe(1);
    // Every candidate is reported, best first within each class.
    expect(result.candidates).toHaveLength(2 * 5 * 5 * 2);
    expect(result.candidates[0]).toMatchObject({ classId: 1, threshold: 0.5, minArea: 100, dice: 1 });
    const halo = result.candidates.find((c) => c.classId === 1 && c.threshold === 0.4 && c.minArea === 100 && c.gate === 0)!;
    expect(halo.dice).toBeCloseTo((2 * 200) / (264 + 200), 12);
  });

  const sample = fc
    .record({ height: fc.integer({ min: 2, max: 10 }), width: fc.integer({ min: 2, max: 10 }), classes: fc.integer({ min: 1, max: 3 }), images: fc.integer({ min: 1, max: 4 }) })
    .chain((s) => {
      const n = s.height * s.width * s.classes;
      return fc.record({
        shape: fc.constant(s),
        data: fc.array(
          fc.record({
            probs: fc.array(fc.constantFrom(0.1, 0.35, 0.45, 0.55, 0.65, 0.8, 0.95), { minLength: n, maxLength: n }).map((a) => Float32Array.from(a)),
            truth: fc.array(fc.constantFrom(0, 0, 1), { minLength: n, maxLength: n }).map((a) => Uint8Array.from(a)),
            classProbs: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: s.classes, maxLength: s.classes }),
          }),
          { minLength: s.images, maxLength: s.images },
        ),
        connectivity: fc.constantFrom(4 as const, 8 as const),
      });
    });

  test.prop([sample], { numRuns: 40 })('scores every candidate exactly as post-processing + Dice of @steel/metrics would', ({ shape, data, connectivity }) => {
    const { height, width, classes: channels } = shape;
    const thresholds = [0.3, 0.5, 0.7];
    const tuner = createTuner({ height, width, classes: channels, thresholds, connectivity });
    for (const d of data) tuner.add(d.probs, d.truth, { classProbs: d.classProbs });
    const result = tuner.search({ minAreas: [0, 1, 3, 6], topThresholds: [0, 0.6, 0.9], minMaskAreas: [0, 4], gates: [0, 0.5] });
    const perClass = new Map<number, number>();
    for (const c of result.candidates) {
      const k = c.classId - 1;
      const rules = Array.from({ length: channels }, () => ({ threshold: 0.5 }));
      rules[k] = { threshold: c.threshold, minArea: c.minArea, topThreshold: c.topThreshold, minMaskArea: c.minMaskArea, gate: c.gate } as never;
      let sum = 0;
      for (const d of data) {
        const masks = postprocess(d.probs, shape, { classes: rules, connectivity }, { classProbs: d.classProbs });
        const t = Uint8Array.from({ length: height * width }, (_, i) => d.truth[i * channels + k]!);
        sum += dice(masks[k]!, t);
      }
      expect(c.dice).toBeCloseTo(sum / data.length, 12);
      perClass.set(c.classId, Math.max(perClass.get(c.classId) ?? -1, c.dice));
    }
    // The chosen rule of each class is its best candidate.
    for (let k = 0; k < channels; k++) expect(result.classScores[k]).toBe(perClass.get(k + 1));
  });

  it('round-trips through JSON and applies at prediction time', () => {
    const tuner = createTuner({ height: 4, width: 4, classes: 1, thresholds: [0.4, 0.6] });
    const probs = Float32Array.from({ length: 16 }, (_, i) => (i < 8 ? 0.5 : 0.1));
    tuner.add(probs, Uint8Array.from({ length: 16 }, (_, i) => (i < 8 ? 1 : 0)));
    const result = tuner.search({ minAreas: [0, 10] });
    const config = parsePostprocessConfig(JSON.stringify(result), { classes: 1 });
    expect(config).toEqual({ classes: result.classes, connectivity: 8 });
    expect(Array.from(postprocess(probs, { height: 4, width: 4, classes: 1 }, config)[0]!)).toEqual([...Array(8).fill(1), ...Array(8).fill(0)]);
  });

  it('rejects gates without class probabilities and a search before any image', () => {
    const tuner = createTuner({ height: 2, width: 2, classes: 1 });
    expect(() => tuner.search()).toThrow(/add\(\)/);
    tuner.add(new Float32Array(4), new Uint8Array(4));
    let error: unknown;
    try {
      tuner.search({ gates: [0, 0.5] });
    } catch (e) {
      error = e;
    }
    expect(isEnsembleError(error) && error.code).toBe('INVALID_ARGUMENT');
    expect(() => tuner.add(new Float32Array(5), new Uint8Array(4))).toThrow(/4 values, got 5/);
  });
});

describe('parsePostprocessConfig', () => {
  it('fills defaults', () => {
    expect(parsePostprocessConfig({ classes: [{ threshold: 0.5, minArea: 600 }] })).toEqual({
      classes: [{ threshold: 0.5, minArea: 600, topThreshold: 0, minMaskArea: 0, gate: 0 }],
      connectivity: 8,
    });
  });

  it('names every bad field', () => {
    let error: unknown;
    try {
      parsePostprocessConfig({ classes: [{ threshold: 0.5 }, { threshold: 2, minArea: -3 }, { treshold: 0.5 }], connectivity: 6 }, { classes: 4 });
    } catch (e) {
      error = e;
    }
    expect(isEnsembleError(error) && error.code).toBe('INVALID_CONFIG');
    expect(isEnsembleError(error) && error.issues.map((i) => i.path)).toEqual([
      'connectivity',
      'classes',
      'classes[1].threshold',
      'classes[1].minArea',
      'classes[2].treshold',
      'classes[2].threshold',
    ]);
    expect(() => parsePostprocessConfig({ classes: [{ threshold: 2, minArea: -3 }] })).toThrowErrorMatchingInlineSnapshot(`[EnsembleError: Invalid post-processing config: classes[0].threshold: expected a number in [0, 1), got 2; classes[0].minArea: expected a non-negative integer, got -3.]`);
    expect(() => parsePostprocessConfig('{ classes: ')).toThrow(/does not parse/);
  });
});
