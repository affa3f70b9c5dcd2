import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { polygonBlobMask } from '../bench/masks.ts';
import { decode, encode, validateRle } from './codec.ts';
import { isRleError, RleError } from './errors.ts';
import golden from './__fixtures__/golden.json';
import { columnMajorFromRuns, referenceDecode, referenceEncode } from './reference.test-utils.ts';

/** Random masks built from column-major runs, so runs often wrap from the bottom of a column into the next one. */
const runMask = fc
  .record({ height: fc.integer({ min: 1, max: 12 }), width: fc.oneof(fc.integer({ min: 1, max: 12 }), fc.constantFrom(64, 128)) })
  .chain(({ height, width }) =>
    fc.record({
      height: fc.constant(height),
      width: fc.constant(width),
      runs: fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 2 * height + 1 })), { maxLength: 3 * width }),
    }),
  )
  .map(({ height, width, runs }) => {
    const n = height * width;
    const columnMajor = columnMajorFromRuns(n, runs);
    const data = new Uint8Array(n);
    for (let c = 0; c < width; c++) for (let r = 0; r < height; r++) data[r * width + c] = columnMajor[c * height + r]!;
    return { height, width, data };
  });

/** Uniformly random masks; values include 128 and 255, which also count as on. */
const noiseMask = fc
  .record({ height: fc.integer({ min: 1, max: 16 }), width: fc.oneof(fc.integer({ min: 1, max: 16 }), fc.constant(64)) })
  .chain(({ height, width }) =>
    fc.record({
      height: fc.constant(height),
      width: fc.constant(width),
      data: fc.uint8Array({ minLength: height * width, maxLength: height * width }).map((d) => d.map((v) => [0, 0, 0, 1, 128, 255][v % 6]!)),
    }),
  );

const binary = (data: Uint8Array) => data.map((v) => (v !== 0 ? 1 : 0));

describe('encode and decode', () => {
  test.prop([runMask])('decode(encode(mask)) returns the mask, for runs that wrap into the next column', (mask) => {
    const rle = encode(mask);
    expect(rle).toBe(referenceEncode(mask.data, mask.height, mask.width));
    expect(decode(rle, mask)).toEqual(mask.data);
  });

  test.prop([noiseMask])('encode matches the numpy reference for any byte values, nonzero = on', (mask) => {
    const rle = encode(mask.data, mask);
    expect(rle).toBe(referenceEncode(mask.data, mask.height, mask.width));
    expect(decode(rle, mask)).toEqual(binary(mask.data));
  });

  test.prop([runMask])('encode(decode(rle)) returns the rle, and decode matches the numpy reference', (mask) => {
    const rle = referenceEncode(mask.data, mask.height, mask.width);
    const decoded = decode(rle, { height: mask.height, width: mask.width });
    expect(decoded).toEqual(referenceDecode(rle, mask.height, mask.width));
    expect(encode(decoded, mask)).toBe(rle);
  });

  test.prop([noiseMask])('masks at an unaligned offset, number arrays and Float32Arrays encode the same', (mask) => {
    const expected = referenceEncode(mask.data, mask.height, mask.width);
    const shifted = new Uint8Array(mask.data.length + 3);
    shifted.set(mask.data, 3);
    expect(encode(shifted.subarray(3), mask)).toBe(expected);
    expect(encode(Array.from(mask.data), mask)).toBe(expected);
    expect(encode(Float32Array.from(mask.data), mask)).toBe(expected);
  });

  it.each(golden.cases)('golden: $name', ({ height, width, rle, rows }) => {
    const data = Uint8Array.from(rows.join(''), (ch) => Number(ch));
    expect(encode(data, { height, width })).toBe(rle);
    expect(decode(rle, { height, width })).toEqual(data);
  });

  it('encodes and decodes realistic 256x1600 masks like the reference', () => {
    for (const seed of [1, 2, 3]) {
      const data = polygonBlobMask(seed);
      const rle = encode(data, { height: 256, width: 1600 });
      expect(rle).toBe(referenceEncode(data, 256, 1600));
      expect(rle.split(' ').length / 2).toBeGreaterThan(100);
      expect(firstDifference(decode(rle, { height: 256, width: 1600 }), data)).toBe(-1);
    }
  });

  it('takes a BinaryMask, shapes with extra fields, and decodes into a reused mask', () => {
    const data = new Uint8Array([1, 0, 1, 0, 1, 0, 0, 0]);
    expect(encode({ data, height: 4, width: 2 })).toBe('1 3');
    expect(encode(data, { height: 4, width: 2, channels: 1 } as { height: number; width: number })).toBe('1 3');
    const out = new Uint8Array(8).fill(1);
    expect(decode('1 3', { height: 4, width: 2, out })).toBe(out);
    expect(out).toEqual(data);
  });

  it('accepts any whitespace between tokens, like Python split()', () => {
    expect(decode('  1 1\t3  2 \n', { height: 2, width: 2 })).toEqual(new Uint8Array([1, 1, 0, 1]));
    expect(decode(' ', { height: 2, width: 2 })).toEqual(new Uint8Array(4));
    expect(validateRle('1 1 3 2', { height: 2, width: 2 })).toBe(2);
  });
});

/** Masks of at least 4096 pixels and width >= 16 (decoded by flips and a WebAssembly SIMD prefix XOR down the columns). */
const largeRunMask = fc
  .record({ height: fc.integer({ min: 1, max: 300 }), width: fc.integer({ min: 16, max: 700 }) })
  .filter(({ height, width }) => height * width >= 4096)
  .chain(({ height, width }) =>
    fc.record({
      height: fc.constant(height),
      width: fc.constant(width),
      runs: fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 2 * height + 1 })), { maxLength: 400 }),
    }),
  )
  .map(({ height, width, runs }) => {
    const n = height * width;
    const columnMajor = columnMajorFromRuns(n, runs);
    return { height, width, rle: referenceEncode(Array.from(columnMajor), n, 1) };
  });

