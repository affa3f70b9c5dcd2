import * as tf from '@tensorflow/tfjs-core';
import type { CustomGradientFunc } from './validate.ts';
import { asFloat, checkInputs } from './validate.ts';

/** Options of {@link lovaszHingeLoss}. */
export interface LovaszOptions {
  /** One hinge per (image, class); false gives one per class over the whole batch. Default true. */
  perImage?: boolean;
}

/**
 * Returns the Lovász hinge loss (Berman, Triki, Blaschko 2018), a convex surrogate of 1 - IoU: per (image, class) the
 * hinge errors 1 - x·(2t - 1) are sorted in decreasing order and dotted (after ReLU) with the gradient of the Lovász
 * extension of the Jaccard loss; the mean over (image, class) pairs is returned. Shapes: `[batch, height, width, classes]`;
 * yTrue binary. Its gradient is written out (sorting has none in tfjs), so it trains on every backend.
 * @throws {LossesError} `SHAPE_MISMATCH`.
 */
export function lovaszHingeLoss(yTrue: tf.Tensor, yPredLogits: tf.Tensor, options?: LovaszOptions): tf.Scalar {
  checkInputs('lovaszHingeLoss', yTrue, yPredLogits);
  const perImage = options?.perImage ?? true;
  const [n, h, w, c] = yPredLogits.shape as [number, number, number, number];
  const rows = perImage ? n * c : c;
  const size = perImage ? h * w : n * h * w;
  // [N, H, W, C] <-> [rows, size]: per image and class, or per class.
  const order = perImage ? [0, 3, 1, 2] : [3, 0, 1, 2];
  const inverse = perImage ? [0, 2, 3, 1] : [1, 2, 3, 0];
  const toRows = (t: tf.Tensor): tf.Tensor2D => tf.reshape(tf.transpose(t, order), [rows, size]);
  const fromRows = (t: tf.Tensor): tf.Tensor =>
    tf.transpose(tf.reshape(t, perImage ? [n, c, h, w] : [c, n, h, w]), inverse);

  const op = tf.customGrad(((logits: tf.Tensor, target: tf.Tensor, save: tf.GradSaveFunc) => {
    const x = toRows(logits);
    const signs = tf.sub(tf.mul(toRows(target), 2), 1);
    const errors = tf.sub(1, tf.mul(x, signs));
    // Sort each row by decreasing error; flat indices address the [rows * size] vectors.
    const { indices } = tf.topk(errors, size, true);
    const offsets = tf.reshape(tf.range(0, rows * size, size, 'int32'), [rows, 1]);
    const flat = tf.reshape(tf.add(indices, offsets), [rows * size]);
    const gtSorted = tf.reshape(tf.gather(tf.reshape(toRows(target), [-1]), flat), [rows, size]);
    const errorsSorted = tf.reshape(tf.gather(tf.reshape(errors, [-1]), flat), [rows, size]);
    // Lovász extension gradient of the Jaccard loss: J_k = 1 - (gts - cumsum(gt)_k) / (gts + cumsum(1 - gt)_k), then
    // differences J_k - J_{k-1}. The denominator is >= 1 at every k.
    const gts = tf.sum(gtSorted, 1, true);
    const intersection = tf.sub(gts, tf.cumsum(gtSorted, 1));
    const union = tf.add(gts, tf.cumsum(tf.sub(1, gtSorted), 1));
    const jaccard = tf.sub(1, tf.div(intersection, union));
    const grad =
      size === 1 ? jaccard : tf.sub(jaccard, tf.concat([tf.zeros([rows, 1]), tf.slice(jaccard, [0, 0], [rows, size - 1])], 1));
    const value = tf.mean(tf.sum(tf.mul(tf.relu(errorsSorted), grad), 1));
    // d value / d x_i = -sign_i · [error_i > 0] · grad at the rank of i, / rows.
    const gradUnsorted = tf.reshape(tf.scatterND(tf.reshape(flat, [rows * size, 1]), tf.reshape(grad, [-1]), [rows * size]), [rows, size]);
    const dx = fromRows(tf.div(tf.mul(tf.mul(gradUnsorted, tf.step(errors)), tf.neg(signs)), rows));
    save([dx]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, [dLogits]: tf.Tensor[]) => [tf.mul(dy, dLogits!), tf.zerosLike(dLogits!)],
    };
  }) as unknown as CustomGradientFunc) as (logits: tf.Tensor, target: tf.Tensor) => tf.Scalar;

  return tf.tidy(() => op(yPredLogits, asFloat(yTrue)));
}
