import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { createModel, encodeSafetensors, toPytorchWeights } from '@steel/models';
import { describe, expect, it } from 'vitest';
import { isAppError } from './errors.ts';
import { applyPretrained } from './builders.ts';
import { tempDir } from './test-helpers.ts';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isAppError(error) ? `${error.code}: ${error.message}` : `not an AppError: ${String(error)}`;
  }
  return undefined;
}

describe('--pretrained', () => {
  it('loads torchvision encoder weights (the decoder keeps its own) and full-model weights', async () => {
    const source = createModel({ architecture: 'unet', encoder: 'resnet18', inChannels: 1, classes: 4, seed: 7 });
    const target = createModel({ architecture: 'unet', encoder: 'resnet18', inChannels: 1, classes: 4, seed: 0 });
    const dir = tempDir();
    try {
      const state = toPytorchWeights(source);
      const encoderOnly = new Map([...state].filter(([k]) => k.startsWith('encoder.')).map(([k, v]) => [k.slice('encoder.'.length), v]));
      writeFileSync(join(dir, 'resnet18.safetensors'), encodeSafetensors(encoderOnly));
      writeFileSync(join(dir, 'unet.safetensors'), encodeSafetensors(state));

      const decoderBefore = target.getLayer('decoder.blocks.0.conv1.0').getWeights()[0]!.dataSync().slice();
      const report = applyPretrained(target, join(dir, 'resnet18.safetensors'));
      expect(report.format).toBe('torchvision');
      expect(report.loaded).toContain('layer4.1.bn2.running_var');
      const stem = (m: typeof source) => m.getLayer('encoder.conv1').getWeights()[0]!.dataSync();
      expect(Array.from(stem(target))).toEqual(Array.from(stem(source)));
      expect(Array.from(target.getLayer('decoder.blocks.0.conv1.0').getWeights()[0]!.dataSync())).toEqual(Array.from(decoderBefore));

      expect(applyPretrained(target, join(dir, 'unet.safetensors')).format).toBe('segmentation-models');
      const x = tf.randomUniform([1, 32, 64, 1], 0, 1, 'float32', 3);
      const [ys, yt] = [source.predict(x) as tf.Tensor, target.predict(x) as tf.Tensor];
      expect(Array.from(await yt.data())).toEqual(Array.from(await ys.data()));
      tf.dispose([x, ys, yt]);
    } finally {
      source.dispose();
      target.dispose();
    }
  });

  it('names a missing file, and lists what does not fit another architecture', () => {
    const r34 = createModel({ architecture: 'unet', encoder: 'resnet34', inChannels: 1, classes: 4, seed: 1 });
    const r18 = createModel({ architecture: 'unet', encoder: 'resnet18', inChannels: 1, classes: 4, seed: 0 });
    const dir = tempDir();
    try {
      expect(codeOf(() => applyPretrained(r18, join(dir, 'nope.safetensors')))).toMatch(/^DATA_NOT_FOUND: Pretrained weights .*nope\.safetensors do not exist/);
      writeFileSync(join(dir, 'r34.safetensors'), encodeSafetensors(toPytorchWeights(r34)));
      const message = codeOf(() => applyPretrained(r18, join(dir, 'r34.safetensors')));
      expect(message).toMatch(/^CHECKPOINT: Pretrained weights .*r34\.safetensors do not fit the model/);
      expect(message).toContain('80 unexpected: encoder.layer1.2.conv1.weight');
      writeFileSync(join(dir, 'junk.safetensors'), 'not a safetensors file');
      expect(codeOf(() => applyPretrained(r18, join(dir, 'junk.safetensors')))).toMatch(/^CHECKPOINT: /);
    } finally {
      r34.dispose();
      r18.dispose();
    }
  });
});
