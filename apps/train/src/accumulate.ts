// Gradient accumulation: one optimizer update from the mean loss and gradients of several batches.
import * as tf from '@tensorflow/tfjs-core';

/**
 * Gradient accumulation: the mean loss and the mean gradients of `k` batches (one optimizer update of k batches equals
 * one of a batch k times larger, for a model without batch norm). `batch(a)` gives batch a's loss and gradients; `check`
 * sees each loss before anything is summed (it throws to stop).
 */
export async function accumulateGradients(
  k: number,
  batch: (a: number) => Promise<{ value: tf.Scalar; grads: tf.NamedTensorMap }> | { value: tf.Scalar; grads: tf.NamedTensorMap },
  check: (loss: number) => void = () => {},
): Promise<{ loss: number; grads: tf.NamedTensorMap }> {
  let sum: tf.NamedTensorMap | undefined;
  let loss = 0;
  try {
    for (let a = 0; a < k; a++) {
      const { value, grads } = await batch(a);
      const v = (await value.data())[0]!;
      value.dispose();
      try {
        check(v);
      } catch (error) {
        tf.dispose(Object.values(grads));
        throw error;
      }
      loss += v / k;
      if (sum === undefined) sum = grads;
      else {
        const prev: tf.NamedTensorMap = sum;
        sum = tf.tidy(() => Object.fromEntries(Object.keys(prev).map((key) => [key, tf.add(prev[key]!, grads[key]!)])));
        tf.dispose([...Object.values(prev), ...Object.values(grads)]);
      }
    }
  } catch (error) {
    if (sum) tf.dispose(Object.values(sum));
    throw error;
  }
  if (k === 1) return { loss, grads: sum! };
  const summed = sum!;
  const grads = tf.tidy(() => Object.fromEntries(Object.keys(summed).map((key) => [key, tf.div(summed[key]!, k)])));
  tf.dispose(Object.values(summed));
  return { loss, grads };
}
