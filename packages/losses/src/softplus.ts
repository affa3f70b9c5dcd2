import * as tf from '@tensorflow/tfjs-core';
import type { CustomGradientFunc } from './validate.ts';

// log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)): exact and finite for any finite x. Its gradient is written out
// (sigmoid(x)) because autodiff through max and |x| takes inconsistent one-sided slopes at x = 0.
let softplusOp: ((x: tf.Tensor) => tf.Tensor) | undefined;

/** Numerically stable softplus with a correct gradient everywhere. */
export function softplus(x: tf.Tensor): tf.Tensor {
  softplusOp ??= tf.customGrad(((input: tf.Tensor, save: tf.GradSaveFunc) => {
    save([input]);
    return {
      value: tf.add(tf.relu(input), tf.log1p(tf.exp(tf.neg(tf.abs(input))))),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, tf.sigmoid(saved[0]!)),
    };
  }) as unknown as CustomGradientFunc) as (x: tf.Tensor) => tf.Tensor;
  return softplusOp(x);
}
