// Fuzzing the JSON a user hands the app: the training config (`--config`, a run's config.json), the metadata of an
// .onnx model (`--models x.onnx`) and a tuned.json with gates (`evaluate --postprocess`).
// A valid result, or a typed error whose message names the file; nothing else.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { isEnsembleError } from '@steel/ensemble';
import { afterAll, expect } from 'vitest';
import { fuzzSuites, typedOnly } from '../../../tooling/vitest/fuzz.ts';
import { OPTIMIZERS, PRESETS, readConfigFile, resolveTrainConfig } from './config.ts';
import { isAppError } from './errors.ts';
import { gatingFromFile } from './gating.ts';
import { parseOnnxMetadata } from './onnx-metadata.ts';
import { tempDir } from './test-helpers.ts';

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));
/** Cases that write a file: 50 ms each on a loaded machine (10,000 need more than the default timeout). */
const budget = (numRuns: number) => Math.max(30_000, numRuns * 50);
const names = (file: string) => (e: unknown) => isAppError(e) && e.message.includes(file);

const number = fc.oneof(fc.integer({ min: -3, max: 5000 }), fc.double(), fc.constantFrom(0, 0.5, 1, 32, 224, 1e300));
const size = fc.oneof(fc.record({ height: number, width: number }, { requiredKeys: [] }), fc.jsonValue());
const value = fc.oneof(number, fc.string({ maxLength: 8 }), fc.boolean(), fc.constant(null), fc.array(number, { maxLength: 5 }), size);
/** Objects with the config's own keys (and a few others), so that the schema's rules are reached, not only "unknown key". */
const keys = fc.constantFrom(
  'architecture', 'encoder', 'inChannels', 'loss', 'posWeight', 'minArea', 'threshold', 'scale', 'crop', 'batchSize', 'lr',
  'epochs', 'steps', 'optimizer', 'schedule', 'backend', 'data', 'synthetic', 'seed', 'budgetMinutes', 'accumulate',
  '__proto__', 'constructor', 'x',
);
const config = fc.oneof(
  fc.dictionary(keys, value, { maxKeys: 6 }),
  fc.record({ optimizer: fc.constantFrom(...OPTIMIZERS), crop: size, synthetic: fc.dictionary(fc.constantFrom('count', 'height', 'width', 'seed', 'testCount'), value) }, { requiredKeys: [] }),
  fc.jsonValue(),
);
const text = fc.oneof(config.map((c) => JSON.stringify(c) ?? ''), fc.string({ unit: 'binary', maxLength: 40 }), fc.constantFrom('{"__proto__":{"lr":0.5}}', '{"__proto__":5}', '{', ''));

fuzzSuites('fuzzing the training config', (numRuns, suite) => {
  test.prop([text, fc.constantFrom(undefined, ...Object.keys(PRESETS))], { numRuns })(`--config files (${suite})`, async (json, preset) => {
    const file = join(dir, 'config.json');
    writeFileSync(file, json);
    await typedOnly(() => {
      const parsed = resolveTrainConfig({ preset, configFile: file });
      // What the file asks for is what the run gets: nothing inherited through __proto__ slips past the schema.
      const raw = readConfigFile(file);
      for (const key of ['epochs', 'batchSize', 'lr'] as const) if (Object.hasOwn(raw, key)) expect(parsed[key]).toEqual(raw[key]);
      expect(Object.hasOwn(raw, '__proto__'), 'a "__proto__" key is not a setting').toBe(false);
    }, names(file));
  }, budget(numRuns));
});

const metaValue = fc.oneof(
  fc.constantFrom('1', '3', '4', '0', '-1', '1.5', '0.5', '2', 'NaN', 'Infinity', '', '1e400', '[1,2,3,4]', '[0,-5,1.5,9]', '{}', 'null'),
  fc.jsonValue().map((v) => JSON.stringify(v) ?? ''),
  fc.record({ divisor: number, scale: number, mean: fc.oneof(number, fc.array(number, { maxLength: 3 })), std: fc.oneof(number, fc.array(number, { maxLength: 3 })) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 10 }),
);
const metadata = fc.dictionary(fc.constantFrom('architecture', 'encoder', 'in_channels', 'classes', 'scale', 'normalisation', 'normalization', 'threshold', 'min_area', 'x'), metaValue, { maxKeys: 6 });
const graph = fc.record({ inChannels: fc.option(fc.constantFrom(1, 3), { nil: undefined }), classes: fc.option(fc.constantFrom(1, 4), { nil: undefined }) });

fuzzSuites('fuzzing .onnx metadata', (numRuns, suite) => {
  test.prop([metadata, graph], { numRuns })(`parseOnnxMetadata (${suite})`, async (meta, fromGraph) => {
    await typedOnly(() => {
      const m = parseOnnxMetadata(meta, fromGraph, 'fuzz.onnx');
      // Whatever it returns feeds a model: whole positive counts, a usable scale and normalisation, a probability threshold.
      for (const n of [m.inChannels, m.classes]) if (n !== undefined) expect(Number.isInteger(n) && n >= 1).toBe(true);
      expect(Number.isFinite(m.scale) && m.scale > 0).toBe(true);
      const { scale = 1, mean = 0, std = 1 } = m.normalization;
      for (const x of [scale, mean, std].flat()) expect(Number.isFinite(x)).toBe(true);
      for (const x of [scale, std].flat()) expect(x).not.toBe(0);
      if (m.threshold !== undefined) expect(m.threshold > 0 && m.threshold < 1).toBe(true);
      if (m.minArea !== undefined) expect(m.minArea.every((a) => Number.isInteger(a) && a >= 0)).toBe(true);
    }, names('fuzz.onnx'));
  });
});

const rule = fc.dictionary(fc.constantFrom('threshold', 'minArea', 'topThreshold', 'minMaskArea', 'gate'), fc.oneof(number, fc.constant(null)), { maxKeys: 3 });
const post = fc.record({ version: fc.constantFrom(1, 2), classes: fc.array(rule, { maxLength: 4 }) }, { requiredKeys: [] });
const tuned = fc.oneof(
  fc.record({ version: fc.constant(1), classes: fc.array(rule, { minLength: 4, maxLength: 4 }), gating: fc.oneof(fc.record({ plain: fc.oneof(post, fc.jsonValue()) }, { requiredKeys: [] }), fc.jsonValue()) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 30 }),
);

fuzzSuites('fuzzing tuned.json with gates', (numRuns, suite) => {
  test.prop([tuned], { numRuns })(`gatingFromFile (${suite})`, async (json) => {
    const file = join(dir, 'tuned.json');
    writeFileSync(file, json);
    await typedOnly(() => gatingFromFile(file, 4), (e) => names(file)(e) || isEnsembleError(e));
  }, budget(numRuns));
});
