import { describe, expect, it } from 'vitest';
import { coordinateSample, hashByte } from './__fixtures__/samples.ts';
import { blur } from './blur.ts';
import { createRng } from './rng.ts';
import type { Sample } from './types.ts';

// Independent reference: pad by mirroring without repeating the edge (gfedcb|abcdefgh|gfedcba), then a direct 2D convolution
// with the outer product of the 1D kernel, in float64.
function reference(sample: Sample, kernel: number[]): number[] {
  const { height: H, width: W, channels: C, image } = sample;
  const r = (kernel.length - 1) / 2;
  const mirror = (i: number, n: number) => (i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i);
  const out: number[] = [];
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let k = 0; k < C; k++) {
        let acc = 0;
        for (let dy = -r; dy <= r; dy++) {
          for (let dx = -r; dx <= r; dx++) {
            acc += (kernel[dy + r] as number) * (kernel[dx + r] as number) * (image[(mirror(y + dy, H) * W + mirror(x + dx, W)) * C + k] as number);
          }
        }
        out.push(acc);
      }
    }
  }
  return out;
}

function randomFloatSample(height: number, width: number, channels: number): Sample {
  const image = Float32Array.from({ length: height * width * channels }, (_, i) => hashByte(3, i) / 7);
  return { image, mask: new Uint8Array(height * width * 4).fill(1), height, width, channels, maskChannels: 4 };
}

describe('blur', () => {
  it('box blur matches a direct 2D convolution with mirrored borders', () => {
    const sample = randomFloatSample(9, 11, 3);
    for (const size of [3, 5, 7]) {
      const out = blur({ size })(sample, createRng(1));
      const expected = reference(sample, new Array(size).fill(1 / size));
      out.image.forEach((v, i) => expect(v).toBeCloseTo(expected[i] as number, 4));
    }
  });

  it('gaussian blur matches a direct 2D convolution, with OpenCV default sigma or a given one', () => {
    const sample = randomFloatSample(8, 10, 1);
    for (const [size, sigma] of [[3, 0.8], [5, 1.1], [5, 2.5]] as const) {
      const r = (size - 1) / 2;
      const raw = Array.from({ length: size }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
      const total = raw.reduce((a, b) => a + b, 0);
      const out = blur({ kind: 'gaussian', size, ...(sigma === 2.5 ? { sigma } : {}) })(sample, createRng(1));
      const expected = reference(sample, raw.map((w) => w / total));
      out.image.forEach((v, i) => expect(v).toBeCloseTo(expected[i] as number, 4));
    }
  });

  it('rounds uint8 images, keeps constants constant and leaves the mask untouched', () => {
    const image = Uint8Array.from({ length: 6 * 7 }, (_, i) => hashByte(4, i));
    const sample: Sample = { image, mask: coordinateSample(6, 7, 1, 4).mask, height: 6, width: 7, channels: 1, maskChannels: 4 };
    const out = blur({ size: 5 })(sample, createRng(1));
    expect(out.image).toBeInstanceOf(Uint8Array);
    const expected = reference(sample, new Array(5).fill(0.2));
    out.image.forEach((v, i) => expect(Math.abs(v - (expected[i] as number))).toBeLessThanOrEqual(0.5 + 1e-6));
    expect(out.mask).toBe(sample.mask);
    const flat: Sample = { ...sample, image: new Uint8Array(42).fill(77) };
    expect(Array.from(blur({ kind: 'gaussian', size: 7 })(flat, createRng(1)).image)).toEqual(new Array(42).fill(77));
    // A kernel wider than the image still reflects inside it.
    const tiny: Sample = { ...sample, image: new Uint8Array(2).fill(5), mask: new Uint8Array(0), height: 1, width: 2, maskChannels: 0 };
    expect(Array.from(blur({ size: 7 })(tiny, createRng(1)).image)).toEqual([5, 5]);
  });

  it('draws odd sizes from a range', () => {
    const sample = randomFloatSample(12, 12, 1);
    const seen = new Set<string>();
    const t = blur({ size: [3, 7] });
    const rng = createRng(2);
    const bySize = new Map([3, 5, 7].map((k) => [blur({ size: k })(sample, rng).image.join(), k]));
    for (let i = 0; i < 60; i++) {
      const key = t(sample, rng).image.join();
      expect(bySize.has(key)).toBe(true);
      seen.add(key);
    }
    expect(seen.size).toBe(3);
  });

  it.each([{ size: 4 }, { size: [4, 4] as [number, number] }, { kind: 'median' }, { sigma: 0 }])('rejects %o', (options) => {
    expect(() => blur(options as never)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
  });
});
