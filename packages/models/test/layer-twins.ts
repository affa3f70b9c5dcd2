// Helpers of the tests that compare @steel/models' layer subclasses with tfjs-layers' own layers.
import * as tf from '@tensorflow/tfjs-core';
import { loadLayersModel, type LayersModel } from '@tensorflow/tfjs-layers';
import { createMemoryIOHandler } from '../src/memory-io.ts';

/** The largest absolute difference of two arrays of equal length. */
export const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

/** Saves `model` to memory, loads it back as tfjs-layers reads it, and returns the largest difference of their outputs on `x`. */
export async function savedAndLoadedDiff(model: LayersModel, x: tf.Tensor): Promise<number> {
  const memory = createMemoryIOHandler();
  await model.save(memory);
  const loaded = await loadLayersModel(memory);
  try {
    const [a, b] = tf.tidy(() => [model.predict(x), loaded.predict(x)].map((t) => (t as tf.Tensor).dataSync()));
    return maxAbsDiff(a!, b!);
  } finally {
    loaded.dispose();
  }
}
