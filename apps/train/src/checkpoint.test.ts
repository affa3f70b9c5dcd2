import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { createModel } from '@steel/models';
import { describe, expect, it } from 'vitest';
import { loadModelWeights, saveModelDir, type ModelIdentity } from './checkpoint.ts';
import { isAppError } from './errors.ts';
import { tempDir } from './test-helpers.ts';

describe('saved models', () => {
  it('round-trip, load with plain tfjs format files, and refuse another architecture', async () => {
    const identity: ModelIdentity = { architecture: 'unet', encoder: 'resnet18', inChannels: 1, classes: 4 };
    const a = createModel({ ...identity, architecture: 'unet', encoder: 'resnet18', seed: 1 });
    const b = createModel({ ...identity, architecture: 'unet', encoder: 'resnet18', seed: 2 });
    const dir = join(tempDir(), 'best');
    try {
      await saveModelDir(dir, a, identity);
      expect(existsSync(join(dir, 'model.json'))).toBe(true);
      expect(JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'))).toMatchObject({ format: 'layers-model' });
      loadModelWeights(b, dir, identity);
      const x = tf.randomUniform([1, 32, 64, 1], 0, 1, 'float32', 3);
      const [ya, yb] = [a.predict(x) as tf.Tensor, b.predict(x) as tf.Tensor];
      expect(Array.from(await yb.data())).toEqual(Array.from(await ya.data()));
      tf.dispose([x, ya, yb]);

      let error: unknown;
      try {
        loadModelWeights(b, dir, { ...identity, architecture: 'fpn', encoder: 'resnet34' });
      } catch (e) {
        error = e;
      }
      expect(isAppError(error) && error.code).toBe('CHECKPOINT');
      expect((error as Error).message).toContain(`The checkpoint in ${dir} holds a unet-resnet18 with 1 input channel(s) and 4 classes, but the model asked for is a fpn-resnet34`);
    } finally {
      a.dispose();
      b.dispose();
    }
  });
});
