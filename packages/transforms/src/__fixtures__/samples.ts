// Test helpers: sample builders, arbitraries and an independent statistics check.
import fc from 'fast-check';
import { expect } from 'vitest';
import type { Sample } from '../types.ts';

/** A deterministic pseudo-random byte for (seed, i), independent of the library's generator. */
export function hashByte(seed: number, i: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(i + 1, 0xc2b2ae35);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return (h >>> 0) & 0xff;
}

/**
 * A sample whose image encodes where each value came from: image value at (pixel p, channel k) is `p * channels + k + 1`
 * (Float32, exact below 2^24); the mask is pseudo-random binary from `seed`.
 */
export function coordinateSample(height: number, width: number, channels: number, maskChannels: number, seed = 1): Sample {
  const image = new Float32Array(height * width * channels);
  for (let i = 0; i < image.length; i++) image[i] = i + 1;
  const mask = new Uint8Array(height * width * maskChannels);
  for (let i = 0; i < mask.length; i++) mask[i] = hashByte(seed, i) & 1;
  return { image, mask, height, width, channels, maskChannels };
}

/**
 * Checks that every output pixel whose image carries a source coordinate has the mask of that source pixel, and every channel
 * of that source pixel; pixels holding `padValue` must hold `padMask` in every mask channel. Returns the source index per pixel
 * (-1 for padding).
 */
export function expectAligned(input: Sample, output: Sample, padValue?: number, padMask = 0): Int32Array {
  const { channels, maskChannels } = input;
  expect(output.channels).toBe(channels);
  expect(output.maskChannels).toBe(maskChannels);
  expect(output.image.length).toBe(output.height * output.width * channels);
  expect(output.mask.length).toBe(output.height * output.width * maskChannels);
  const fail = (what: string, p: number) => {
    throw new Error(`${what} at output pixel ${p} (row ${Math.floor(p / output.width)}, column ${p % output.width})`);
  };
  const pixels = output.height * output.width;
  const sources = new Int32Array(pixels);
  for (let p = 0; p < pixels; p++) {
    const v = output.image[p * channels] as number;
    if (padValue !== undefined && v === padValue) {
      for (let k = 0; k < channels; k++) if (output.image[p * channels + k] !== padValue) fail('padding image value', p);
      for (let k = 0; k < maskChannels; k++) if (output.mask[p * maskChannels + k] !== padMask) fail('padding mask value', p);
      sources[p] = -1;
      continue;
    }
    const s = (v - 1) / channels;
    if (!(Number.isInteger(s) && s >= 0 && s < input.height * input.width)) fail(`image value ${v} is no source coordinate`, p);
    for (let k = 1; k < channels; k++) if (output.image[p * channels + k] !== s * channels + k + 1) fail(`channel ${k} misaligned`, p);
    for (let k = 0; k < maskChannels; k++) {
      if (output.mask[p * maskChannels + k] !== input.mask[s * maskChannels + k]) fail(`mask channel ${k} misaligned`, p);
    }
    sources[p] = s;
  }
  return sources;
}

/** An arbitrary well-formed small sample: Uint8 or Float32 image, 1-4 channels, 0-5 mask channels, binary mask. */
export const arbSample = fc
  .record({
    height: fc.integer({ min: 1, max: 9 }),
    width: fc.integer({ min: 1, max: 9 }),
    channels: fc.integer({ min: 1, max: 4 }),
    maskChannels: fc.integer({ min: 0, max: 5 }),
    float: fc.boolean(),
  })
  .chain(({ height, width, channels, maskChannels, float }) => {
    const n = height * width * channels;
    const m = height * width * maskChannels;
    const image = float
      ? fc.float32Array({ minLength: n, maxLength: n, noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 })
      : fc.uint8Array({ minLength: n, maxLength: n });
    return fc.record({
      image: image as fc.Arbitrary<Float32Array | Uint8Array>,
      mask: fc.uint8Array({ min: 0, max: 1, minLength: m, maxLength: m }),
      height: fc.constant(height),
      width: fc.constant(width),
      channels: fc.constant(channels),
      maskChannels: fc.constant(maskChannels),
    });
  });

/** Expects `count` successes out of `n` to be within `z` binomial standard deviations of `n * p`. */
export function expectRate(count: number, n: number, p: number, z = 4.5): void {
  const sd = Math.sqrt(n * p * (1 - p));
  expect(Math.abs(count - n * p)).toBeLessThanOrEqual(z * sd);
}

/** Plain copy of a sample's fields for deep comparison. */
export function plain(sample: Sample): { image: number[]; mask: number[]; dims: number[] } {
  return {
    image: Array.from(sample.image),
    mask: Array.from(sample.mask),
    dims: [sample.height, sample.width, sample.channels, sample.maskChannels],
  };
}

/** True if every mask value is 0 or 1. */
export function isBinary(mask: Uint8Array): boolean {
  for (const v of mask) if (v > 1) return false;
  return true;
}
