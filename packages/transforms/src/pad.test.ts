import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { arbSample, coordinateSample, expectAligned, plain } from './__fixtures__/samples.ts';
import { cropBack, padToMultiple, unpad } from './pad.ts';

describe('padToMultiple, unpad, cropBack', () => {
  test.prop([arbSample, fc.integer({ min: 1, max: 8 })])('unpad(padToMultiple(s)) is the identity', (sample, multiple) => {
    const { sample: padded, padding } = padToMultiple(sample, { multiple, value: 7, maskValue: 1 });
    expect(padded.height % multiple).toBe(0);
    expect(padded.width % multiple).toBe(0);
    expect(padded.height - sample.height).toBeLessThan(multiple);
    expect(padded.width - sample.width).toBeLessThan(multiple);
    expect(padding).toEqual({ height: sample.height, width: sample.width, paddedHeight: padded.height, paddedWidth: padded.width });
    expect(plain(unpad(padded, padding))).toEqual(plain(sample));
    expect(Array.from(cropBack(padded.image, padding, sample.channels))).toEqual(Array.from(sample.image));
    if (sample.maskChannels > 0) expect(Array.from(cropBack(padded.mask, padding, sample.maskChannels))).toEqual(Array.from(sample.mask));
  });

  it('pads right and bottom with the given values, keeping the content in place', () => {
    const sample = coordinateSample(250, 37, 3, 4);
    const { sample: padded, padding } = padToMultiple(sample, { value: -1 });
    expect([padded.height, padded.width]).toEqual([256, 64]);
    expect(padding).toEqual({ height: 250, width: 37, paddedHeight: 256, paddedWidth: 64 });
    const sources = expectAligned(sample, padded, -1, 0);
    expect(sources[0]).toBe(0);
    expect(sources[64 + 36]).toBe(37 + 36); // row 1, last original column
    expect(sources[64 + 37]).toBe(-1); // first padded column
    expect(sources[250 * 64]).toBe(-1); // first padded row
  });

  it('returns a sample that already fits unchanged, and pads Uint8 images with 0 by default', () => {
    const sample = coordinateSample(256, 1600, 1, 4);
    const { sample: same, padding } = padToMultiple(sample);
    expect(same).toBe(sample);
    expect(unpad(same, padding)).toBe(sample);
    const bytes = { image: new Uint8Array(6).fill(9), mask: new Uint8Array(0), height: 2, width: 3, channels: 1, maskChannels: 0 };
    expect(Array.from(padToMultiple(bytes, { multiple: 4 }).sample.image)).toEqual([9, 9, 9, 0, 9, 9, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it.each([
    { name: 'multiple 0', run: () => padToMultiple(coordinateSample(2, 2, 1, 1), { multiple: 0 }), code: 'INVALID_OPTION' },
    { name: 'mask value 2', run: () => padToMultiple(coordinateSample(2, 2, 1, 1), { maskValue: 2 }), code: 'INVALID_OPTION' },
    {
      name: 'value 300 for a Uint8 image',
      run: () => padToMultiple({ image: new Uint8Array(1), mask: new Uint8Array(0), height: 1, width: 1, channels: 1, maskChannels: 0 }, { value: 300 }),
      code: 'INVALID_OPTION',
    },
    { name: 'unpad of the wrong size', run: () => unpad(coordinateSample(2, 2, 1, 1), { height: 1, width: 1, paddedHeight: 32, paddedWidth: 32 }), code: 'SHAPE_MISMATCH' },
    { name: 'cropBack of the wrong length', run: () => cropBack(new Float32Array(10), { height: 1, width: 1, paddedHeight: 32, paddedWidth: 32 }, 4), code: 'SHAPE_MISMATCH' },
  ])('rejects $name with $code', ({ run, code }) => {
    expect(run).toThrow(expect.objectContaining({ code }));
  });

  it('explains a size mismatch', () => {
    expect(() => cropBack(new Float32Array(10), { height: 250, width: 1600, paddedHeight: 256, paddedWidth: 1600 }, 4)).toThrowErrorMatchingInlineSnapshot(
      `[TransformError: cropBack: expected 256x1600x4 = 1638400 values, got 10.]`,
    );
  });
});
