import * as tf from '@tensorflow/tfjs-core';
import { model as functionalModel, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { recalibrateBatchNorm } from './batch-norm.ts';
import { createModel } from './create-model.ts';
import { isModelsError } from './errors.ts';

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};
const maxAbs = (a: ArrayLike<number>) => maxAbsDiff(a, new Float64Array(a.length));

describe('recalibrateBatchNorm', () => {
  it('with one batch, inference on that batch equals the training-mode forward pass', async () => {
    const model = createModel({ architecture: 'unet', encoder: 'resnet18', inChannels: 1, classes: 4, seed: 3 });
    // Grey images in [0.3, 0.5]: small activations, far from the initial moving variance of 1.
    const x = tf.randomUniform([2, 64, 64, 1], 0.3, 0.5, 'float32', 5) as tf.Tensor4D;
    try {
      const training = tf.tidy(() => (model.apply(x, { training: true }) as tf.Tensor).dataSync());
      const before = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
      expect(maxAbsDiff(before, training)).toBeGreaterThan(0.1 * maxAbs(training));
      expect(await recalibrateBatchNorm(model, [x])).toBe(1 + 8 * 2 + 3 + 5 * 2); // stem, 8 blocks x 2, 3 downsamples, 5 decoder blocks x 2
      const after = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
      // Training mode normalises with the batch variance; inference adds eps the same way, so they agree to rounding.
      expect(maxAbsDiff(after, training)).toBeLessThan(2e-3 * maxAbs(training));
      const bn = model.getLayer('encoder.bn1') as unknown as { momentum: number };
      expect(bn.momentum).toBe(0.9);
    } finally {
      x.dispose();
      model.dispose();
    }
  });

  it('sets the moving mean and variance to the average of the batch statistics (float64 reference)', async () => {
    const model = createModel({ architecture: 'fpn', encoder: 'resnet18', inChannels: 1, classes: 4, seed: 4 });
    const batches = [0, 1, 2].map((i) => tf.randomUniform([2, 32, 64, 1], 0, 0.2 + 0.3 * i, 'float32', 10 + i) as tf.Tensor4D);
    const conv1 = functionalModel({ inputs: model.inputs, outputs: model.getLayer('encoder.conv1').output as SymbolicTensor });
    try {
      const channels = 64;
      const mean = new Float64Array(channels);
      const variance = new Float64Array(channels);
      for (const x of batches) {
        const y = tf.tidy(() => (conv1.predict(x) as tf.Tensor).dataSync());
        const n = y.length / channels;
        for (let c = 0; c < channels; c++) {
          let s = 0;
          for (let i = c; i < y.length; i += channels) s += y[i]!;
          const m = s / n;
          let v = 0;
          for (let i = c; i < y.length; i += channels) v += (y[i]! - m) ** 2;
          mean[c]! += m / batches.length;
          variance[c]! += v / n / batches.length;
        }
      }
      await recalibrateBatchNorm(model, batches);
      const [, , movingMean, movingVariance] = model.getLayer('encoder.bn1').getWeights();
      const mm = movingMean!.dataSync();
      const mv = movingVariance!.dataSync();
      for (let c = 0; c < channels; c++) {
        expect(Math.abs(mm[c]! - mean[c]!)).toBeLessThan(1e-5 + 1e-4 * Math.abs(mean[c]!));
        expect(Math.abs(mv[c]! - variance[c]!)).toBeLessThan(1e-4 * variance[c]! + 1e-9);
      }
    } finally {
      tf.dispose(batches);
      model.dispose();
    }
  });

  it('refuses an empty set of batches and restores the momentum', async () => {
    const model = createModel({ architecture: 'unet', encoder: 'resnet18', inChannels: 1, classes: 2, seed: 1 });
    try {
      let error: unknown;
      await recalibrateBatchNorm(model, []).catch((e: unknown) => (error = e));
      expect(isModelsError(error) && error.code).toBe('INVALID_OPTION');
      expect((model.getLayer('encoder.bn1') as unknown as { momentum: number }).momentum).toBe(0.9);
    } finally {
      model.dispose();
    }
  });
});

describe('createModel headBias', () => {
  it('initialises the segmentation head bias (UNet and FPN) and rejects a non-finite value', () => {
    for (const architecture of ['unet', 'fpn'] as const) {
      const model = createModel({ architecture, encoder: 'resnet18', inChannels: 1, classes: 3, seed: 1, headBias: -3.9 });
      try {
        const bias = model.getLayer('segmentation_head.0').getWeights()[1]!.dataSync();
        expect(Array.from(bias)).toEqual([-3.9, -3.9, -3.9].map(Math.fround));
      } finally {
        model.dispose();
      }
    }
    let error: unknown;
    try {
      createModel({ architecture: 'unet', encoder: 'resnet18', headBias: Number.NaN });
    } catch (e) {
      error = e;
    }
    expect(isModelsError(error) && error.code).toBe('INVALID_OPTION');
  });
});
