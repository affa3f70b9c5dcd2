import { describe, expect, it } from 'vitest';
import { coordinateSample, hashByte, isBinary } from './__fixtures__/samples.ts';
import { resize } from './resize.ts';
import { createRng } from './rng.ts';
import type { Sample } from './types.ts';

const rng = createRng(1);

function randomSample(height: number, width: number, channels: number): Sample {
  const image = Float32Array.from({ length: height * width * channels }, (_, i) => hashByte(5, i));
  const mask = Uint8Array.from({ length: height * width * 2 }, (_, i) => hashByte(6, i) & 1);
  return { image, mask, height, width, channels, maskChannels: 2 };
}

// Independent float64 references, one output pixel at a time.
function bilinearAt(s: Sample, oh: number, ow: number, y: number, x: number, k: number): number {
  const coord = (o: number, n: number, on: number) => {
    const v = Math.max((o + 0.5) * (n / on) - 0.5, 0);
    const i0 = Math.min(Math.floor(v), n - 1);
    return { i0, i1: Math.min(i0 + 1, n - 1), f: Math.min(v - i0, 1) };
  };
  const cy = coord(y, s.height, oh);
  const cx = coord(x, s.width, ow);
  const v = (r: number, c: number) => s.image[(r * s.width + c) * s.channels + k] as number;
  const top = v(cy.i0, cx.i0) * (1 - cx.f) + v(cy.i0, cx.i1) * cx.f;
  const bottom = v(cy.i1, cx.i0) * (1 - cx.f) + v(cy.i1, cx.i1) * cx.f;
  return top * (1 - cy.f) + bottom * cy.f;
}

function areaAt(s: Sample, oh: number, ow: number, y: number, x: number, k: number): number {
  // Rectangle [y0, y1) x [x0, x1) in input pixels; sum of value times overlap area, over the rectangle's area.
  const y0 = (y * s.height) / oh;
  const y1 = ((y + 1) * s.height) / oh;
  const x0 = (x * s.width) / ow;
  const x1 = ((x + 1) * s.width) / ow;
  let acc = 0;
  for (let r = 0; r < s.height; r++) {
    const dy = Math.min(y1, r + 1) - Math.max(y0, r);
    if (dy <= 0) continue;
    for (let c = 0; c < s.width; c++) {
      const dx = Math.min(x1, c + 1) - Math.max(x0, c);
      if (dx > 0) acc += dy * dx * (s.image[(r * s.width + c) * s.channels + k] as number);
    }
  }
  return acc / ((y1 - y0) * (x1 - x0));
}

describe('resize', () => {
  it.each([
    { method: 'bilinear' as const, ref: bilinearAt },
    { method: 'area' as const, ref: areaAt },
  ])('$method matches an independent per-pixel computation, shrinking and growing', ({ method, ref }) => {
    const sample = randomSample(10, 13, 3);
    for (const [oh, ow] of [[5, 6], [7, 13], [16, 20], [3, 29]] as const) {
      const out = resize({ height: oh, width: ow, method })(sample, rng);
      expect([out.height, out.width, out.image.length]).toEqual([oh, ow, oh * ow * 3]);
      for (let y = 0; y < oh; y++) for (let x = 0; x < ow; x++) for (let k = 0; k < 3; k++) {
        expect(out.image[(y * ow + x) * 3 + k]).toBeCloseTo(ref(sample, oh, ow, y, x, k), 3);
      }
    }
  });

  it('area keeps the mean of the image and, at factor 2, averages 2x2 blocks', () => {
    const sample = randomSample(12, 18, 1);
    const mean = (a: ArrayLike<number>) => Array.from(a).reduce((x, y) => x + y, 0) / a.length;
    const out = resize({ height: 5, width: 7, method: 'area' })(sample, rng);
    expect(mean(out.image)).toBeCloseTo(mean(sample.image), 3);
    const half = resize({ height: 6, width: 9, method: 'area' })(sample, rng);
    const v = (r: number, c: number) => sample.image[r * 18 + c] as number;
    expect(half.image[2 * 9 + 3]).toBeCloseTo((v(4, 6) + v(4, 7) + v(5, 6) + v(5, 7)) / 4, 4);
  });

  it('resizes masks by nearest neighbour with half-pixel centres, so they stay binary and aligned', () => {
    const sample = coordinateSample(8, 10, 1, 3);
    const up = resize({ height: 16, width: 20 })(sample, rng);
    const down = resize({ height: 4, width: 5 })(sample, rng);
    expect(isBinary(up.mask) && isBinary(down.mask)).toBe(true);
    for (let r = 0; r < 16; r++) for (let c = 0; c < 20; c++) for (let k = 0; k < 3; k++) {
      expect(up.mask[(r * 20 + c) * 3 + k]).toBe(sample.mask[((r >> 1) * 10 + (c >> 1)) * 3 + k]);
    }
    for (let r = 0; r < 4; r++) for (let c = 0; c < 5; c++) for (let k = 0; k < 3; k++) {
      expect(down.mask[(r * 5 + c) * 3 + k]).toBe(sample.mask[((2 * r + 1) * 10 + 2 * c + 1) * 3 + k]);
    }
  });

  it('keeps a marker block in image and mask at the same place', () => {
    // A 4x4 block at rows 8-11, columns 12-15 of a 32x48 image, in image and in mask channel 2.
    const image = new Uint8Array(32 * 48);
    const mask = new Uint8Array(32 * 48 * 4);
    for (let r = 8; r < 12; r++) for (let c = 12; c < 16; c++) {
      image[r * 48 + c] = 200;
      mask[(r * 48 + c) * 4 + 2] = 1;
    }
    const sample: Sample = { image, mask, height: 32, width: 48, channels: 1, maskChannels: 4 };
    for (const [method, oh, ow] of [['area', 16, 24], ['bilinear', 16, 24], ['area', 64, 96], ['bilinear', 64, 96]] as const) {
      const out = resize({ height: oh, width: ow, method })(sample, rng);
      for (let p = 0; p < oh * ow; p++) {
        const inImage = (out.image[p] as number) >= 100;
        expect(out.mask[p * 4 + 2] === 1, `${method} ${oh}x${ow} pixel ${p}`).toBe(inImage);
      }
      expect(out.image).toBeInstanceOf(Uint8Array);
    }
  });

  it('returns the sample unchanged at its own size and rejects bad options', () => {
    const sample = randomSample(4, 4, 1);
    expect(resize({ height: 4, width: 4 })(sample, rng)).toBe(sample);
    expect(() => resize({ height: 0, width: 4 })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    expect(() => resize({ height: 4, width: 4, method: 'cubic' as never })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
  });
});
