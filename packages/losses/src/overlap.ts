import * as tf from '@tensorflow/tfjs-core';
import { asFloat, checkInputs, checkNumber } from './validate.ts';

/** Options of {@link diceLoss} and {@link jaccardLoss}. */
export interface OverlapOptions {
  /** Added to numerator and denominator; keeps empty classes defined (an empty prediction of an empty class scores 1). Default 1. */
  smooth?: number;
  /** Score each (image, class) pair and average, instead of pooling pixels over the batch per class. Default false. */
  perImage?: boolean;
}

const EPS = 1e-7;

/** Sums of p·t and p + t per class (axes 0-2) or per image and class (axes 1-2). */
function overlapSums(yTrue: tf.Tensor, logits: tf.Tensor, perImage: boolean): [tf.Tensor, tf.Tensor] {
  const p = tf.sigmoid(logits);
  const t = asFloat(yTrue);
  const axes = perImage ? [1, 2] : [0, 1, 2];
  return [tf.sum(tf.mul(p, t), axes), tf.add(tf.sum(p, axes), tf.sum(t, axes))];
}

/**
 * Returns the soft Dice loss 1 - mean over classes of (2Σp·t + smooth) / (Σp + Σt + smooth), p = sigmoid(yPredLogits),
 * sums over batch and pixels per class (or per image and class with `perImage`). Shapes: `[batch, height, width, classes]`.
 * @throws {LossesError} `SHAPE_MISMATCH`; `INVALID_ARGUMENT` for a negative `smooth`.
 * @example const loss = diceLoss(masks, logits, { smooth: 1 });
 */
export function diceLoss(yTrue: tf.Tensor, yPredLogits: tf.Tensor, options?: OverlapOptions): tf.Scalar {
  checkInputs('diceLoss', yTrue, yPredLogits);
  const smooth = checkNumber('diceLoss', 'smooth', options?.smooth, 1, 0);
  return tf.tidy(() => {
    const [intersection, cardinality] = overlapSums(yTrue, yPredLogits, options?.perImage ?? false);
    const score = tf.div(tf.add(tf.mul(intersection, 2), smooth), tf.maximum(tf.add(cardinality, smooth), EPS));
    return tf.sub(1, tf.mean(score)) as tf.Scalar;
  });
}

/**
 * Returns the soft Jaccard (IoU) loss 1 - mean over classes of (Σp·t + smooth) / (Σp + Σt - Σp·t + smooth),
 * p = sigmoid(yPredLogits), pooled like {@link diceLoss}. Shapes: `[batch, height, width, classes]`.
 * @throws {LossesError} `SHAPE_MISMATCH`; `INVALID_ARGUMENT` for a negative `smooth`.
 */
export function jaccardLoss(yTrue: tf.Tensor, yPredLogits: tf.Tensor, options?: OverlapOptions): tf.Scalar {
  checkInputs('jaccardLoss', yTrue, yPredLogits);
  const smooth = checkNumber('jaccardLoss', 'smooth', options?.smooth, 1, 0);
  return tf.tidy(() => {
    const [intersection, cardinality] = overlapSums(yTrue, yPredLogits, options?.perImage ?? false);
    const union = tf.sub(cardinality, intersection);
    const score = tf.div(tf.add(intersection, smooth), tf.maximum(tf.add(union, smooth), EPS));
    return tf.sub(1, tf.mean(score)) as tf.Scalar;
  });
}

/** Options of {@link weightedDiceLoss}. */
export interface WeightedDiceOptions {
  /** Weight of pixels where yTrue is 0. Default 0.2. */
  negativeWeight?: number;
  /** Weight of pixels where yTrue is 1. Default 0.8. */
  positiveWeight?: number;
  /** One Dice per (image, class) pair; false pools all classes of an image into one Dice. Default true. */
  perClass?: boolean;
}

/**
 * Per-pair weighted soft Dice of the Severstal reference recipe, without the final mean: [batch, classes] (or [batch]).
 * With w = wNeg + (wPos - wNeg)·t, p' = w·(2p - 1) and t' = w·(2t - 1) (both mapped to [-1, 1] and weighted),
 * Dice loss = 1 - 2Σp't' / (Σp'² + Σt'²). The denominator is at least Σt'² >= wNeg² per pixel, so never 0.
 */
export function weightedDicePerPair(yTrue: tf.Tensor, yPredLogits: tf.Tensor, options: Required<WeightedDiceOptions>): tf.Tensor {
  const t = asFloat(yTrue);
  const w = tf.add(tf.mul(t, options.positiveWeight - options.negativeWeight), options.negativeWeight);
  const p = tf.mul(w, tf.sub(tf.mul(tf.sigmoid(yPredLogits), 2), 1));
  const tm = tf.mul(w, tf.sub(tf.mul(t, 2), 1));
  const axes = options.perClass ? [1, 2] : [1, 2, 3];
  const intersection = tf.sum(tf.mul(p, tm), axes);
  const union = tf.add(tf.sum(tf.square(p), axes), tf.sum(tf.square(tm), axes));
  return tf.sub(1, tf.div(tf.mul(intersection, 2), union));
}

/** Validated options of the weighted Dice. */
export function weightedDiceOptions(loss: string, options: WeightedDiceOptions | undefined): Required<WeightedDiceOptions> {
  return {
    negativeWeight: checkNumber(loss, 'negativeWeight', options?.negativeWeight, 0.2, Number.MIN_VALUE),
    positiveWeight: checkNumber(loss, 'positiveWeight', options?.positiveWeight, 0.8, Number.MIN_VALUE),
    perClass: options?.perClass ?? true,
  };
}

/**
 * Returns the weighted soft Dice loss of the Severstal reference recipe: probabilities and targets mapped to [-1, 1]
 * and weighted 0.2 (negative pixels) / 0.8 (positive pixels), Dice = 1 - 2Σp't' / (Σp'² + Σt'²) per (image, class),
 * averaged. Shapes: `[batch, height, width, classes]`.
 * @throws {LossesError} `SHAPE_MISMATCH`; `INVALID_ARGUMENT` for non-positive weights.
 */
export function weightedDiceLoss(yTrue: tf.Tensor, yPredLogits: tf.Tensor, options?: WeightedDiceOptions): tf.Scalar {
  checkInputs('weightedDiceLoss', yTrue, yPredLogits);
  const resolved = weightedDiceOptions('weightedDiceLoss', options);
  return tf.tidy(() => tf.mean(weightedDicePerPair(yTrue, yPredLogits, resolved)) as tf.Scalar);
}
