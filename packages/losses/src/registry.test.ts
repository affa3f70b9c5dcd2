import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { bceWithLogitsLoss } from './bce.ts';
import { bceWeightedDiceLoss } from './combined.ts';
import { isLossesError } from './errors.ts';
import { createLoss, isLossName, losses, type LossName } from './registry.ts';

describe('losses registry', () => {
  it.each(Object.keys(losses) as LossName[])('%s returns a finite scalar', (name) => {
    tf.tidy(() => {
      const t = tf.tensor4d([1, 0, 0, 1, 1, 1, 0, 0], [1, 1, 2, 4]);
      const x = tf.tensor4d([2, -1, 0.5, 3, -2, 1, -1, 0], [1, 1, 2, 4]);
      const value = createLoss(name)(t, x);
      expect(value.shape).toEqual([]);
      expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    });
  });

  it('binds options', () => {
    tf.tidy(() => {
      const t = tf.tensor4d([1, 0, 0, 1], [1, 1, 1, 4]);
      const x = tf.tensor4d([2, -1, 0.5, 3], [1, 1, 1, 4]);
      const bound = createLoss('bce', { posWeight: [3, 1, 1, 2] })(t, x).dataSync()[0];
      expect(bound).toBe(bceWithLogitsLoss(t, x, { posWeight: [3, 1, 1, 2] }).dataSync()[0]);
      expect(createLoss('bce-weighted-dice')(t, x).dataSync()[0]).toBe(bceWeightedDiceLoss(t, x).dataSync()[0]);
    });
  });

  it('rejects unknown names, listing the valid ones', () => {
    expect(isLossName('dice')).toBe(true);
    expect(isLossName('toString')).toBe(false);
    let error: unknown;
    try {
      createLoss('dcie' as LossName);
    } catch (e) {
      error = e;
    }
    expect(isLossesError(error) && error.code).toBe('UNKNOWN_LOSS');
    expect((error as Error).message).toMatchInlineSnapshot(`"Unknown loss 'dcie'; expected one of bce, dice, weighted-dice, bce-weighted-dice, focal, jaccard, lovasz-hinge."`);
  });
});
