import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { objective, presenceLabels } from './head.ts';

describe('classification head objective', () => {
  it('adds the weighted BCE of the class logits against image-level presence, in float64', async () => {
    // Two images of 2x2 pixels, 2 classes: image 0 holds class 2 only, image 1 holds class 1 only.
    const yData = [0, 0, 0, 1, 0, 0, 0, 0, /* image 1 */ 1, 0, 0, 0, 0, 0, 0, 0];
    const y = tf.tensor4d(yData, [2, 2, 2, 2]);
    const masks = tf.tensor4d(Array.from({ length: 16 }, (_, i) => (i % 5) - 2), [2, 2, 2, 2]);
    const logits = [1.5, -0.5, -2, 3];
    const cls = tf.tensor2d(logits, [2, 2]);
    const seg = (_t: tf.Tensor, p: tf.Tensor) => tf.mean(p) as tf.Scalar; // any segmentation loss
    const presence = presenceLabels(y);
    expect(Array.from(await presence.data())).toEqual([0, 1, 1, 0]);
    const labels = [0, 1, 1, 0];
    const bce = logits.reduce((s, z, i) => s - (labels[i]! * Math.log(1 / (1 + Math.exp(-z))) + (1 - labels[i]!) * Math.log(1 - 1 / (1 + Math.exp(-z)))), 0) / 4;
    const segMean = Array.from({ length: 16 }, (_, i) => (i % 5) - 2).reduce((a, b) => a + b, 0) / 16;
    const total = objective(seg, { classLossWeight: 0.3 }, y, [masks, cls]);
    expect((await total.data())[0]).toBeCloseTo(segMean + 0.3 * bce, 5);
    const plain = objective(seg, { classLossWeight: 0.3 }, y, masks);
    expect((await plain.data())[0]).toBeCloseTo(segMean, 6);
    tf.dispose([y, masks, cls, total, plain, presence]);
  });
});
