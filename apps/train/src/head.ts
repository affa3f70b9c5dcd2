// The optional classification head: a second model output of per-class "this image holds the class" logits, trained with
// its own loss weight next to the segmentation loss, and read at inference for the empty-image gates of post-processing.
import * as tf from '@tensorflow/tfjs-core';
import type { TrainConfig } from './config.ts';

/** A model's outputs split into the segmentation logits `[B, H, W, C]` and, with a head, the class logits `[B, C]`. */
export function splitOutputs(out: tf.Tensor | tf.Tensor[]): { masks: tf.Tensor; classLogits: tf.Tensor | undefined } {
  if (!Array.isArray(out)) return { masks: out, classLogits: undefined };
  return { masks: out[0]!, classLogits: out[1] };
}

/**
 * Image-level labels `[B, C]` of a mask batch `[B, H, W, C]`: 1 where the class has any pixel in the image (or crop).
 */
export function presenceLabels(y: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => tf.cast(tf.greater(tf.max(y, [1, 2]), 0.5), 'float32') as tf.Tensor2D);
}

/**
 * The training objective: the segmentation loss of the mask logits, plus `classLossWeight` times the mean binary
 * cross-entropy of the class logits against {@link presenceLabels} when the model has a head.
 */
export function objective(
  lossFn: (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar,
  config: Pick<TrainConfig, 'classLossWeight'>,
  y: tf.Tensor,
  out: tf.Tensor | tf.Tensor[],
): tf.Scalar {
  return tf.tidy(() => {
    const { masks, classLogits } = splitOutputs(out);
    const seg = lossFn(y, masks);
    if (classLogits === undefined || config.classLossWeight === 0) return seg;
    // Stable BCE with logits: max(z, 0) - z * t + log(1 + exp(-|z|)).
    const z = classLogits;
    const t = presenceLabels(y);
    const bce = tf.mean(tf.add(tf.sub(tf.relu(z), tf.mul(z, t)), tf.log1p(tf.exp(tf.neg(tf.abs(z))))));
    return tf.add(seg, tf.mul(bce, config.classLossWeight)) as tf.Scalar;
  });
}
