import { lstat, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { NEU_SEG, needNeu, tempDir } from './__fixtures__/paths.ts';
import { decodeMask, openKaggleDataset } from './dataset.ts';
import { importMaskFolder } from './import-mask-folder.ts';
import { createLoader } from './loader.ts';
import { readSplit } from './splits.ts';

const HAS_NEU = needNeu('The NEU-Seg import tests of @steel/data');

describe('importMaskFolder', () => {
  it('turns a constructed mask folder into a Kaggle layout whose masks decode to the label maps', async () => {
    const source = await tempDir('maskdir');
    await mkdir(join(source, 'images'));
    await mkdir(join(source, 'masks'));
    const labels: Record<string, Uint8Array> = {};
    for (const [stem, fill] of [['a', 0], ['b', 2], ['c', 5]] as const) {
      const label = new Uint8Array(16 * 24);
      for (let r = 2; r < 9; r++) for (let c = 3; c < 7 + r; c++) label[r * 24 + c] = fill;
      if (stem === 'b') label[15 * 24 + 23] = 1;
      labels[stem] = label;
      await sharp(new Uint8Array(16 * 24).fill(90), { raw: { width: 24, height: 16, channels: 1 } }).jpeg().toFile(join(source, 'images', `${stem}.jpg`));
      await sharp(label, { raw: { width: 24, height: 16, channels: 1 } }).png().toFile(join(source, 'masks', `${stem}.png`));
    }
    await writeFile(join(source, 'train.txt'), 'a\nc\n');
    await writeFile(join(source, 'val.txt'), 'b\n');
    const target = join(await tempDir('kaggle'), 'out');
    const result = await importMaskFolder({ source, target, link: 'copy' });
    expect(result).toMatchObject({ images: 3, classes: 5, height: 16, width: 24 });
    const again = await importMaskFolder({ source, target, link: 'copy' });
    expect(again).toEqual(result);
    const dataset = await openKaggleDataset(target, { verifyImages: 'full' });
    expect(dataset.classes).toBe(5);
    expect(dataset.images.map((e) => [e.id, e.classes])).toEqual([['a.jpg', []], ['b.jpg', [1, 2]], ['c.jpg', [5]]]);
    for (const entry of dataset.images) {
      const mask = decodeMask(entry, dataset);
      const label = labels[entry.id[0]!]!;
      for (let p = 0; p < label.length; p++) for (let k = 0; k < 5; k++) expect(mask[p * 5 + k]).toBe(label[p] === k + 1 ? 1 : 0);
    }
    expect(await readSplit({ train: join(target, 'train_imgids.txt'), valid: join(target, 'valid_imgids.txt') })).toEqual({ train: ['a.jpg', 'c.jpg'], valid: ['b.jpg'] });
    expect((await lstat(join(target, 'train_images', 'a.jpg'))).isSymbolicLink()).toBe(false);
  });

  it.skipIf(!HAS_NEU)('imports a subset of NEU-Seg and the loader feeds it', async () => {
    const ids = (await readFile(join(NEU_SEG, 'train.txt'), 'utf8')).split('\n').filter(Boolean).slice(0, 30);
    const target = join(await tempDir('neu'), 'kaggle');
    const result = await importMaskFolder({ source: NEU_SEG, target, ids });
    expect(result).toMatchObject({ images: 30, height: 200, width: 200 });
    expect(result.classes).toBeGreaterThanOrEqual(1);
    expect(result.classes).toBeLessThanOrEqual(3);
    expect((await lstat(join(target, 'train_images', `${ids[0]}.jpg`))).isSymbolicLink()).toBe(true);
    const dataset = await openKaggleDataset(target);
    const loader = createLoader({ dataset, batchSize: 8, seed: 0 });
    const batch = (await loader.next()).value!;
    expect(batch.imageShape).toEqual([8, 200, 200, 1]);
    expect(batch.maskShape).toEqual([8, 200, 200, result.classes]);
    await loader.return();
    const split = await readSplit({ train: join(target, 'train_imgids.txt'), valid: join(target, 'valid_imgids.txt') });
    expect(split).toEqual({ train: ids.map((id) => `${id}.jpg`), valid: [] });
  });
});
