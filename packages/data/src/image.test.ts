// decodeImage (bytes) decodes exactly as readImage (files): the same pixels for JPEG and PNG, grey and colour, 1 and 3
// channels, and a DataError naming the bytes when they are not an image.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDataError } from './errors.ts';
import { decodeImage, readImage } from './image.ts';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'steel-image-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A 24x40 image with a gradient per channel. */
function pixels(channels: 1 | 3): Buffer {
  const data = Buffer.alloc(24 * 40 * channels);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + Math.floor(i / channels) * 3) % 256;
  return data;
}

describe('decodeImage', () => {
  for (const [format, stored] of [['jpeg', 1], ['jpeg', 3], ['png', 1], ['png', 3]] as const) {
    it(`decodes ${format} bytes stored with ${stored} channel(s) as readImage decodes the file, at 1 and 3 channels`, async () => {
      const raw = { width: 40, height: 24, channels: stored };
      const file = join(dir, `x-${stored}.${format}`);
      await (format === 'jpeg' ? sharp(pixels(stored), { raw }).jpeg() : sharp(pixels(stored), { raw }).png()).toFile(file);
      const bytes = new Uint8Array(await readFile(file));
      for (const channels of [1, 3] as const) {
        const fromFile = await readImage(file, { channels });
        const fromBytes = await decodeImage(bytes, { channels });
        expect(fromBytes.height).toBe(24);
        expect(fromBytes.width).toBe(40);
        expect(fromBytes.channels).toBe(channels);
        expect(fromBytes.data).toEqual(fromFile.data);
      }
    });
  }

  it('names the bytes in the error when they are not a complete image', async () => {
    const error = await decodeImage(new Uint8Array([0xff, 0xd8, 0xff, 1, 2, 3]), { name: 'The request body' }).catch((e: unknown) => e);
    expect(isDataError(error) && error.code).toBe('INVALID_IMAGE');
    expect((error as Error).message).toMatch(/^The request body could not be decoded \(.+\); expected a complete JPEG or PNG\.$/s);
    expect((error as { found?: string }).found).toBeTruthy();
  });
});
