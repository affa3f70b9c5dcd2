import { fc, test } from '@fast-check/vitest';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { polygonBlobMask } from '../bench/masks.ts';
import { decode, encode } from './codec.ts';
import { isRleError, type RleError } from './errors.ts';
import { decodeKernel } from './kernels.ts';
import { referenceDecode } from './reference.test-utils.ts';

/** The codec with WebAssembly unavailable: a second module instance whose kernel lookup finds none. */
let decodeJs: typeof decode;
beforeAll(async () => {
  vi.resetModules();
  vi.doMock('./kernels', async (original) => ({ ...(await original<typeof import('./kernels.ts')>()), decodeKernel: () => undefined }));
  decodeJs = (await import('./codec.ts')).decode;
  vi.doUnmock('./kernels');
});

/**
 * RLE of masks of at least 4096 pixels with widths that are multiples of 16 (decoded by the WebAssembly SIMD kernel),
 * built from column-major runs so that runs wrap from the bottom of a column into the next; some touch the last pixel.
 */
const kernelRle = fc
  .record({ strips: fc.integer({ min: 1, max: 110 }), height: fc.integer({ min: 1, max: 300 }) })
  .map(({ strips, height }) => ({ width: 16 * strips, height: Math.max(height, Math.ceil(4096 / (16 * strips))) }))
  .chain(({ height, width }) =>
    fc.record({
      height: fc.constant(height),
      width: fc.constant(width),
      runs: fc.array(fc.tuple(fc.nat({ max: 3 * height }), fc.integer({ min: 1, max: 3 * height })), { maxLength: 200 }),
      tail: fc.boolean(),
    }),
  )
  .map(({ height, width, runs, tail }) => {
    const n = height * width;
    const pairs: number[] = [];
    let p = 0;
    for (const [gap, length] of runs) {
      const start = p + gap;
      if (start >= n) break;
      const end = Math.min(n, start + length);
      pairs.push(start + 1, end - start);
      p = end;
    }
    if (tail && p < n) pairs.push(n, 1);
    return { height, width, rle: pairs.join(' ') };
  });

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

function errorOf(call: () => unknown): RleError | undefined {
  try {
    call();
  } catch (error) {
    if (isRleError(error)) return error;
    throw error;
  }
  return undefined;
}

describe('decode: WebAssembly SIMD kernel and JavaScript fallback', () => {
  it('the kernel compiles here', () => {
    expect(decodeKernel()).toBeDefined();
  });

  test.prop([kernelRle], { numRuns: 80 })('both paths equal the numpy reference, new and reused masks', ({ height, width, rle }) => {
    const text = rle;
    const expected = referenceDecode(text, height, width);
    expect(firstDifference(decode(text, { height, width }), expected)).toBe(-1);
    expect(firstDifference(decodeJs(text, { height, width }), expected)).toBe(-1);
    const out = new Uint8Array(height * width).fill(5);
    expect(decode(text, { height, width, out })).toBe(out);
    expect(firstDifference(out, expected)).toBe(-1);
  });

  test.prop([kernelRle, kernelRle], { numRuns: 30 })('a call leaves nothing behind for the next, of the same or another shape', (a, b) => {
    for (const { height, width, rle } of [a, b, a, a]) {
      expect(firstDifference(decode(rle, { height, width }), referenceDecode(rle, height, width))).toBe(-1);
    }
  });

  test.prop([kernelRle, fc.nat(), fc.constantFrom(' x', ' 0', ' 1.5', ' -1', ' 2', '\t3 4', ' 99999999999', ' 12345678', ' 0007', ' é', ' ３', ' 4\u0000')], { numRuns: 60 })(
    'malformed or non-canonical text: same result or same error on both paths, and the next call is clean',
    ({ height, width, rle }, at, insert) => {
      const tokens = rle === '' ? [] : rle.split(' ');
      const k = tokens.length === 0 ? 0 : at % (tokens.length + 1);
      const text = [...tokens.slice(0, k), insert.trim(), ...tokens.slice(k)].join(insert.startsWith('\t') ? '\t' : ' ');
      const wasm = errorOf(() => decode(text, { height, width }));
      const js = errorOf(() => decodeJs(text, { height, width }));
      expect(wasm?.message).toBe(js?.message);
      expect(wasm?.code).toBe(js?.code);
      if (wasm === undefined) expect(firstDifference(decode(text, { height, width }), decodeJs(text, { height, width }))).toBe(-1);
      expect(firstDifference(decode(rle, { height, width }), referenceDecode(rle, height, width))).toBe(-1);
    },
  );

  test.prop([kernelRle, fc.nat({ max: 9 })], { numRuns: 40 })('numbers with leading zeros decode like without, up to any length', ({ height, width, rle }, pad) => {
    const padded = rle === '' ? '' : rle.split(' ').map((token) => token.padStart(token.length + pad, '0')).join(' ');
    const expected = referenceDecode(rle, height, width);
    expect(firstDifference(decode(padded, { height, width }), expected)).toBe(-1);
    expect(firstDifference(decodeJs(padded, { height, width }), expected)).toBe(-1);
  });

  it('decodes the realistic 256x1600 masks, runs that touch, and a run through the last pixel', () => {
    const shape = { height: 256, width: 1600 };
    for (let seed = 0; seed < 4; seed++) {
      const mask = polygonBlobMask(seed);
      const rle = encode(mask, shape);
      expect(firstDifference(decode(rle, shape), mask)).toBe(-1);
      expect(firstDifference(decodeJs(rle, shape), mask)).toBe(-1);
    }
    for (const [height, width, rle] of [[1, 4096, '1 5 100 2000 2100 1 4000 97'], [2, 4096, '2 3 9 4000 8190 3'], [4096, 16, '4000 9000 60000 5536']] as const) {
      const expected = referenceDecode(rle, height, width);
      expect(firstDifference(decode(rle, { height, width }), expected)).toBe(-1);
      expect(firstDifference(decodeJs(rle, { height, width }), expected)).toBe(-1);
    }
    const n = 256 * 1600;
    const touching = `1 256 257 10 267 1 300 600 ${n - 400} 400`;
    expect(firstDifference(decode(touching, shape), referenceDecode(touching, 256, 1600))).toBe(-1);
    expect(firstDifference(decode(`  1 3   ${n} 1 `, shape), referenceDecode(`1 3 ${n} 1`, 256, 1600))).toBe(-1);
  });
});
