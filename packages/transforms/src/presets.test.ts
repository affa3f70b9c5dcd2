import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { coordinateSample, expectAligned, expectRate, hashByte, isBinary, plain } from './__fixtures__/samples.ts';
import { blur } from './blur.ts';
import { compose } from './compose.ts';
import { centreCrop, crop, flipHorizontal, flipVertical, gridShuffle, randomCrop } from './geometry.ts';
import { brightnessContrast, gaussianNoise, normalize } from './intensity.ts';
import { padToMultiple, unpad } from './pad.ts';
import { referenceTrainTransform, referenceValidTransform } from './presets.ts';
import { resize } from './resize.ts';
import { createRng } from './rng.ts';
import type { Sample, Transform } from './types.ts';

/** A steel-sized sample: background 20-150, one unique marker pixel of 255 in the image and in mask channel 3 only. */
const backgrounds = new Map<string, Sample>();

function markerSample(height: number, width: number, channels: number, r: number, c: number, float: boolean): Sample {
  const key = `${height}x${width}x${channels}${float}`;
  const base = backgrounds.get(key) ?? background(height, width, channels, float);
  backgrounds.set(key, base);
  const image = base.image.slice();
  const mask = base.mask.slice();
  const p = r * width + c;
  for (let k = 0; k < channels; k++) image[p * channels + k] = float ? 1 : 255;
  mask[p * 4 + 3] = 1;
  return { ...base, image, mask };
}

function background(height: number, width: number, channels: number, float: boolean): Sample {
  const n = height * width * channels;
  const image = float ? new Float32Array(n) : new Uint8Array(n);
  for (let i = 0; i < n; i++) image[i] = float ? (20 + (hashByte(1, i) % 130)) / 255 : 20 + (hashByte(1, i) % 130);
  const mask = new Uint8Array(height * width * 4);
  // Blobs in the other classes so the mask is not trivially empty.
  for (let p = 0; p < height * width; p++) for (let k = 0; k < 3; k++) mask[p * 4 + k] = hashByte(k + 2, p >> 6) < 40 ? 1 : 0;
  return { image, mask, height, width, channels, maskChannels: 4 };
}

/** Pixel index of the unique maximum of channel 0 (`-1` if not unique) and of the single mask-channel-3 pixel (`-1` if none). */
function markers(sample: Sample): { image: number; mask: number } {
  const { image, mask, channels } = sample;
  let best = -Infinity;
  let at = -1;
  let ties = 0;
  for (let p = 0; p < sample.height * sample.width; p++) {
    const v = image[p * channels] as number;
    if (v > best) [best, at, ties] = [v, p, 0];
    else if (v === best) ties++;
  }
  let maskAt = -1;
  for (let p = 0; p < sample.height * sample.width; p++) if (mask[p * 4 + 3] === 1) maskAt = p;
  // Without the marker in view the maximum is background, which repeats.
  return { image: ties === 0 && best >= (image instanceof Uint8Array ? 153 : 0.6) ? at : -1, mask: maskAt };
}

describe('referenceTrainTransform', () => {
  const full = referenceTrainTransform();
  test.prop([fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 1599 }), fc.integer()], { numRuns: 40 })(
    'marker: image and mask land on the same pixel at full size (1600x256, 1 channel, uint8)',
    (r, c, seed) => {
      const sample = markerSample(256, 1600, 1, r, c, false);
      const out = full(sample, createRng(seed));
      expect([out.height, out.width]).toEqual([224, 1568]);
      expect(markers(out).image).toBe(markers(out).mask);
      expect(isBinary(out.mask)).toBe(true);
    },
  );

  test.prop([fc.integer({ min: 0, max: 39 }), fc.integer({ min: 0, max: 99 }), fc.integer()], { numRuns: 200 })(
    'marker: any crop size, 3-channel float images',
    (r, c, seed) => {
      const sample = markerSample(40, 100, 3, r, c, true);
      const out = referenceTrainTransform({ cropHeight: 32, cropWidth: 64, maskCentreProbability: 0.3 })(sample, createRng(seed));
      const found = markers(out);
      expect(found.image).toBe(found.mask);
    },
  );

  it('gives the same output for the same seed and different outputs for different seeds', () => {
    const sample = markerSample(256, 1600, 1, 100, 800, false);
    const same = (x: Sample, y: Sample) =>
      x.height === y.height && x.width === y.width && x.image.every((v, i) => v === y.image[i]) && x.mask.every((v, i) => v === y.mask[i]);
    const a = full(sample, createRng(123));
    expect(same(full(sample, createRng(123)), a)).toBe(true);
    for (let seed = 124; seed < 128; seed++) expect(same(full(sample, createRng(seed)), a)).toBe(false);
  });

  it('fires each branch as often as the recipe says (2,000 draws)', () => {
    // Mask channel b holds bit b of the source pixel index, so every output pixel tells where it came from.
    const H = 16;
    const W = 32;
    const bits = 9;
    const image = Uint8Array.from({ length: H * W }, (_, i) => 30 + (hashByte(7, i) % 170));
    const mask = new Uint8Array(H * W * bits);
    for (let p = 0; p < H * W; p++) for (let b = 0; b < bits; b++) mask[p * bits + b] = (p >> b) & 1;
    const sample: Sample = { image, mask, height: H, width: W, channels: 1, maskChannels: bits };
    const h = 12;
    const w = 24;
    const t = referenceTrainTransform({ cropHeight: h, cropWidth: w });
    const rng = createRng(2024);
    const counts = { vertical: 0, horizontal: 0, brightness: 0, swap: 0 };
    const n = 2000;
    for (let i = 0; i < n; i++) {
      const out = t(sample, rng);
      const source = (p: number) => {
        let s = 0;
        for (let b = 0; b < bits; b++) s |= (out.mask[p * bits + b] as number) << b;
        return s;
      };
      const sources = Array.from({ length: h * w }, (_, p) => source(p));
      const rowOf = (p: number) => Math.floor((sources[p] as number) / W);
      const colOf = (p: number) => (sources[p] as number) % W;
      const left = Math.min(...sources.map((s) => s % W));
      const vertical = rowOf(w) < rowOf(0);
      const d = colOf(0) - left;
      expect([0, w - 1, w / 2, w / 2 - 1]).toContain(d);
      const horizontal = d === w - 1 || d === w / 2 - 1;
      const swap = d === w / 2 || d === w / 2 - 1;
      const brightness = sources.some((s, p) => out.image[p] !== image[s]);
      expect(vertical && horizontal).toBe(false);
      expect(brightness && swap).toBe(false);
      counts.vertical += vertical ? 1 : 0;
      counts.horizontal += horizontal ? 1 : 0;
      counts.brightness += brightness ? 1 : 0;
      counts.swap += swap ? 1 : 0;
    }
    expectRate(counts.vertical + counts.horizontal, n, 0.6);
    expectRate(counts.vertical, n, 0.3);
    expectRate(counts.horizontal, n, 0.3);
    expectRate(counts.brightness, n, 0.3);
    expectRate(counts.swap, n, 0.15); // grid shuffle picked with 0.6 * 0.5, and a 1x2 shuffle swaps half of the time
  });

  it('rejects a crop larger than the image', () => {
    expect(() => full(coordinateSample(200, 200, 1, 3), createRng(1))).toThrow(expect.objectContaining({ code: 'OUT_OF_BOUNDS' }));
  });
});

