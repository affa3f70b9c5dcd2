// The README's usage, kept compiling and running.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { expect, it } from 'vitest';
import { bceWeightedDiceLoss, createLoss, lovaszHingeLoss } from './index.ts';

it('README usage', () => {
  tf.tidy(() => {
    const masks = tf.tensor4d([1, 0, 0, 1, 0, 0, 1, 1], [1, 1, 2, 4]); // [batch, height, width, classes]
    const logits = tf.tensor4d([3, -2, 0.5, 1, -1, -4, 2, 0], [1, 1, 2, 4]);

    const loss = bceWeightedDiceLoss(masks, logits); // 0.7 BCE(pos_weight [2, 2, 1, 1.5]) + 0.3 weighted Dice
    const lovasz = lovaszHingeLoss(masks, logits);
    const focal = createLoss('focal', { gamma: 2 }); // pick by name, e.g. from a config file
    const grad = tf.grad((x: tf.Tensor) => focal(masks, x))(logits);

    expect(loss.shape).toEqual([]);
    expect(lovasz.dataSync()[0]).toBeGreaterThan(0);
    expect(grad.shape).toEqual([1, 1, 2, 4]);
  });
});
