import * as tf from '@tensorflow/tfjs-core';
import { bceElementwise } from './bce.ts';
import { weightedDiceOptions, weightedDicePerPair, type WeightedDiceOptions } from './overlap.ts';
import { asFloat, checkInputs, checkNumber, perClassWeights } from './validate.ts';

/** Options of {@link bceWeightedDiceLoss}. */
export interface BceWeightedDiceOptions extends Omit<WeightedDiceOptions, 'perClass'> {
  /** Positive weight per class for the BCE term. Default [2, 2, 1, 1.5] (needs 4 classes). */
  posWeight?: number | readonly number[];
  /** Weight of the BCE term. Default 0.7. */
  bceWeight?: number;
  /** Weight of the weighted soft Dice term. Default 0.3. */
  diceWeight?: number;
}

/** The recipe's positive weights for Severstal classes 1-4. */
export const SEVERSTAL_POS_WEIGHT: readonly number[] = [2, 2, 1, 1.5];

/**
 * Returns the Severstal reference recipe's loss, averaged over classes: 0.7·BCE(pos_weight = [2, 2, 1, 1.5]) +
 * 0.3·weighted soft Dice (see {@link weightedDiceLoss}, one Dice per image and class).
 * Shapes: `[batch, height, width, classes]`; the default `posWeight` needs 4 classes.
 * @throws {LossesError} `SHAPE_MISMATCH`; `INVALID_ARGUMENT` for bad weights or a `posWeight` of the wrong length.
 * @example const loss = bceWeightedDiceLoss(masks, logits);
 */
export function bceWeightedDiceLoss(yTrue: tf.Tensor, yPredLogits: tf.Tensor, options?: BceWeightedDiceOptions): tf.Scalar {
  const name = 'bceWeightedDiceLoss';
  const classes = checkInputs(name, yTrue, yPredLogits);
  const posWeight = perClassWeights(name, 'posWeight', options?.posWeight ?? SEVERSTAL_POS_WEIGHT, classes);
  const bceWeight = checkNumber(name, 'bceWeight', options?.bceWeight, 0.7, 0);
  const diceWeight = checkNumber(name, 'diceWeight', options?.diceWeight, 0.3, 0);
  const dice = weightedDiceOptions(name, { ...options, perClass: true });
  return tf.tidy(() => {
    // Both terms are means over equally many elements per class, so the mean over classes of the per-class sums is the
    // sum of the two means.
    const bce = tf.mean(bceElementwise(asFloat(yTrue), yPredLogits, posWeight));
    const wd = tf.mean(weightedDicePerPair(yTrue, yPredLogits, dice));
    return tf.add(tf.mul(bce, bceWeight), tf.mul(wd, diceWeight)) as tf.Scalar;
  });
}
