import { fc, test } from '@fast-check/vitest';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { polygonBlobMask } from '../bench/masks.ts';
import { encode } from './codec.ts';
import { encodeKernel } from './kernels.ts';
import { referenceEncode } from './reference.test-utils.ts';

/** The codec with WebAssembly unavailable: a second module instance whose kernel lookup finds none. */
let encodeJs: typeof encode;
beforeAll(async () => {
  vi.resetModules();
  vi.doMock('./kernels', async (original) => ({ ...(await original<typeof import('./kernels.ts')>()), encodeKernel: () => undefined }));
  encodeJs = (await import('./codec.ts')).encode;
  vi.doUnmock('./kernels');
});

/**
 * Masks of at least 4096 pixels (encoded by the WebAssembly SIMD kernel), widths multiple of 16 and not, built from
 * column-major runs so that runs wrap from the bottom of a column into the next; on pixels take values 1, 7, 128 or 255.
 */
const kernelMask = fc
  .record({
    width: fc.oneof(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 40 }).map((k) => 16 * k), fc.constantFrom(1600, 1601)),
    height: fc.integer({ min: 1, max: 260 }),
  })
  .map(({ width, height }) => ({ width, height: Math.max(height, Math.ceil(4096 / width)) }))
  .chain(({ height, width }) =>
    fc.record({
      height: fc.constant(height),
      width: fc.constant(width),
      runs: fc.array(fc.tuple(fc.constantFrom(0, 1, 7, 128, 255), fc.integer({ min: 1, max: 2 * height + 1 })), { maxLength: 300 }),
    }),
  )
  .map(({ height, width, runs }) => {
    const n = height * width;
    const columnMajor = new Uint8Array(n);
    let p = 0;
    for (const [value, length] of runs) {
      columnMajor.fill(value, p, Math.min(n, p + length));
      p += length;
    }
    const data = new Uint8Array(n);
    for (let c = 0; c < width; c++) for (let r = 0; r < height; r++) data[r * width + c] = columnMajor[c * height + r]!;
    return { height, width, data };
  });

describe('encode: WebAssembly SIMD kernel and JavaScript fallback', () => {
  it('the kernel compiles here, and the fallback module has none', () => {
    expect(encodeKernel()).toBeDefined();
  });

  test.prop([kernelMask], { numRuns: 80 })('both paths equal the numpy reference, incl. runs wrapping into the next column', ({ height, width, data }) => {
    const expected = referenceEncode(data, height, width);
    expect(encode(data, { height, width })).toBe(expected);
    expect(encodeJs(data, { height, width })).toBe(expected);
  });

  it('both paths agree on the realistic 256x1600 masks, at an unaligned offset too, and after a larger mask', () => {
    const shape = { height: 256, width: 1600 };
    const big = new Uint8Array(512 * 1600).fill(1);
    expect(encode(big, { height: 512, width: 1600 })).toBe(referenceEncode(big, 512, 1600));
    for (let seed = 0; seed < 4; seed++) {
      const mask = polygonBlobMask(seed);
      const expected = referenceEncode(mask, 256, 1600);
      expect(encode(mask, shape)).toBe(expected);
      expect(encodeJs(mask, shape)).toBe(expected);
      const shifted = new Uint8Array(mask.length + 3);
      shifted.set(mask, 3);
      expect(encode(shifted.subarray(3), shape)).toBe(expected);
    }
    // Seven-digit starts and lengths (1024x1024), after which the realistic shape again.
    const large = new Uint8Array(1024 * 1024);
    for (let i = 0; i < large.length; i += 4099) large.fill(1, i, i + (i % 7) + 1);
    large.fill(1, 300_000, 1_048_000);
    expect(encode(large, { height: 1024, width: 1024 })).toBe(referenceEncode(large, 1024, 1024));
    expect(encode(polygonBlobMask(9), shape)).toBe(referenceEncode(polygonBlobMask(9), 256, 1600));
    // One and two rows, wide: every pixel's predecessor is in the previous column.
    for (const [height, width] of [[1, 5000], [2, 4096], [3, 4099]] as const) {
      const flat = new Uint8Array(height * width).map((_, i) => ((i * 7919) % 13 < 6 ? 1 : 0));
      expect(encode(flat, { height, width })).toBe(referenceEncode(flat, height, width));
      expect(encodeJs(flat, { height, width })).toBe(referenceEncode(flat, height, width));
    }
    // A full mask then a smaller one: no stale bytes or indices from the earlier call.
    expect(encode(new Uint8Array(4096), { height: 64, width: 64 })).toBe('');
    expect(encode(new Uint8Array(4096).fill(9), { height: 64, width: 64 })).toBe('1 4096');
  });
});
