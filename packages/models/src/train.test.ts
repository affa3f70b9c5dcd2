// Training smoke test on real Severstal crops: a UNet-ResNet18 fits one batch (loss goes down) on wasm, and on cpu (slow).
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { createModel } from './index.ts';
import { SHARED_DATA, sharedData } from '../../../tooling/vitest/shared-data.ts';

const DATA = join(SHARED_DATA, 'severstal-sample');
const hasData = sharedData('severstal-sample/labels', 'The training smoke test of @steel/models').present;

/** A crop of a training image (grey, scaled to [0, 1]) and its 4-class one-hot mask from the label map. */
async function crop(id: string, top: number, left: number, height: number, width: number) {
  const region = { top, left, height, width };
  const image = await sharp(join(DATA, 'train_images', `${id}.jpg`)).extract(region).extractChannel(0).raw().toBuffer();
  const labels = await sharp(join(DATA, 'labels', `${id}_P.png`)).extract(region).extractChannel(0).raw().toBuffer();
  const x = Float32Array.from(image, (v) => v / 255);
  const y = new Float32Array(height * width * 4);
  labels.forEach((label, i) => {
    if (label > 0) y[i * 4 + label - 1] = 1; // channel = ClassId - 1
  });
  return { x, y };
}

async function trainSteps(steps: number, [h, w]: [number, number]): Promise<number[]> {
  const samples = [await crop('72aaba8ad', 160, 600, h, w), await crop('b2ad335bf', 160, 0, h, w)];
  const x = tf.tensor4d(Float32Array.from(samples.flatMap((s) => [...s.x])), [2, h, w, 1]);
  const y = tf.tensor4d(Float32Array.from(samples.flatMap((s) => [...s.y])), [2, h, w, 4]);
  expect(tf.tidy(() => tf.sum(y).dataSync()[0]!)).toBeGreaterThan(0.05 * 2 * h * w); // the crops hold defects
  const model = createModel({ architecture: 'unet', encoder: 'resnet18', inChannels: 1, classes: 4, seed: 1 });
  const optimizer = tf.train.adam(1e-3);
  const variables = model.trainableWeights.map((v) => v.read() as tf.Variable);
  const losses: number[] = [];
  try {
    for (let step = 0; step < steps; step++) {
      const loss = optimizer.minimize(
        () => tf.losses.sigmoidCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
        true,
        variables,
      )!;
      losses.push(loss.dataSync()[0]!);
      loss.dispose();
    }
  } finally {
    optimizer.dispose();
    model.dispose();
    tf.dispose([x, y]);
  }
  return losses;
}

describe.skipIf(!hasData)('UNet-ResNet18 trains on a real Severstal sample', () => {
  it('loss goes down on the test backend (wasm by default)', async () => {
    const losses = await trainSteps(6, [64, 128]);
    console.log(`${tf.getBackend()} losses`, losses.map((l) => l.toFixed(4)).join(' '));
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.8);
  });

  // The stock cpu Conv2DBackpropFilter takes ~85% of a step (~90 s per step at this size on 2 cores).
  it('loss goes down on cpu', { tags: ['slow'], timeout: 1_800_000 }, async () => {
    const previous = tf.getBackend();
    await tf.setBackend('cpu');
    try {
      const losses = await trainSteps(3, [32, 64]);
      console.log('cpu losses', losses.map((l) => l.toFixed(4)).join(' '));
      expect(losses.at(-1)!).toBeLessThan(losses[0]!);
    } finally {
      await tf.setBackend(previous);
    }
  });
});
