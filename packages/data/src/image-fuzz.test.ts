// Fuzzing image decoding through sharp (readImage, readLabelMap, readImageSize), what every image file of a dataset reaches:
// random bytes, real Severstal JPEGs and label PNGs cut short or with bytes overwritten, and valid JPEG/PNG headers followed
// by garbage. A decoded image of the size its header gives, or a DataError naming the file; never a crash, and each case
// must finish within PER_CASE_MS (a hang fails the property).
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { sharedData } from '../../../tooling/vitest/shared-data.ts';
import { fuzzSuites, typedOnly } from '../../../tooling/vitest/fuzz.ts';
import { isDataError } from './errors.ts';
import { readImage, readImageSize, readLabelMap } from './image.ts';

const PER_CASE_MS = 10_000;
const sample = sharedData('severstal-sample', 'the image fuzz tests (real JPEGs and label PNGs to cut and mutate)');
const read = (name: string) => new Uint8Array(readFileSync(join(sample.path, name)));
const JPEG = sample.present ? read('train_images/0a1cade03.jpg') : new Uint8Array();
const PNG = sample.present ? read('labels/72aaba8ad_P.png') : new Uint8Array();

let dir = '';
let n = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'steel-image-fuzz-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Writes `bytes` to a new file and checks every reader on it. */
async function check(bytes: Uint8Array): Promise<void> {
  const file = join(dir, `case-${n++}.${bytes[0] === 0x89 ? 'png' : 'jpg'}`);
  await writeFile(file, bytes);
  const named = (e: unknown) => isDataError(e) && (e.code === 'INVALID_IMAGE' || e.code === 'INVALID_ARGUMENT') && e.message.includes(file);
  const size = await readImageSize(file);
  for (const channels of [1, 3] as const) {
    await typedOnly(async () => {
      const image = await readImage(file, { channels });
      expect(image.data.length).toBe(image.height * image.width * channels);
      if (size !== undefined) expect([image.height, image.width]).toEqual([size.height, size.width]);
    }, named);
  }
  await typedOnly(() => readLabelMap(file, { height: 256, width: 1600 }), named);
  await rm(file);
}

/** `base` with `edits` (position as a fraction of the length, new byte) applied, cut to `keep` of its length. */
const mutate = (base: Uint8Array) =>
  fc
    .tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }))
    .map(([keep, edits]) => {
      const out = base.slice(0, Math.max(1, Math.round(base.length * keep)));
      for (const [at, value] of edits) out[Math.floor(at * out.length)] = value;
      return out;
    });

const JPEG_HEAD = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00]);
const PNG_HEAD = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const withHead = fc.tuple(fc.constantFrom(JPEG_HEAD, PNG_HEAD, JPEG.subarray(0, 623), PNG.subarray(0, 33)), fc.uint8Array({ maxLength: 2048 })).map(([head, body]) => {
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
});

describe.skipIf(!sample.present)('image decoding', () => {
  fuzzSuites('fuzzing sharp through readImage', (numRuns, name) => {
    const options = { numRuns, timeout: PER_CASE_MS };
    test.prop([fc.uint8Array({ maxLength: 512 })], options)(`random bytes (${name})`, check, PER_CASE_MS * numRuns);
    test.prop([mutate(JPEG)], options)(`a real JPEG, cut and overwritten (${name})`, check, PER_CASE_MS * numRuns);
    test.prop([mutate(PNG)], options)(`a real label PNG, cut and overwritten (${name})`, check, PER_CASE_MS * numRuns);
    test.prop([withHead], options)(`JPEG/PNG headers with a garbage body (${name})`, check, PER_CASE_MS * numRuns);
  });
});