describe('referenceValidTransform', () => {
  it('is the identity by default and a centre crop when sizes are given', () => {
    const sample = coordinateSample(256, 1600, 1, 4);
    expect(referenceValidTransform()(sample, createRng(1))).toBe(sample);
    const out = referenceValidTransform({ cropHeight: 224, cropWidth: 1568 })(sample, createRng(1));
    expect(expectAligned(sample, out)[0]).toBe(16 * 1600 + 16);
    const rows = referenceValidTransform({ cropHeight: 224 })(sample, createRng(1));
    expect([rows.height, rows.width]).toEqual([224, 1600]);
  });
});

describe('every transform keeps image and mask aligned', () => {
  const geometric: Array<[string, Transform]> = [
    ['randomCrop', randomCrop({ height: 5, width: 9 })],
    ['randomCrop on the mask', randomCrop({ height: 5, width: 9, maskCentreProbability: 1 })],
    ['centreCrop', centreCrop({ height: 4, width: 4 })],
    ['crop', (s) => crop(s, { top: 1, left: 2, height: 3, width: 4 })],
    ['flipHorizontal', flipHorizontal],
    ['flipVertical', flipVertical],
    ['gridShuffle 1x2', gridShuffle()],
    ['gridShuffle 3x3', gridShuffle({ rows: 3, cols: 3 })],
    ['padToMultiple then unpad', (s) => unpad(padToMultiple(s, { multiple: 8, value: -5 }).sample, padToMultiple(s, { multiple: 8 }).padding)],
    ['compose', compose([randomCrop({ height: 6, width: 10 }), flipVertical, gridShuffle()])],
  ];
  test.prop([fc.integer({ min: 0, max: 3 }), fc.integer()], { numRuns: 30 })('geometric transforms (coordinate images)', (maskChannels, seed) => {
    const sample = coordinateSample(9, 12, 3, maskChannels, seed);
    for (const [name, t] of geometric) {
      const out = t(sample, createRng(seed));
      expect(() => expectAligned(sample, out), name).not.toThrow();
    }
  });

  const pixelwise: Array<[string, Transform]> = [
    ['brightnessContrast', brightnessContrast()],
    ['gaussianNoise', gaussianNoise({ std: 5 })],
    ['blur', blur({ kind: 'gaussian', size: [3, 7] })],
    ['normalize', normalize({ mean: [0.5], std: [0.2] })],
    ['resize to the same size', resize({ height: 9, width: 12 })],
  ];
  it.each(pixelwise)('%s changes the image only, at the same size', (_, t) => {
    const sample = markerSample(9, 12, 1, 4, 5, false);
    const before = plain(sample);
    const out = t(sample, createRng(3));
    expect([out.height, out.width, out.channels, out.maskChannels]).toEqual([9, 12, 1, 4]);
    expect(Array.from(out.mask)).toEqual(before.mask);
    expect(plain(sample)).toEqual(before); // input untouched
  });

  it('the alignment check catches a transform that moves the mask differently', () => {
    const sample = coordinateSample(6, 6, 1, 2, 5);
    const broken: Transform = (s) => ({ ...crop(s, { top: 0, left: 0, height: 4, width: 4 }), mask: crop(s, { top: 1, left: 0, height: 4, width: 4 }).mask });
    expect(() => expectAligned(sample, broken(sample, createRng(1)))).toThrow(/misaligned/);
  });
});
