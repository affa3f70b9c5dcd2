import * as tf from '@tensorflow/tfjs-core';
import type { CustomGradientFunc } from './validate.ts';
import { asFloat, checkInputs, perClassWeights } from './validate.ts';

/** Options of {@link bceWithLogitsLoss}. */
export interface BceOptions {
  /**
   * Weight of positive pixels, one number for all classes or one per class (the last axis), like `pos_weight` of
   * PyTorch's `BCEWithLogitsLoss`. Default 1.
   */
  posWeight?: number | readonly number[];
}

/**
 * Elementwise BCE with logits and per-class positive weights: pw·z·softplus(-x) + (1 - z)·softplus(x), which equals
 * PyTorch's (1 - z)·x + (1 + (pw - 1)·z)·(log1p(exp(-|x|)) + max(-x, 0)) and needs no subtraction of large terms.
 * The gradient is written out: (1 - z)·sigmoid(x) - pw·z·sigmoid(-x) for x, pw·softplus(-x) - softplus(x) for z.
 */
export function bceElementwise(z: tf.Tensor, x: tf.Tensor, posWeight: readonly number[] | undefined): tf.Tensor {
  const pw = (): tf.Tensor => (posWeight === undefined ? tf.scalar(1) : tf.tensor1d(posWeight as number[]));
  const op = tf.customGrad(((logits: tf.Tensor, target: tf.Tensor, save: tf.GradSaveFunc) => {
    save([logits, target]);
    const w = pw();
    const spPos = tf.add(tf.relu(logits), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
    const spNeg = tf.sub(spPos, logits);
    const value = tf.add(tf.mul(tf.mul(w, target), spNeg), tf.mul(tf.sub(1, target), spPos));
    return {
      value,
      gradFunc: (dy: tf.Tensor, [xs, zs]: tf.Tensor[]) => {
        const weight = pw();
        const dx = tf.sub(tf.mul(tf.sub(1, zs!), tf.sigmoid(xs!)), tf.mul(tf.mul(weight, zs!), tf.sigmoid(tf.neg(xs!))));
        const sp = tf.add(tf.relu(xs!), tf.log1p(tf.exp(tf.neg(tf.abs(xs!)))));
        const dz = tf.sub(tf.mul(weight, tf.sub(sp, xs!)), sp);
        return [tf.mul(dy, dx), tf.mul(dy, dz)];
      },
    };
  }) as unknown as CustomGradientFunc) as (logits: tf.Tensor, target: tf.Tensor) => tf.Tensor;
  return op(x, z);
}

/**
 * Returns the mean binary cross-entropy of sigmoid(yPredLogits) against yTrue, with optional per-class positive weights
 * (PyTorch's `BCEWithLogitsLoss(pos_weight=...)`). Finite in value and gradient for any finite logits.
 * Shapes: `[batch, height, width, classes]` for both; yTrue in [0, 1]. Returns a scalar.
 * @throws {LossesError} `SHAPE_MISMATCH` for different or non-rank-4 shapes; `INVALID_ARGUMENT` for a bad `posWeight`.
 * @example const loss = bceWithLogitsLoss(masks, logits, { posWeight: [2, 2, 1, 1.5] });
 */
export function bceWithLogitsLoss(yTrue: tf.Tensor, yPredLogits: tf.Tensor, options?: BceOptions): tf.Scalar {
  const classes = checkInputs('bceWithLogitsLoss', yTrue, yPredLogits);
  const posWeight = options?.posWeight === undefined ? undefined : perClassWeights('bceWithLogitsLoss', 'posWeight', options.posWeight, classes);
  return tf.tidy(() => tf.mean(bceElementwise(asFloat(yTrue), yPredLogits, posWeight)) as tf.Scalar);
}
