import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { expect, it } from 'vitest';
import { tempDir } from './__fixtures__/paths.ts';
import { CLASS_COLOURS, decodeMask, edaPageData, formatNumber, generateSyntheticDataset, openKaggleDataset, outlineMasks, renderEdaPage } from './index.ts';

it('outlineMasks draws each class outline in its colour and tints the inside', () => {
  // A 3x3 square of class 2 in a 5x5 grey image.
  const image = new Uint8Array(25).fill(100);
  const mask = new Uint8Array(25 * 2);
  for (let r = 1; r <= 3; r++) for (let c = 1; c <= 3; c++) mask[(r * 5 + c) * 2 + 1] = 1;
  const rgb = outlineMasks(image, 1, 5, 5, mask, 2);
  const px = (r: number, c: number) => Array.from(rgb.subarray((r * 5 + c) * 3, (r * 5 + c) * 3 + 3));
  expect(px(0, 0)).toEqual([100, 100, 100]);
  expect(px(1, 1)).toEqual([...CLASS_COLOURS[1]!]);
  expect(px(2, 2)).toEqual(CLASS_COLOURS[1]!.map((v) => Math.round(100 * 0.65 + v * 0.35)));
});

it('the dataset page shows the JSON numbers, log-binned mask areas and decodable examples', async () => {
  const dir = join(await tempDir('eda-page'), 'synthetic');
  await generateSyntheticDataset({ dir, count: 10, testCount: 2, seed: 3, height: 32, width: 200 });
  const dataset = await openKaggleDataset(dir);
  const data = edaPageData(dataset, 2);
  expect(data.images).toBe(readdirSync(join(dir, 'train_images')).length);
  expect(data.testImages).toBe(2);
  // Mask areas counted from decoded masks (not from the RLE run lengths the page uses), binned by quarter decades.
  const expected = Array.from({ length: dataset.classes }, () => new Array<number>(data.areaHistogram.edges.length - 1).fill(0));
  for (const entry of dataset.images) {
    const mask = decodeMask(entry, dataset);
    for (const k of entry.classes) {
      let area = 0;
      for (let p = k - 1; p < mask.length; p += dataset.classes) area += mask[p]!;
      expected[k - 1]![Math.floor(Math.log10(area) * 4)]!++;
    }
  }
  expect(data.areaHistogram.counts).toEqual(expected);
  for (const { classId, ids } of data.examples) {
    expect(ids.length).toBe(Math.min(2, data.perClass[classId - 1]!.masks));
    for (const id of ids) expect(dataset.images.find((e) => e.id === id)!.classes).toContain(classId);
  }

  const html = await renderEdaPage(dataset, data);
  const cells = [...html.matchAll(/<td data-key="([^"]+)">([^<]*)<\/td>/g)];
  expect(cells.length).toBeGreaterThan(20);
  for (const [, key, text] of cells) {
    const value = key!.split('.').reduce<unknown>((v, part) => (v as Record<string, unknown>)[part], data);
    expect(text, key).toBe(formatNumber(value as number));
  }
  expect(html.match(/<svg /g)).toHaveLength(3 + dataset.classes);
  expect(html).not.toMatch(/(src|href)="https?:/);
  const uris = [...html.matchAll(/<img src="data:image\/png;base64,([^"]+)"/g)];
  expect(uris).toHaveLength(data.examples.reduce((n, e) => n + e.ids.length, 0));
  const meta = await sharp(Buffer.from(uris[0]![1]!, 'base64')).metadata();
  expect([meta.height, meta.width, meta.channels]).toEqual([32, 200, 3]);
});
