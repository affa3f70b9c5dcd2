// Fuzzing the text files of a dataset folder a user points at: train.csv (both layouts), dataset.json and split files.
// Each returns what the file says or throws a DataError whose message names the file (and, for train.csv, the line).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { afterAll, expect } from 'vitest';
import { fuzzSuites, typedOnly } from '../../../tooling/vitest/fuzz.ts';
import { parseTrainCsv } from './csv.ts';
import { MANIFEST_FILE, readManifest } from './dataset.ts';
import { isDataError } from './errors.ts';
import { readSplit } from './splits.ts';

const dir = mkdtempSync(join(tmpdir(), 'steel-data-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Each case writes a file: allow 50 ms a case on a loaded machine (the slow suite's 10,000 cases need more than the default 30 s). */
const budget = (numRuns: number) => Math.max(30_000, numRuns * 50);
const namesFile = (file: string) => (e: unknown) => isDataError(e) && e.message.includes(file);

const imageId = fc.oneof(
  fc.constantFrom('0002cc93b.jpg', 'a.png', 'b.JPEG', 'x', '', 'a b.jpg', 'a/b.jpg', 'a.jpg_3', '.jpg', 'ü.jpg'),
  fc.string({ maxLength: 12 }),
);
const classId = fc.oneof(fc.constantFrom('1', '2', '3', '4', '0', '5', '-1', '1.5', '', '01', ' 1', '99999999999999999999', '1e0'), fc.string({ maxLength: 3 }));
const validRle = fc
  .array(fc.tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 1, max: 30 })), { minLength: 1, maxLength: 5 })
  .map((pairs) => {
    let at = 1;
    return pairs.map(([gap, len]) => `${(at += gap) - gap} ${((at += len), len)}`).join(' ');
  });
const rle = fc.oneof(
  validRle,
  fc.constantFrom('', '1 0', '0 1', '1', '1 1 1 1', '5 3 2 3', 'a b', '1  2', '1 409600', '409600 2', '1 99999999999999999999', '-1 2', '1.5 2'),
  fc.array(fc.integer({ min: -2, max: 500_000 }), { maxLength: 6 }).map((xs) => xs.join(' ')),
  fc.string({ maxLength: 12 }),
);
const header = fc.oneof(
  fc.constantFrom('ImageId,ClassId,EncodedPixels', 'ImageId_ClassId,EncodedPixels', '\uFEFFImageId,ClassId,EncodedPixels', 'ImageId,EncodedPixels,ClassId', ''),
  fc.string({ maxLength: 30 }),
);
const row = fc.oneof(
  fc.tuple(imageId, classId, rle).map(([i, c, r]) => `${i},${c},${r}`),
  fc.tuple(imageId, classId, rle).map(([i, c, r]) => `${i}_${c},${r}`),
  fc.array(fc.oneof(imageId, classId, rle), { maxLength: 4 }).map((cells) => cells.join(',')),
  fc.string({ maxLength: 20 }),
);
const csv = fc.tuple(header, fc.array(row, { maxLength: 8 }), fc.constantFrom('\n', '\r\n'), fc.boolean()).map(([h, rows, eol, end]) => [h, ...rows].join(eol) + (end ? eol : ''));

const jsonText = (value: fc.Arbitrary<unknown>) => fc.oneof(value.map((v) => JSON.stringify(v) ?? ''), fc.string({ maxLength: 40 }));
const ids = fc.array(fc.oneof(fc.constantFrom('a.jpg', 'b.jpg', ''), fc.string({ maxLength: 6 }), fc.jsonValue()), { maxLength: 4 });
const manifest = fc.record(
  {
    name: fc.oneof(fc.string(), fc.jsonValue()),
    classes: fc.oneof(fc.integer({ min: -1, max: 300 }), fc.jsonValue()),
    numClasses: fc.oneof(fc.integer({ min: -1, max: 300 }), fc.jsonValue()),
    height: fc.oneof(fc.integer({ min: -1, max: 5000 }), fc.double(), fc.jsonValue()),
    width: fc.oneof(fc.integer({ min: -1, max: 5000 }), fc.double(), fc.jsonValue()),
    channels: fc.oneof(fc.constantFrom(1, 3, 2), fc.jsonValue()),
    classNames: fc.oneof(fc.array(fc.string(), { maxLength: 5 }), fc.jsonValue()),
  },
  { requiredKeys: [] },
);

fuzzSuites('fuzzing parseTrainCsv', (numRuns, suite) => {
  test.prop([csv], { numRuns })(`train.csv of either layout (${suite})`, async (text) => {
    await typedOnly(() => {
      const parsed = parseTrainCsv(text, { file: 'fuzz/train.csv' });
      for (const r of parsed.rows) expect(r.classId >= 1 && r.classId <= 4 && parsed.imageIds.includes(r.imageId)).toBe(true);
    }, (e) => namesFile('fuzz/train.csv')(e) && /:\d+: column /.test((e as Error).message));
  });
  test.prop([fc.string({ unit: 'binary', maxLength: 200 })], { numRuns })(`any text (${suite})`, async (text) => {
    await typedOnly(() => parseTrainCsv(text, { file: 'fuzz/any.csv' }), namesFile('fuzz/any.csv'));
  });
});

fuzzSuites('fuzzing dataset.json and split files', (numRuns, suite) => {
  test.prop([jsonText(fc.oneof(manifest, fc.jsonValue()))], { numRuns })(`dataset.json (${suite})`, async (text) => {
    const file = join(dir, MANIFEST_FILE);
    writeFileSync(file, text);
    await typedOnly(() => readManifest(dir), namesFile(file));
  }, budget(numRuns));
  test.prop([jsonText(fc.oneof(fc.record({ train: ids, valid: ids }, { requiredKeys: [] }), fc.jsonValue()))], { numRuns })(`split JSON (${suite})`, async (text) => {
    const file = join(dir, 'split.json');
    writeFileSync(file, text);
    await typedOnly(async () => {
      const split = await readSplit(file);
      expect(split.train.every((id) => typeof id === 'string' && !split.valid.includes(id))).toBe(true);
    }, namesFile(file));
  }, budget(numRuns));
});
