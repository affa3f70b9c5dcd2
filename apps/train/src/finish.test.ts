import { postprocess, type TuningResult } from '@steel/ensemble';
import { describe, expect, it } from 'vitest';
import { interleave, postprocessFromConfig, thresholdMask } from './finish.ts';
import { neverWorseThanEmpty } from './gating.ts';
import { scoreMasks } from './scoring.ts';
import { THRESHOLD, THRESHOLD_VECTOR } from '../../../tooling/vitest/threshold-vector.ts';

const rule = (threshold: number) => ({ threshold, minArea: 0, topThreshold: 0, minMaskArea: 0, gate: 0 });

describe('post-processing of a run', () => {
  it('switches off the classes whose tuned rule does not beat predicting nothing', () => {
    const tuned: TuningResult = {
      version: 1,
      classes: [rule(0.3), rule(0.4)],
      connectivity: 8,
      score: 0.7,
      classScores: [0.9, 0.5],
      images: 3,
      candidates: [],
    };
    const safe = neverWorseThanEmpty(tuned, [0.8, 0.6], { height: 2, width: 3 });
    expect(safe.classes[0]).toEqual(rule(0.3));
    expect(safe.classScores).toEqual([0.9, 0.6]);
    expect(safe.score).toBeCloseTo(0.75, 12);
    // Class 2 is off: even certain pixels give an empty mask.
    const probs = new Float32Array(2 * 3 * 2).fill(0.99);
    const masks = postprocess(probs, { height: 2, width: 3, classes: 2 }, safe);
    expect(Array.from(masks[0]!)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(Array.from(masks[1]!)).toEqual([0, 0, 0, 0, 0, 0]);
    // With a margin of one image in three, class 1's win of 0.1 is not enough either.
    const strict = neverWorseThanEmpty(tuned, [0.8, 0.6], { height: 2, width: 3 }, 1 / 3);
    expect(strict.classes.map((c) => c.minMaskArea)).toEqual([6, 6]);
    expect(strict.classScores).toEqual([0.8, 0.6]);
    expect(neverWorseThanEmpty(tuned, [0.8, 0.6], { height: 2, width: 3 }, 0.05).classes[0]).toEqual(rule(0.3));
  });

  it('builds the per-class rules of a config and scores masks with the competition Dice', () => {
    expect(postprocessFromConfig({ threshold: 0.5, minArea: [1, 2] }, 3).classes).toEqual([
      { threshold: 0.5, minArea: 1 },
      { threshold: 0.5, minArea: 2 },
      { threshold: 0.5, minArea: 0 },
    ]);
    const truth = interleave([Uint8Array.from([1, 1, 0, 0]), Uint8Array.from([0, 0, 0, 0])]);
    const pred = thresholdMask(Float32Array.from([0.9, 0, 0.1, 0, 0.9, 0, 0.1, 0]), 0.5);
    // Class 1: truth pixels {0, 1}, predicted {0, 2}: 2|A∩B| / (|A| + |B|) = 2 / 4; class 2: both empty = 1.
    const score = scoreMasks([pred], [truth], { height: 2, width: 2, classes: 2 });
    expect(score.perClass[0]).toBeCloseTo(0.5, 12);
    expect(score.perClass[1]).toBe(1);
  });
});

describe('the threshold rule p > t (shared vector)', () => {
  it('thresholdMask and the run\'s post-processing leave a pixel exactly at the threshold off', () => {
    const { probabilities, mask } = THRESHOLD_VECTOR;
    expect(Array.from(thresholdMask(Float32Array.from(probabilities), THRESHOLD))).toEqual(mask);
    const [fromConfig] = postprocess(probabilities, { height: 1, width: probabilities.length, classes: 1 }, postprocessFromConfig({ threshold: THRESHOLD, minArea: [0] }, 1));
    expect(Array.from(fromConfig!)).toEqual(mask);
  });
});
