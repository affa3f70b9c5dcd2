// The Usage block of README.md, kept compiling and running.
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';

it('runs the README usage', async () => {
  const unet = (x: tf.Tensor4D): tf.Tensor4D => tf.tidy(() => tf.sigmoid(tf.tile(tf.mean(x, 3, true), [1, 1, 1, 4])) as tf.Tensor4D);
  const fpn = unet;
  const batches = [{ imageIds: ['0000f269f.jpg'], images: tf.zeros([1, 256, 1600, 1]) as tf.Tensor4D }];
  const validation = [{ probs: new Float32Array(256 * 1600 * 4), truth: new Uint8Array(256 * 1600 * 4) }];
  const lines: string[] = [];
  const write = (line: string): void => void lines.push(line);
  // --- README usage ---
  const { createEnsemble, createInputAdapter, createTuner, parsePostprocessConfig, predictSubmission, withTta, writeSubmission } = await import('./index.ts');

  const predict = withTta(createEnsemble(
    [{ predict: unet }, { predict: fpn, adapt: createInputAdapter({ channels: 3 }) }],
    { weights: [0.5, 0.5] },
  ), { transforms: ['hflip', 'vflip'] });

  const tuner = createTuner({ height: 256, width: 1600, classes: 4 });
  for (const { probs, truth } of validation) tuner.add(probs, truth);
  const tuned = parsePostprocessConfig(JSON.stringify(tuner.search()));

  await writeSubmission(predictSubmission(batches, predict, {
    postprocess: tuned, onProgress: (p) => console.log(`${p.imagesPerSecond.toFixed(1)} images/s`),
  }), write);
  // --- end ---
  expect(lines).toHaveLength(5);
  expect(lines[0]).toBe('ImageId,EncodedPixels,ClassId');
});
