
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { needSeverstal, SEVERSTAL_SAMPLE, tempDir } from './__fixtures__/paths.ts';
import { decodeMask, openKaggleDataset, readManifest } from './dataset.ts';
import { computeEda, formatEda } from './eda.ts';
import { isDataError } from './errors.ts';
import { readImage } from './image.ts';
import { SEVERSTAL_CLASS_SETS } from './synthetic-render.ts';

const HAS_SEVERSTAL = needSeverstal('The severstal-sample tests of @steel/data (dataset)');

describe.skipIf(!HAS_SEVERSTAL)('severstal-sample', () => {
  it('indexes all 7 training images, the defect-free one too, and decodes masks equal to labels/*.png', async () => {
    const dataset = await openKaggleDataset(SEVERSTAL_SAMPLE, { verifyImages: 'header' });
    expect(dataset.csvFormat).toBe('train');
    expect([dataset.classes, dataset.height, dataset.width]).toEqual([4, 256, 1600]);
    expect(dataset.images.map((e) => [e.id, e.classes])).toEqual([
      ['0a1cade03.jpg', []],
      ['72aaba8ad.jpg', [4]],
      ['988cf521f.jpg', [1]],
      ['b2ad335bf.jpg', [3]],
      ['b6a257b28.jpg', [2]],
      ['bca4ae758.jpg', [1]],
      ['f383950e8.jpg', [3, 4]],
    ]);
    expect(dataset.testImages).toEqual(['00a0b7730.jpg']);
    for (const entry of dataset.images) {
      const mask = decodeMask(entry, dataset);
      const label = await sharp(join(SEVERSTAL_SAMPLE, 'labels', entry.id.replace('.jpg', '_P.png'))).extractChannel(0).raw().toBuffer();
      let mismatches = 0;
      for (let p = 0; p < 256 * 1600; p++) {
        for (let k = 0; k < 4; k++) if (mask[p * 4 + k] !== (label[p] === k + 1 ? 1 : 0)) mismatches++;
      }
      expect(mismatches, entry.id).toBe(0);
    }
  });

  it('decodes images to one or three channels at 256x1600', async () => {
    const file = join(SEVERSTAL_SAMPLE, 'train_images', '988cf521f.jpg');
    const grey = await readImage(file, { height: 256, width: 1600 });
    const rgb = await readImage(file, { channels: 3 });
    expect([grey.data.length, rgb.data.length]).toEqual([256 * 1600, 256 * 1600 * 3]);
    expect(rgb.data[3 * 1000 + 1]).toBe(grey.data[1000]);
  });
});

describe('image errors', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir('img');
    await mkdir(join(dir, 'train_images'));
    const pixels = new Uint8Array(32 * 64).fill(100);
    const good = await sharp(pixels, { raw: { width: 64, height: 32, channels: 1 } }).jpeg().toBuffer();
    await writeFile(join(dir, 'train_images', 'good.jpg'), good);
    await writeFile(join(dir, 'train_images', 'cut.jpg'), good.subarray(0, good.length >> 1));
    await writeFile(join(dir, 'train_images', 'small.jpg'), await sharp(pixels, { raw: { width: 32, height: 64, channels: 1 } }).jpeg().toBuffer());
    await writeFile(join(dir, 'train.csv'), 'ImageId,ClassId,EncodedPixels\ngood.jpg,1,1 4\ngone.jpg,2,1 4\n');
  });

  it.each([
    { file: 'gone.jpg', code: 'MISSING_FILE' },
    { file: 'cut.jpg', code: 'INVALID_IMAGE' },
    { file: 'small.jpg', code: 'INVALID_IMAGE' },
  ])('readImage names $file ($code)', async ({ file, code }) => {
    const path = join(dir, 'train_images', file);
    const error = await readImage(path, { height: 32, width: 64 }).catch((e: unknown) => e);
    expect(isDataError(error) && error.code).toBe(code);
    expect(isDataError(error) && error.file).toBe(path);
  });

  it('openKaggleDataset throws on a missing image, or skips bad ones and says how many', async () => {
    const error = await openKaggleDataset(dir).catch((e: unknown) => e);
    expect(isDataError(error) && error.code).toBe('MISSING_FILE');
    expect(String(error)).toContain('gone.jpg');
    const dataset = await openKaggleDataset(dir, { height: 32, width: 64, verifyImages: 'full', skipInvalid: true });
    expect(dataset.images.map((e) => e.id)).toEqual(['good.jpg']);
    expect(dataset.skipped.map((s) => s.id).sort()).toEqual(['cut.jpg', 'gone.jpg', 'small.jpg']);
    const strict = await openKaggleDataset(join(dir), { height: 32, width: 64, verifyImages: 'header', skipInvalid: false }).catch((e: unknown) => e);
    expect(isDataError(strict) && strict.code).toBe('MISSING_FILE');
  });
});

describe('EDA', () => {
  it('reproduces the full-competition figures from a legacy train.csv with every image listed', async () => {
    // Class sets per image of the full training set; the file lists 4 rows per image, empty when a class is absent.
    const dir = await tempDir('eda');
    await mkdir(join(dir, 'train_images'));
    const lines = ['ImageId_ClassId,EncodedPixels'];
    let n = 0;
    const writes: Promise<void>[] = [];
    for (const { classes, images } of SEVERSTAL_CLASS_SETS) {
      for (let i = 0; i < images; i++, n++) {
        const id = `${n.toString(16).padStart(9, '0')}.jpg`;
        writes.push(writeFile(join(dir, 'train_images', id), ''));
        for (let k = 1; k <= 4; k++) lines.push(`${id}_${k},${classes.includes(k) ? `${k * 100} ${k * 10 + (n % 7)}` : ''}`);
      }
    }
    await Promise.all(writes);
    await writeFile(join(dir, 'train.csv'), `${lines.join('\n')}\n`);
    const dataset = await openKaggleDataset(dir, { height: 256, width: 1600 });
    const eda = computeEda(dataset.images);
    expect([eda.images, eda.withDefects, eda.withoutDefects, eda.masks]).toEqual([12568, 6666, 5902, 7095]);
    expect(eda.perClass.map((c) => c.masks)).toEqual([897, 247, 5150, 801]);
    expect(eda.defectsPerImage).toEqual([5902, 6239, 425, 2]);
    // Areas are run lengths: class k's areas are k*10 + (n mod 7).
    expect(eda.perClass[2]!.area.min).toBe(30);
    expect(eda.perClass[2]!.area.max).toBe(36);
    expect(formatEda(eda)).toContain('| 3 | 5150 | 4759 |');
  }, 60_000);

  it('computes area quantiles like numpy (linear interpolation)', () => {
    const images = [10, 20, 30, 40].map((len) => ({ classes: [2], rles: { 2: `1 ${len / 2} 100 ${len / 2}` } }));
    const area = computeEda(images).perClass[1]!.area;
    expect(area).toEqual({ min: 10, p25: 17.5, median: 25, p75: 32.5, max: 40, mean: 25 });
  });
});


describe('readManifest', () => {
  it('reads the class count of a 0.1 manifest (numClasses) as classes', async () => {
    const dir = await tempDir('manifest');
    await writeFile(join(dir, 'dataset.json'), JSON.stringify({ kind: 'mask-folder', numClasses: 5, height: 16, width: 24 }));
    const manifest = await readManifest(dir);
    expect(manifest?.classes).toBe(5);
    expect(manifest).not.toHaveProperty('numClasses');
  });
});
