// The README's Usage, kept compiling and running.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { createReadStream } from 'node:fs';
import { decode, encode, formatCsv, readCsv, type RleRecord } from '@steel/rle';

async function usage(path: string) {
  // --- README Usage ---
  const shape = { height: 256, width: 1600 };
  const mask = decode('5 2 261 3', shape); // Uint8Array of 0/1, pixel (r, c) at r * 1600 + c
  encode(mask, shape); // '5 2 261 3'

  const records: RleRecord[] = []; // streamed; every RLE is checked against the shape
  for await (const record of readCsv(createReadStream(path), { validate: shape })) records.push(record);
  const csv = formatCsv(records, 'legacy'); // 'ImageId_ClassId,EncodedPixels\n0002cc93b.jpg_1,5 2 261 3\n'
  // --- end ---
  return { shape, mask, records, csv };
}

it('runs the README usage', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'steel-rle-')), 'train.csv');
  writeFileSync(path, 'ImageId,ClassId,EncodedPixels\n0002cc93b.jpg,1,5 2 261 3\n');
  const { shape, mask, records, csv } = await usage(path);
  expect(encode(mask, shape)).toBe('5 2 261 3');
  expect([mask[4 * 1600], mask[5 * 1600], mask[4 * 1600 + 1], mask[6 * 1600 + 1], mask[7 * 1600 + 1]]).toEqual([1, 1, 1, 1, 0]);
  expect(records).toEqual([{ imageId: '0002cc93b.jpg', classId: 1, rle: '5 2 261 3' }]);
  expect(csv).toBe('ImageId_ClassId,EncodedPixels\n0002cc93b.jpg_1,5 2 261 3\n');
});