describe('large masks', () => {
  test.prop([largeRunMask], { numRuns: 60 })('decode matches the numpy reference and the checked path (tab separators)', ({ height, width, rle }) => {
    const expected = referenceDecode(rle, height, width);
    expect(firstDifference(decode(rle, { height, width }), expected)).toBe(-1);
    const out = new Uint8Array(height * width).fill(7);
    expect(decode(rle, { height, width, out })).toBe(out);
    expect(firstDifference(out, expected)).toBe(-1);
    expect(firstDifference(decode(rle.replaceAll(' ', '\t'), { height, width }), expected)).toBe(-1);
  });

  it('decodes touching runs (one ends where the next starts) and runs through the last pixel', () => {
    const height = 64;
    const width = 80;
    const n = height * width;
    const rle = `1 64 65 10 75 1 200 300 ${n - 100} 100`;
    expect(firstDifference(decode(rle, { height, width }), referenceDecode(rle, height, width))).toBe(-1);
  });

  it('decodes the realistic 256x1600 benchmark masks exactly', () => {
    for (let seed = 1; seed <= 4; seed++) {
      const mask = polygonBlobMask(seed);
      const rle = referenceEncode(mask, 256, 1600);
      expect(firstDifference(decode(rle, { height: 256, width: 1600 }), mask)).toBe(-1);
    }
  });
});

describe('errors', () => {
  const shape = { height: 4, width: 2 };
  it.each([
    { rle: '1 2 5', code: 'INVALID_RLE', token: 3, why: 'odd token count' },
    { rle: '1 x', code: 'INVALID_RLE', token: 2, why: 'not an integer' },
    { rle: '1.5 2', code: 'INVALID_RLE', token: 1, why: 'not an integer' },
    { rle: '-1 2', code: 'INVALID_RLE', token: 1, why: 'negative' },
    { rle: '0 2', code: 'INVALID_RLE', token: 1, why: 'zero start' },
    { rle: '1 0', code: 'INVALID_RLE', token: 2, why: 'zero length' },
    { rle: '1 3 2 1', code: 'INVALID_RLE', token: 3, why: 'overlap' },
    { rle: '5 1 1 1', code: 'INVALID_RLE', token: 3, why: 'backwards' },
    { rle: '9 1', code: 'OUT_OF_BOUNDS', token: 1, why: 'start past the last pixel' },
    { rle: '7 3', code: 'OUT_OF_BOUNDS', token: 2, why: 'run past the last pixel' },
    { rle: '1 99999999999999999999', code: 'OUT_OF_BOUNDS', token: 2, why: 'huge length' },
  ])('$why: $rle -> $code at token $token', ({ rle, code, token }) => {
    const error = catchError(() => decode(rle, shape));
    expect(error.code).toBe(code);
    expect(error.location.token).toBe(token);
    expect(error.message).toContain(`token ${token}`);
    expect(catchError(() => validateRle(rle, shape)).code).toBe(code);
  });

  it.each([
    { call: () => decode('1 1', { height: 0, width: 2 }), why: 'zero height' },
    { call: () => decode('1 1', { height: 2.5, width: 2 }), why: 'fractional height' },
    { call: () => encode(new Uint8Array(3), { height: 2, width: 2 }), why: 'wrong length' },
    { call: () => decode('1 1', { height: 2, width: 2, out: new Uint8Array(3) }), why: 'wrong out length' },
  ])('SHAPE_MISMATCH: $why', ({ call }) => {
    expect(catchError(call).code).toBe('SHAPE_MISMATCH');
  });

  it('messages name the token, what was expected and what was found', () => {
    expect(catchError(() => decode('1 2 5', shape)).message).toMatchInlineSnapshot(`"Invalid RLE: expected an even number of tokens (start length pairs), got 3; token 3 (start 5) has no length."`);
    expect(catchError(() => decode('1 3 2 1', shape)).message).toMatchInlineSnapshot(`"Invalid RLE at token 3 (start of run 2): expected a start of at least 4 (after run 1, which ends at pixel 3), got 2; runs must be sorted and must not overlap."`);
    expect(catchError(() => decode('1 0', shape)).message).toMatchInlineSnapshot(`"Invalid RLE at token 2 (length of run 1): expected a length of at least 1, got a zero length ('0')."`);
    expect(catchError(() => decode('7 3', shape)).message).toMatchInlineSnapshot(`"RLE run past the last pixel at token 2 (length of run 1): expected a length of at most 2 (run 7 3 must end by pixel 8 of 4x2), got 3."`);
    expect(catchError(() => encode(new Uint8Array(3), { height: 2, width: 2 })).message).toMatchInlineSnapshot(`"encode: mask: expected 2x2 = 4 values, got 3."`);
  });

  it('is an RleError that isRleError recognizes', () => {
    const error = catchError(() => decode('1', shape));
    expect(error).toBeInstanceOf(RleError);
    expect(error.name).toBe('RleError');
    expect(isRleError(error)).toBe(true);
    expect(isRleError(new Error('x'))).toBe(false);
  });
});

/** Index of the first differing element, or -1 (vitest's deep equality is slow on 409,600-element arrays). */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

function catchError(call: () => unknown): RleError {
  try {
    call();
  } catch (error) {
    if (isRleError(error)) return error;
    throw error;
  }
  throw new Error('expected an RleError, nothing was thrown');
}
