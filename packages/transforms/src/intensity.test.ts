import { describe, expect, it } from 'vitest';
import { coordinateSample, hashByte } from './__fixtures__/samples.ts';
import { brightnessContrast, computeMeanStd, gaussianNoise, IMAGENET_MEAN, IMAGENET_STD, normalize } from './intensity.ts';
import { createRng } from './rng.ts';
import type { Sample } from './types.ts';

function byteSample(height: number, width: number, channels: number, seed = 1): Sample {
  const image = Uint8Array.from({ length: height * width * channels }, (_, i) => hashByte(seed, i));
  const mask = Uint8Array.from({ length: height * width * 4 }, (_, i) => hashByte(seed + 1, i) & 1);
  return { image, mask, height, width, channels, maskChannels: 4 };
}

describe('brightnessContrast', () => {
  it('follows albumentations on uint8: truncated lookup of clip(alpha * x + beta * 255)', () => {
    const sample = byteSample(16, 16, 1);
    sample.image.set(Uint8Array.from({ length: 256 }, (_, i) => i)); // every byte value
    for (const [alpha, beta] of [[1.2, 0.2], [0.8, -0.2], [1.13, -0.05], [1, 0]] as const) {
      const t = brightnessContrast({ contrast: [alpha - 1, alpha - 1], brightness: [beta, beta] });
      const out = t(sample, createRng(1));
      expect(out.image).toBeInstanceOf(Uint8Array);
      for (let i = 0; i < 256; i++) {
        const y = Math.min(Math.max(i * alpha + beta * 255, 0), 255);
        expect(out.image[i]).toBe(Math.trunc(y));
      }
      expect(out.mask).toEqual(sample.mask);
    }
  });

  it('keeps float images float, clipped to [0, maxValue]', () => {
    const image = Float32Array.from([0, 0.25, 0.5, 0.9, 1]);
    const sample: Sample = { image, mask: new Uint8Array(0), height: 1, width: 5, channels: 1, maskChannels: 0 };
    const out = brightnessContrast({ contrast: [0.2, 0.2], brightness: [0.1, 0.1] })(sample, createRng(1));
    expect(Array.from(out.image)).toEqual([0.1, 0.4, 0.7, 1, 1].map((x) => Math.fround(x)));
    const scaled = brightnessContrast({ contrast: [0, 0], brightness: [-0.1, -0.1], maxValue: 255 })(
      { ...sample, image: Float32Array.from([10, 100, 255]), width: 3 },
      createRng(1),
    );
    expect(Array.from(scaled.image)).toEqual([0, 74.5, 229.5]);
  });

  it('draws alpha and beta inside the limits', () => {
    const sample = byteSample(1, 256, 1);
    sample.image.set(Uint8Array.from({ length: 256 }, (_, i) => i));
    const t = brightnessContrast({ brightness: 0.2, contrast: 0.2 });
    const r = createRng(3);
    for (let n = 0; n < 200; n++) {
      const out = t(sample, r).image;
      // Between the darkest and brightest possible lookups, and non-decreasing in x.
      for (let i = 0; i < 256; i++) {
        const y = out[i] as number;
        const low = Math.trunc(Math.max(0, Math.min(i * 0.8, i * 1.2) - 0.2 * 255));
        const high = Math.trunc(Math.min(255, Math.max(i * 0.8, i * 1.2) + 0.2 * 255));
        if (y < low || y > high || (i > 0 && y < (out[i - 1] as number))) throw new Error(`lookup ${i} -> ${y} outside [${low}, ${high}]`);
      }
    }
  });
});

