import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { arbSample, coordinateSample, expectAligned, expectRate, plain } from './__fixtures__/samples.ts';
import { centreCrop, crop, flipHorizontal, flipVertical, gridShuffle, randomCrop } from './geometry.ts';
import { createRng } from './rng.ts';
import type { Sample } from './types.ts';

const rng = createRng(1);

/** Pixel (r, c) channel k of an HWC array, by the documented layout. */
const at = (data: ArrayLike<number>, width: number, channels: number, r: number, c: number, k: number) =>
  data[(r * width + c) * channels + k] as number;

describe('flips', () => {
  test.prop([arbSample])('flipHorizontal and flipVertical are involutions', (sample) => {
    expect(plain(flipHorizontal(flipHorizontal(sample, rng), rng))).toEqual(plain(sample));
    expect(plain(flipVertical(flipVertical(sample, rng), rng))).toEqual(plain(sample));
  });

  test.prop([arbSample])('flips move every value to the mirrored pixel, image and mask alike', (sample) => {
    const { height: H, width: W, channels: C, maskChannels: M } = sample;
    const h = flipHorizontal(sample, rng);
    const v = flipVertical(sample, rng);
    expect(h.image.constructor).toBe(sample.image.constructor);
    for (let r = 0; r < H; r++) {
      for (let c = 0; c < W; c++) {
        for (let k = 0; k < C; k++) {
          expect(at(h.image, W, C, r, c, k)).toBe(at(sample.image, W, C, r, W - 1 - c, k));
          expect(at(v.image, W, C, r, c, k)).toBe(at(sample.image, W, C, H - 1 - r, c, k));
        }
        for (let k = 0; k < M; k++) {
          expect(at(h.mask, W, M, r, c, k)).toBe(at(sample.mask, W, M, r, W - 1 - c, k));
          expect(at(v.mask, W, M, r, c, k)).toBe(at(sample.mask, W, M, H - 1 - r, c, k));
        }
      }
    }
  });

  it('flips a 4-channel mask that does not start on a 4-byte boundary', () => {
    const base = coordinateSample(3, 5, 1, 4, 9);
    const shifted = new Uint8Array(base.mask.length + 1);
    shifted.set(base.mask, 1);
    const sample: Sample = { ...base, mask: shifted.subarray(1) };
    expectAligned(base, flipHorizontal(sample, rng));
    expect(plain(flipHorizontal(sample, rng))).toEqual(plain(flipHorizontal(base, rng)));
  });

  it('never writes to its input', () => {
    const sample = coordinateSample(4, 6, 3, 4);
    const before = plain(sample);
    flipHorizontal(sample, rng);
    flipVertical(sample, rng);
    expect(plain(sample)).toEqual(before);
  });
});

