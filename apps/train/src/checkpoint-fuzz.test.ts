// Fuzzing a model folder a user passes with --models or --resume: weights.json (any JSON, or a real one with values
// replaced) and the weight file (cut or replaced). The weights load, or an AppError CHECKPOINT names the folder's file.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { fc, test } from '@fast-check/vitest';
import { afterAll, beforeAll, expect } from 'vitest';
import { fuzzSuites, typedOnly } from '../../../tooling/vitest/fuzz.ts';
import { loadModelWeights, readIdentity, saveModelDir, type ModelIdentity } from './checkpoint.ts';
import { isAppError } from './errors.ts';
import { tempDir } from './test-helpers.ts';

const identity: ModelIdentity = { architecture: 'unet', encoder: 'resnet18', inChannels: 1, classes: 4 };
const root = tempDir();
const dir = join(root, 'best');
let model: tfl.LayersModel;
let manifest: Record<string, unknown>;
let weights: Uint8Array;
let weightFile = '';
beforeAll(async () => {
  model = tfl.sequential({ layers: [tfl.layers.dense({ units: 3, inputShape: [2] })] });
  await saveModelDir(dir, model, identity);
  manifest = JSON.parse(readFileSync(join(dir, 'weights.json'), 'utf8')) as Record<string, unknown>;
  weightFile = join(dir, String(manifest['file'] ?? 'weights.bin'));
  weights = new Uint8Array(readFileSync(weightFile));
});
afterAll(() => {
  model.dispose();
  rmSync(root, { recursive: true, force: true });
});

const damaged = (e: unknown) => isAppError(e) && e.code === 'CHECKPOINT' && e.message.includes(dir);

/** Sets the value at a path of keys and indexes (made of the manifest's own keys) to `value`. */
function replaced(json: unknown, path: readonly number[], value: unknown): unknown {
  if (path.length === 0 || json === null || typeof json !== 'object') return value;
  const copy = (Array.isArray(json) ? [...json] : { ...json }) as Record<string, unknown>;
  const keys = Object.keys(copy);
  if (keys.length === 0) return value;
  const key = keys[path[0]! % keys.length]!;
  copy[key] = replaced(copy[key], path.slice(1), value);
  return copy;
}

const manifestText = fc.oneof(
  fc.tuple(fc.array(fc.nat(), { maxLength: 5 }), fc.oneof(fc.jsonValue(), fc.constantFrom(-1, 0, 1.5, 'x', '../weights.bin', null))).map(([path, value]) => JSON.stringify(replaced(manifest, path, value))),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 30 }),
);
const weightBytes = fc.oneof(
  fc.constant(null),
  fc.nat({ max: 64 }).map((cut) => weights.slice(0, cut)),
  fc.uint8Array({ maxLength: 64 }),
);

fuzzSuites('fuzzing a model folder', (numRuns, suite) => {
  test.prop([manifestText, weightBytes], { numRuns })(`weights.json and the weight file (${suite})`, async (text, bytes) => {
    writeFileSync(join(dir, 'weights.json'), text);
    writeFileSync(weightFile, bytes ?? weights);
    await typedOnly(() => {
      const found = readIdentity(dir);
      loadModelWeights(model, dir, found ?? identity);
      expect(model.weights.map((w) => w.shape)).toEqual([[2, 3], [3]]);
    }, damaged);
    expect(tf.memory().numTensors).toBeLessThan(20);
  }, Math.max(30_000, numRuns * 50));
});
