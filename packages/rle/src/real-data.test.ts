// The competition's real files (../shared/data beside the checkout). Skipped with a note when that folder is absent (failing under CI=true).
import { createReadStream, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { labelMapToMasks, masksToLabelMap } from './classes.ts';
import { decode, encode } from './codec.ts';
import { formatCsv, parseCsv, readCsv, type RleRecord } from './csv.ts';
import { SHARED_DATA, sharedData } from '../../../tooling/vitest/shared-data.ts';

const SAMPLE = join(SHARED_DATA, 'severstal-sample');
const present = sharedData('severstal-sample/train.csv', 'The real-data tests of @steel/rle').present;

const SHAPE = { height: 256, width: 1600 } as const;

async function labelMap(id: string): Promise<Uint8Array> {
  // An 8-bit greyscale PNG; sharp hands it back as grey or as three equal channels.
  const { data, info } = await sharp(join(SAMPLE, 'labels', `${id.replace(/\.jpg$/, '')}_P.png`))
    .raw()
    .toBuffer({ resolveWithObject: true });
  expect([info.width, info.height]).toEqual([1600, 256]);
  const labels = new Uint8Array(info.width * info.height);
  for (let i = 0; i < labels.length; i++) {
    const value = data[i * info.channels]!;
    for (let k = 1; k < info.channels; k++) if (data[i * info.channels + k] !== value) throw new Error(`${id}: pixel ${i} is not grey`);
    labels[i] = value;
  }
  return labels;
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

describe.skipIf(!present)('real Severstal files', () => {
  it('train.csv decodes exactly to the label maps in labels/, and the label maps encode back to train.csv', async () => {
    const text = readFileSync(join(SAMPLE, 'train.csv'), 'utf8');
    const { format, records } = parseCsv(text, { validate: SHAPE });
    expect(format).toBe('train');
    const ids = readdirSync(join(SAMPLE, 'labels')).map((name) => name.replace(/_P\.png$/, '.jpg'));
    expect(ids).toHaveLength(7);
    expect(records.every((r) => ids.includes(r.imageId))).toBe(true);
    const encoded: RleRecord[] = [];
    for (const id of ids) {
      const rows = records.filter((r) => r.imageId === id);
      const masks = [1, 2, 3, 4].map((classId) => {
        const row = rows.find((r) => r.classId === classId);
        return row ? decode(row.rle, SHAPE) : new Uint8Array(SHAPE.height * SHAPE.width);
      });
      const expected = await labelMap(id);
      expect(firstDifference(masksToLabelMap(masks, SHAPE), expected)).toBe(-1);
      labelMapToMasks(expected, SHAPE).forEach((mask, k) => {
        const rle = encode(mask, SHAPE);
        if (rle !== '') encoded.push({ imageId: id, classId: k + 1, rle });
      });
    }
    const order = (r: RleRecord) => `${records.findIndex((x) => x.imageId === r.imageId)}:${r.classId}`;
    encoded.sort((a, b) => order(a).localeCompare(order(b)));
    expect(formatCsv(encoded, 'train')).toBe(text);
  });

  it('the 22,024-row predictions file streams, and re-encodes byte for byte', async () => {
    const file = join(SAMPLE, 'predictions', 'unet-resnet34-test-predictions.csv');
    const records: RleRecord[] = [];
    // An odd chunk size, so that chunks split lines, numbers and ids.
    for await (const record of readCsv(createReadStream(file, { highWaterMark: 65_521 }), { format: 'legacy' })) records.push(record);
    expect(records).toHaveLength(22_024);
    const nonEmpty = records.filter((r) => r.rle !== '');
    expect(nonEmpty).toHaveLength(1_793);
    const out = new Uint8Array(SHAPE.height * SHAPE.width);
    const empty = encode(decode('', SHAPE), SHAPE);
    const again = records.map((r) => ({ ...r, rle: r.rle === '' ? empty : encode(decode(r.rle, { ...SHAPE, out }), SHAPE) }));
    expect(again.filter((r) => r.rle !== '')).toHaveLength(1_793);
    const bytes = new TextEncoder().encode(formatCsv(again, 'legacy'));
    expect(Buffer.compare(bytes, readFileSync(file))).toBe(0);
  });

  it('sample_submission.csv parses and writes back byte for byte', () => {
    const text = readFileSync(join(SAMPLE, 'sample_submission.csv'), 'utf8');
    const { format, records } = parseCsv(text, { validate: SHAPE });
    expect(format).toBe('submission');
    expect(records).toHaveLength(5_506);
    expect(formatCsv(records, format)).toBe(text);
  });
});