describe('gaussianNoise', () => {
  it('adds noise with the requested mean and deviation to float images', () => {
    const sample = coordinateSample(100, 200, 1, 0);
    const out = gaussianNoise({ std: 2, mean: 0.5 })(sample, createRng(4));
    let sum = 0;
    let sumSq = 0;
    const n = sample.image.length;
    for (let i = 0; i < n; i++) {
      const d = (out.image[i] as number) - (sample.image[i] as number);
      sum += d;
      sumSq += d * d;
    }
    const mean = sum / n;
    expect(Math.abs(mean - 0.5)).toBeLessThan((4 * 2) / Math.sqrt(n));
    expect(Math.abs(Math.sqrt(sumSq / n - mean * mean) - 2)).toBeLessThan(0.05);
  });

  it('rounds and clips uint8 images; perChannel false adds the same noise to every channel', () => {
    const sample = byteSample(20, 20, 3);
    for (let i = 0; i < sample.image.length; i += 3) sample.image.fill(sample.image[i] as number, i, i + 3);
    sample.image[0] = 255;
    sample.image[1] = 255;
    sample.image[2] = 255;
    const out = gaussianNoise({ std: [20, 30], perChannel: false })(sample, createRng(5));
    expect(out.image).toBeInstanceOf(Uint8Array);
    for (let i = 0; i < out.image.length; i += 3) {
      expect(out.image[i + 1]).toBe(out.image[i]);
      expect(out.image[i + 2]).toBe(out.image[i]);
    }
    expect(out.image).not.toEqual(sample.image);
    expect(out.mask).toEqual(sample.mask);
  });

  it('requires a non-negative std', () => {
    expect(() => gaussianNoise({ std: -1 })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    expect(() => gaussianNoise({} as never)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
  });
});

describe('normalize and computeMeanStd', () => {
  it('computes (x / 255 - mean) / std per channel (ImageNet by default)', () => {
    const sample = byteSample(5, 7, 3);
    const out = normalize()(sample, createRng(1));
    expect(out.image).toBeInstanceOf(Float32Array);
    for (let i = 0; i < sample.image.length; i++) {
      const k = i % 3;
      const expected = ((sample.image[i] as number) / 255 - (IMAGENET_MEAN[k] as number)) / (IMAGENET_STD[k] as number);
      expect(out.image[i]).toBeCloseTo(expected, 5);
    }
    expect(out.mask).toBe(sample.mask);
  });

  it('computeMeanStd matches a direct two-pass computation and makes normalize standardise', () => {
    const samples = [byteSample(8, 9, 3, 1), byteSample(4, 6, 3, 2)];
    const { mean, std } = computeMeanStd(samples);
    for (let k = 0; k < 3; k++) {
      const values = samples.flatMap((s) => Array.from(s.image).filter((_, i) => i % 3 === k));
      const m = values.reduce((a, b) => a + b, 0) / values.length;
      const v = values.reduce((a, b) => a + (b - m) ** 2, 0) / values.length;
      expect(mean[k]).toBeCloseTo(m / 255, 12);
      expect(std[k]).toBeCloseTo(Math.sqrt(v) / 255, 12);
    }
    const t = normalize({ mean, std });
    const stats = computeMeanStd(samples.map((s) => t(s, createRng(1))), { maxPixelValue: 1 });
    for (let k = 0; k < 3; k++) {
      expect(stats.mean[k]).toBeCloseTo(0, 5);
      expect(stats.std[k]).toBeCloseTo(1, 5);
    }
  });

  it('explains ImageNet statistics on a grey image', () => {
    expect(() => normalize()(byteSample(2, 2, 1), createRng(1))).toThrowErrorMatchingInlineSnapshot(
      `[TransformError: normalize: expected mean with 1 entry for a 1-channel image, got 3. For grey images pass one value each, e.g. { mean: [0.5], std: [0.25] }.]`,
    );
  });

  it.each([
    { name: 'std 0', run: () => normalize({ std: [0] }), code: 'INVALID_OPTION' },
    { name: 'empty mean', run: () => normalize({ mean: [] }), code: 'INVALID_OPTION' },
    { name: 'no images', run: () => computeMeanStd([]), code: 'INVALID_OPTION' },
    { name: 'mixed channels', run: () => computeMeanStd([byteSample(2, 2, 1), byteSample(2, 2, 3)]), code: 'SHAPE_MISMATCH' },
  ])('rejects $name with $code', ({ run, code }) => {
    expect(run).toThrow(expect.objectContaining({ code }));
  });
});
