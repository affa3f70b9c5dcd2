// The threshold rule shared by every package: a pixel is a defect when p > t; exactly at t it is off.
import { describe, expect, it } from 'vitest';
import { repeatThresholdVector, THRESHOLD, THRESHOLD_VECTOR } from '../../../tooling/vitest/threshold-vector.ts';
import { createStepEvaluator } from './evaluate.ts';
import { postprocess, postprocessClass } from './postprocess.ts';
import { createTuner } from './tune.ts';

const { probabilities, mask } = THRESHOLD_VECTOR;
const width = probabilities.length;

describe('the threshold rule p > t (shared vector)', () => {
  it('postprocessClass and postprocess (4 interleaved classes)', () => {
    expect(Array.from(postprocessClass(probabilities, { height: 1, width }, { threshold: THRESHOLD, minArea: 0 }))).toEqual(mask);
    const long = repeatThresholdVector(4 * width);
    const rules = { classes: Array.from({ length: 4 }, () => ({ threshold: THRESHOLD, minArea: 0 })) };
    const masks = postprocess(long.probabilities, { height: 1, width, classes: 4 }, rules);
    masks.forEach((m, k) => expect(Array.from(m), `class ${k + 1}`).toEqual(Array.from({ length: width }, (_, i) => long.mask[i * 4 + k])));
  });

  it('the step evaluator scores the vector against its own mask at Dice 1', () => {
    const steps = createStepEvaluator({ height: 1, width, classes: 1, models: ['m'], threshold: THRESHOLD, postprocess: { classes: [{ threshold: THRESHOLD, minArea: 0 }] } });
    steps.add({ truth: Uint8Array.from(mask), raw: [Float32Array.from(probabilities)] });
    expect(steps.table().rows.map((r) => r.dice)).toEqual([[1], [1]]);
  });

  it('the tuner at that threshold finds Dice 1', () => {
    const tuner = createTuner({ height: 1, width, classes: 1, thresholds: [THRESHOLD] });
    tuner.add(Float32Array.from(probabilities), Uint8Array.from(mask));
    const result = tuner.search({ minAreas: [0] });
    expect(result.classScores).toEqual([1]);
    expect(result.classes[0]!.threshold).toBe(THRESHOLD);
  });
});
