// Contract tests every segmentation architecture runs (like segmentation_models' BaseModelTester).
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isModelsError } from '../src/index.ts';

/** Builds a model for the contract with the given channels and classes. */
export type CreateForContract = (options: { inChannels: number; classes: number }) => LayersModel;

/**
 * Output `[b, h, w, classes]` for several sizes, no leaked tensors, `dispose()` frees every weight, and bad input shapes
 * throw before any work. `slow` tags the suite for `test:slow` (big encoders).
 */
export function describeSegmentationModel(name: string, create: CreateForContract, { slow = false }: { slow?: boolean } = {}): void {
  describe(`${name} (segmentation model contract)`, { tags: slow ? ['slow'] : [] }, () => {
    const inChannels = 1;
    const classes = 3;
    let model: LayersModel;
    beforeAll(() => {
      model = create({ inChannels, classes });
    });
    afterAll(() => model.dispose());

    it.each([
      [2, 32, 64],
      [1, 64, 32],
    ])('maps [%i, %i, %i, 1] to logits [b, h, w, classes] without leaking', (b, h, w) => {
      const before = tf.memory().numTensors;
      const x = tf.randomUniform([b, h, w, inChannels], -1, 1, 'float32', 7);
      const y = model.predict(x) as tf.Tensor;
      expect(y.shape).toEqual([b, h, w, classes]);
      expect(y.dtype).toBe('float32');
      expect(Number.isFinite(tf.tidy(() => tf.sum(tf.abs(y)).dataSync()[0]!))).toBe(true);
      x.dispose();
      y.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });

    it('runs in training mode (batch statistics, dropout) with the same output shape', () => {
      const y = tf.tidy(() => model.apply(tf.randomUniform([2, 32, 32, inChannels], -1, 1, 'float32', 3), { training: true }) as tf.Tensor);
      expect(y.shape).toEqual([2, 32, 32, classes]);
      y.dispose();
    });

    it.each([
      { shape: [1, 50, 64, 1], why: 'height not a multiple of 32', nearest: '64x64' },
      { shape: [1, 64, 250, 1], why: 'width not a multiple of 32', nearest: '64x256' },
    ])('throws INVALID_SHAPE naming the nearest valid size for $why', ({ shape, nearest }) => {
      const x = tf.zeros(shape);
      try {
        expect(() => model.predict(x)).toThrow(nearest);
        try {
          model.predict(x);
        } catch (error) {
          expect(isModelsError(error) && error.code).toBe('INVALID_SHAPE');
        }
      } finally {
        x.dispose();
      }
    });

    it.each([
      { shape: [1, 64, 64, 3], why: 'wrong channel count' },
      { shape: [64, 64, 1], why: 'missing batch axis' },
    ])('throws on $why', ({ shape }) => {
      const x = tf.zeros(shape);
      try {
        expect(() => model.predict(x)).toThrow();
      } finally {
        x.dispose();
      }
    });

    it('dispose() releases every weight', () => {
      const before = tf.memory().numTensors;
      const other = create({ inChannels, classes });
      expect(tf.memory().numTensors).toBeGreaterThan(before);
      other.dispose();
      expect(tf.memory().numTensors).toBe(before);
      const x = tf.zeros([1, 32, 32, inChannels]);
      expect(() => other.predict(x)).toThrow();
      x.dispose();
    });
  });
}