describe('crops', () => {
  test.prop([fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 4 }), fc.integer()])(
    'randomCrop keeps image and mask aligned and stays inside the image',
    (H, W, C, M, seed) => {
      const sample = coordinateSample(H, W, C, M, seed);
      const r = createRng(seed);
      const h = 1 + r.int(H);
      const w = 1 + r.int(W);
      const out = randomCrop({ height: h, width: w, maskCentreProbability: 0.5 })(sample, r);
      expect([out.height, out.width]).toEqual([h, w]);
      const sources = expectAligned(sample, out);
      // The window is contiguous: source of (i, j) is (top + i, left + j).
      const top = Math.floor((sources[0] as number) / W);
      const left = (sources[0] as number) % W;
      for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) expect(sources[i * w + j]).toBe((top + i) * W + left + j);
    },
  );

  it('randomCrop draws every offset about equally often (chi-square)', () => {
    const sample = coordinateSample(6, 7, 1, 0);
    const t = randomCrop({ height: 4, width: 4 });
    const r = createRng(2);
    const counts = new Map<number, number>();
    const n = 6000;
    for (let i = 0; i < n; i++) {
      const first = t(sample, r).image[0] as number;
      counts.set(first, (counts.get(first) ?? 0) + 1);
    }
    expect(counts.size).toBe(3 * 4);
    const e = n / 12;
    const chi2 = [...counts.values()].reduce((acc, c) => acc + (c - e) ** 2 / e, 0);
    expect(chi2).toBeLessThan(31.3); // 11 degrees of freedom, p = 0.001
  });

  it('randomCrop with maskCentreProbability 1 centres on a defect pixel, shifted inside the image', () => {
    const H = 20;
    const W = 40;
    const sample = coordinateSample(H, W, 1, 4);
    sample.mask.fill(0);
    const t = randomCrop({ height: 6, width: 10, maskCentreProbability: 1 });
    const defects = [
      { r: 10, c: 20, top: 7, left: 15 },
      { r: 1, c: 38, top: 0, left: 30 },
    ];
    for (const { r, c, top, left } of defects) {
      const mask = new Uint8Array(sample.mask.length);
      mask[(r * W + c) * 4 + 2] = 1;
      const out = t({ ...sample, mask }, createRng(r));
      expect(out.image[0]).toBe(top * W + left + 1);
      expect(out.mask.reduce((a, b) => a + b, 0)).toBe(1);
    }
    // Two defects: both get chosen over many draws, about equally often.
    const mask = new Uint8Array(sample.mask.length);
    mask[(3 * W + 5) * 4] = 1;
    mask[(15 * W + 30) * 4 + 3] = 1;
    const r = createRng(4);
    let nearFirst = 0;
    for (let i = 0; i < 1000; i++) if ((t({ ...sample, mask }, r).image[0] as number) === 0 * W + 0 + 1) nearFirst++;
    expectRate(nearFirst, 1000, 0.5);
  });

  it('randomCrop falls back to a uniform crop when the mask is empty', () => {
    const sample = coordinateSample(8, 8, 1, 4);
    sample.mask.fill(0);
    const t = randomCrop({ height: 4, width: 4, maskCentreProbability: 1 });
    const r = createRng(3);
    const firsts = new Set(Array.from({ length: 200 }, () => t(sample, r).image[0]));
    expect(firsts.size).toBe(25);
  });

  it('centreCrop and crop cut the expected window', () => {
    const sample = coordinateSample(9, 10, 2, 3);
    const out = centreCrop({ height: 4, width: 5 })(sample, rng);
    expect(expectAligned(sample, out)[0]).toBe(2 * 10 + 2);
    const rect = crop(sample, { top: 5, left: 5, height: 4, width: 5 });
    expect(expectAligned(sample, rect)[0]).toBe(5 * 10 + 5);
    expect(expectAligned(sample, crop(sample, { top: 0, left: 0, height: 9, width: 10 }))[89]).toBe(89);
  });

  it.each([
    { name: 'crop larger than the image', run: () => randomCrop({ height: 5, width: 2 })(coordinateSample(4, 4, 1, 1), rng), code: 'OUT_OF_BOUNDS' },
    { name: 'centreCrop larger than the image', run: () => centreCrop({ height: 2, width: 5 })(coordinateSample(4, 4, 1, 1), rng), code: 'OUT_OF_BOUNDS' },
    { name: 'rect outside', run: () => crop(coordinateSample(4, 4, 1, 1), { top: 3, left: 0, height: 2, width: 1 }), code: 'OUT_OF_BOUNDS' },
    { name: 'zero height', run: () => randomCrop({ height: 0, width: 2 }), code: 'INVALID_OPTION' },
    { name: 'probability 2', run: () => randomCrop({ height: 1, width: 2, maskCentreProbability: 2 }), code: 'INVALID_OPTION' },
    { name: 'short mask', run: () => flipHorizontal({ ...coordinateSample(2, 2, 1, 4), mask: new Uint8Array(3) }, rng), code: 'INVALID_SAMPLE' },
  ])('rejects $name with $code', ({ run, code }) => {
    expect(run).toThrow(expect.objectContaining({ code }));
  });

  it('explains an oversized crop', () => {
    expect(() => randomCrop({ height: 224, width: 1568 })(coordinateSample(200, 200, 1, 0), rng)).toThrowErrorMatchingInlineSnapshot(
      `[TransformError: randomCrop: expected a crop no larger than the image (200x200), got 224x1568. Use a smaller crop or pad the sample first.]`,
    );
  });
});

describe('gridShuffle', () => {
  test.prop([fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.integer()])(
    'moves image and mask tiles together, each tile to a tile of its size',
    (rows, cols, extraH, extraW, seed) => {
      const H = rows * 2 + extraH;
      const W = cols * 2 + extraW;
      const sample = coordinateSample(H, W, 2, 3, seed);
      const out = gridShuffle({ rows, cols })(sample, createRng(seed));
      const sources = expectAligned(sample, out);
      expect([...sources].sort((a, b) => a - b)).toEqual(Array.from({ length: H * W }, (_, i) => i)); // a permutation
    },
  );

  it('1x2 grid: swaps the halves about half of the time, otherwise leaves the sample unchanged', () => {
    const sample = coordinateSample(3, 8, 1, 4);
    const t = gridShuffle();
    const r = createRng(12);
    let swapped = 0;
    for (let i = 0; i < 2000; i++) {
      const out = t(sample, r);
      const sources = i < 200 ? expectAligned(sample, out) : Int32Array.from(out.image, (v) => v - 1);
      if (sources[0] === 4) {
        swapped++;
        expect(Array.from(sources.subarray(0, 8))).toEqual([4, 5, 6, 7, 0, 1, 2, 3]);
      } else {
        expect(out).toBe(sample);
      }
    }
    expectRate(swapped, 2000, 0.5);
  });

  it('rejects a grid finer than the image', () => {
    expect(() => gridShuffle({ rows: 1, cols: 9 })(coordinateSample(2, 8, 1, 1), rng)).toThrow(expect.objectContaining({ code: 'OUT_OF_BOUNDS' }));
  });
});
