import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { createModel } from '@steel/models';
import { describe, expect, it } from 'vitest';
import { checkpointProblem, findCheckpoint, loadModelWeights, saveModelDir, type ModelIdentity } from './checkpoint.ts';
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

/** A checkpoint folder with one 2-float weight and one 3-float optimizer slot; `short` truncates its weights.bin. */
function fakeCheckpoint(dir: string, short = false): void {
  mkdirSync(dir, { recursive: true });
  const spec = (n: number) => ({ specs: [{ name: 'w0', shape: [n], dtype: 'float32' }] });
  writeFileSync(join(dir, 'state.json'), '{"step":3}');
  writeFileSync(join(dir, 'weights.json'), JSON.stringify(spec(2)));
  writeFileSync(join(dir, 'weights.bin'), Buffer.alloc(short ? 5 : 8));
  writeFileSync(join(dir, 'optimizer.json'), JSON.stringify(spec(3)));
  writeFileSync(join(dir, 'optimizer.bin'), Buffer.alloc(12));
}

describe('finding the checkpoint to resume from', () => {
  it('uses a complete checkpoint, falls back to .old when the newer one is torn, and says so', () => {
    const dir = join(tempDir(), 'checkpoint');
    const lines: string[] = [];
    fakeCheckpoint(dir);
    expect(checkpointProblem(dir)).toBeUndefined();
    expect(findCheckpoint(dir, (l) => lines.push(l))).toBe(dir);
    expect(lines).toEqual([]);

    fakeCheckpoint(dir, true);
    fakeCheckpoint(`${dir}.old`);
    expect(checkpointProblem(dir)).toBe('has a weights.bin of 5 bytes where 8 were written');
    expect(findCheckpoint(dir, (l) => lines.push(l))).toBe(`${dir}.old`);
    expect(lines).toEqual([`The checkpoint in ${dir} has a weights.bin of 5 bytes where 8 were written (a crash interrupted its save); resuming from the previous one in ${dir}.old.`]);

    writeFileSync(join(`${dir}.old`, 'state.json'), '{"step":');
    let error: unknown;
    try {
      findCheckpoint(dir);
    } catch (e) {
      error = e;
    }
    expect(isAppError(error) && error.code).toBe('CHECKPOINT');
    expect((error as Error).message).toBe(
      `The checkpoint in ${dir} has a weights.bin of 5 bytes where 8 were written, and ${dir}.old has no readable state.json. Nothing complete is left to resume from; start a new run.`,
    );
  });
});
