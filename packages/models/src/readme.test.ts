// The README's Usage section, kept compiling (typecheck) and running (test:slow: a full 256x1600 forward on cpu).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
// ---- README Usage (begin) ----
import * as tf from '@tensorflow/tfjs-core';
import { loadLayersModel } from '@tensorflow/tfjs-layers';
import { createModel, loadPytorchWeights, registerSteelLayers } from '@steel/models';
import { createFileIOHandler } from '@steel/models/node';

async function usage(weightsPath: string, dir: string) {
  const model = createModel({ architecture: 'unet', encoder: 'resnet18', inChannels: 1, classes: 4, seed: 42 });
  loadPytorchWeights(model, new Uint8Array(await readFile(weightsPath))); // segmentation_models or torchvision names
  const logits = tf.tidy(() => model.predict(tf.zeros([1, 256, 1600, 1])) as tf.Tensor4D); // [1, 256, 1600, 4]
  await model.save(createFileIOHandler(dir)); // model.json + weights.bin, written atomically

  registerSteelLayers(); // once, before loading (in a browser: loadLayersModel('https://.../model.json'))
  const again = await loadLayersModel(createFileIOHandler(dir));
  // ---- README Usage (end) ----
  return { model, logits, again };
}

it('README usage runs', { tags: ['slow'] }, async () => {
  const { encodeSafetensors, toPytorchWeights } = await import('./index.ts');
  const dir = await mkdtemp(join(tmpdir(), 'steel-readme-'));
  try {
    const source = createModel({ architecture: 'unet', encoder: 'resnet18', inChannels: 1, classes: 4, seed: 7 });
    await writeFile(join(dir, 'unet.safetensors'), encodeSafetensors(toPytorchWeights(source)));
    source.dispose();
    const { model, logits, again } = await usage(join(dir, 'unet.safetensors'), join(dir, 'saved'));
    expect(logits.shape).toEqual([1, 256, 1600, 4]);
    expect(again.countParams()).toBe(model.countParams());
    tf.dispose([logits]);
    model.dispose();
    again.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
