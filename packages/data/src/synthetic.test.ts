import { createHash } from 'node:crypto';
import { readdir, readFile, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { tempDir } from './__fixtures__/paths.ts';
import { openKaggleDataset } from './dataset.ts';
import { computeEda } from './eda.ts';
import { isDataError } from './errors.ts';
import { fillPolygon, type Point } from './raster.ts';
import { generateSyntheticDataset } from './synthetic.ts';
import { renderSyntheticImage } from './synthetic-render.ts';

async function hashTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out[path.slice(dir.length)] = createHash('sha256').update(await readFile(path)).digest('hex');
  }
  return out;
}

describe('generateSyntheticDataset', () => {
  it('is byte-for-byte reproducible, resumable and opens as a Kaggle dataset', async () => {
    const [a, b] = [await tempDir('synA'), await tempDir('synB')];
    const options = { count: 12, testCount: 3, height: 64, width: 400, seed: 11 };
    const progress: number[] = [];
    await generateSyntheticDataset({ ...options, dir: a, onProgress: (p) => progress.push(p.done) });
    expect(progress.at(-1)).toBe(15);
    await generateSyntheticDataset({ ...options, dir: b });
    const hashes = await hashTree(a);
    expect(Object.keys(hashes)).toHaveLength(12 + 3 + 4);
    expect(await hashTree(b)).toEqual(hashes);
    // Resume: drop two images and mark the folder incomplete; only those two are rendered again.
    await unlink(join(a, 'train_images', 's000003.jpg'));
    await unlink(join(a, 'test_images', 't000001.jpg'));
    const manifest = JSON.parse(await readFile(join(a, 'dataset.json'), 'utf8')) as Record<string, unknown>;
    await (await import('node:fs/promises')).writeFile(join(a, 'dataset.json'), JSON.stringify({ ...manifest, complete: false }));
    expect((await generateSyntheticDataset({ ...options, dir: a })).rendered).toBe(2);
    expect(await hashTree(a)).toEqual(hashes);
    expect((await generateSyntheticDataset({ ...options, dir: a })).rendered).toBe(0);
    const error = await generateSyntheticDataset({ ...options, seed: 12, dir: a }).catch((e: unknown) => e);
    expect(isDataError(error) && error.code).toBe('INVALID_DATASET');
    const dataset = await openKaggleDataset(a, { verifyImages: 'full' });
    expect([dataset.images.length, dataset.testImages.length, dataset.height, dataset.width, dataset.classes]).toEqual([12, 3, 64, 400, 4]);
    expect(await readFile(join(a, 'test_ground_truth.csv'), 'utf8')).toMatch(/^ImageId,ClassId,EncodedPixels\n/);
    await rm(b, { recursive: true });
  });
});

describe('synthetic classes', () => {
  // Masks only (no pixels): 400 images at the full size take well under a second.
  const images = Array.from({ length: 400 }, (_, index) => renderSyntheticImage({ seed: 1, index, pixels: false }));
  const shapes = new Map<number, { area: number; h: number; w: number }[]>();
  for (const image of images) {
    for (const [classId, mask] of image.masks) {
      let area = 0;
      let r0 = 256;
      let r1 = -1;
      let c0 = 1600;
      let c1 = -1;
      for (let p = 0; p < mask.length; p++) {
        if (mask[p] === 0) continue;
        area++;
        const r = Math.floor(p / 1600);
        const c = p % 1600;
        r0 = Math.min(r0, r);
        r1 = Math.max(r1, r);
        c0 = Math.min(c0, c);
        c1 = Math.max(c1, c);
      }
      if (!shapes.has(classId)) shapes.set(classId, []);
      shapes.get(classId)!.push({ area, h: r1 - r0 + 1, w: c1 - c0 + 1 });
    }
  }
  const median = (xs: number[]): number => xs.sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;

  it('has about 47% defect-free images, mostly one class per defective image, class 3 most and class 2 least common', () => {
    const eda = computeEda(images.map((im) => ({ classes: [...im.masks.keys()].sort(), rles: {} })));
    expect(eda.withoutDefects / eda.images).toBeGreaterThan(0.4);
    expect(eda.withoutDefects / eda.images).toBeLessThan(0.54);
    expect(eda.defectsPerImage[1]! / eda.withDefects).toBeGreaterThan(0.85);
    const counts = eda.perClass.map((c) => c.masks);
    expect(Math.max(...counts)).toBe(counts[2]);
    expect(Math.min(...counts)).toBe(counts[1]);
    expect(counts[2]! / eda.masks).toBeGreaterThan(0.6);
  });

  it('gives each class its character: small pits, tall thin marks, long scratches and patches, large blotches', () => {
    const area = (k: number) => median(shapes.get(k)!.map((s) => s.area));
    expect(area(4)).toBeGreaterThan(area(3) / 3);
    expect(area(4)).toBeGreaterThan(5 * area(1));
    expect(median(shapes.get(2)!.map((s) => s.h / s.w))).toBeGreaterThan(1.5);
    expect(median(shapes.get(3)!.map((s) => Math.max(s.w / s.h, s.h / s.w)))).toBeGreaterThan(2);
    expect(area(1)).toBeLessThan(area(3));
  });

  it('puts defects where the masks are: darker or brighter than the background', () => {
    let contrast = 0;
    let n = 0;
    for (let index = 0; n < 20; index++) {
      const image = renderSyntheticImage({ seed: 2, index, height: 128, width: 800 });
      if (image.masks.size === 0) continue;
      const any = new Uint8Array(128 * 800);
      for (const m of image.masks.values()) for (let p = 0; p < m.length; p++) any[p]! |= m[p]!;
      let inside = 0;
      let ni = 0;
      let outside = 0;
      for (let p = 0; p < any.length; p++) {
        if (any[p]) { inside += image.pixels[p]!; ni++; } else outside += image.pixels[p]!;
      }
      contrast += Math.abs(inside / ni - outside / (any.length - ni));
      n++;
    }
    expect(contrast / n).toBeGreaterThan(3);
  });
});

describe('fillPolygon', () => {
  const point = fc.tuple(fc.double({ min: -3, max: 20, noNaN: true }), fc.double({ min: -3, max: 14, noNaN: true }));
  test.prop([fc.array(point, { minLength: 3, maxLength: 7 })])('sets exactly the pixels whose centres are inside (even-odd ray casting)', (polygon: Point[]) => {
    const mask = new Uint8Array(12 * 16);
    fillPolygon(mask, 12, 16, polygon);
    for (let r = 0; r < 12; r++) {
      for (let c = 0; c < 16; c++) {
        const [x, y] = [c + 0.5, r + 0.5];
        let inside = false;
        for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
          const [xi, yi] = polygon[i]!;
          const [xj, yj] = polygon[j]!;
          if (yi <= y !== yj <= y && x < xi + ((y - yi) / (yj - yi)) * (xj - xi)) inside = !inside;
        }
        expect(mask[r * 16 + c], `(${r}, ${c})`).toBe(inside ? 1 : 0);
      }
    }
  });
});
