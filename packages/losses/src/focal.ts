import * as tf from '@tensorflow/tfjs-core';
import { bceElementwise } from './bce.ts';
import { softplus } from './softplus.ts';
import { LossesError } from './errors.ts';
import { asFloat, checkInputs, checkNumber } from './validate.ts';

/** Options of {@link focalLoss}. */
export interface FocalOptions {
  /** Weight of positive pixels (negatives get 1 - alpha); null turns the weighting off. Default 0.25. */
  alpha?: number | null;
  /** Focusing exponent; 0 gives plain BCE. Default 2. */
  gamma?: number;
}

/**
 * Returns the mean sigmoid focal loss (Lin et al. 2017, as torchvision's `sigmoid_focal_loss`):
 * alpha_t·(1 - p_t)^gamma·BCE, p_t = the probability given to the true label. (1 - p_t)^gamma is computed as
 * exp(-gamma·softplus(-s)) with s = (1 - 2z)·x, exact for binary targets and finite in value and gradient for any logits.
 * Shapes: `[batch, height, width, classes]`; yTrue binary.
 * @throws {LossesError} `SHAPE_MISMATCH`; `INVALID_ARGUMENT` for alpha outside [0, 1] or a negative gamma.
 */
export function focalLoss(yTrue: tf.Tensor, yPredLogits: tf.Tensor, options?: FocalOptions): tf.Scalar {
  checkInputs('focalLoss', yTrue, yPredLogits);
  const gamma = checkNumber('focalLoss', 'gamma', options?.gamma, 2, 0);
  const alpha = options?.alpha === null ? null : checkNumber('focalLoss', 'alpha', options?.alpha, 0.25, 0, 1);
  if (options !== undefined && typeof options !== 'object') {
    throw new LossesError('INVALID_ARGUMENT', `focalLoss: expected options to be an object, got ${typeof options}.`);
  }
  return tf.tidy(() => {
    const z = asFloat(yTrue);
    let loss = bceElementwise(z, yPredLogits, undefined);
    if (gamma !== 0) {
      const s = tf.mul(tf.sub(1, tf.mul(z, 2)), yPredLogits);
      loss = tf.mul(loss, tf.exp(tf.mul(softplus(tf.neg(s)), -gamma)));
    }
    if (alpha !== null) loss = tf.mul(loss, tf.add(tf.mul(z, 2 * alpha - 1), 1 - alpha));
    return tf.mean(loss) as tf.Scalar;
  });
}
