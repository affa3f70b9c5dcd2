import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { floodFill } from './__fixtures__/reference.ts';
import { labelComponents } from './components.ts';
import { isEnsembleError } from './errors.ts';

/** Masks of varied density, from sparse specks to nearly full. */
const mask = fc
  .record({ height: fc.integer({ min: 1, max: 24 }), width: fc.integer({ min: 1, max: 24 }), density: fc.double({ min: 0, max: 1, noNaN: true }) })
  .chain(({ height, width, density }) =>
    fc.record({
      height: fc.constant(height),
      width: fc.constant(width),
      data: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: height * width, maxLength: height * width }).map(
        (u) => Uint8Array.from(u, (v) => (v < density ? 1 : 0)),
      ),
    }),
  );

describe('labelComponents', () => {
  test.prop([mask, fc.constantFrom(4 as const, 8 as const)], { numRuns: 300 })('matches a flood fill (labels in raster order)', ({ height, width, data }, connectivity) => {
    const got = labelComponents(data, { height, width }, { connectivity });
    const want = floodFill(data, height, width, connectivity);
    expect(got.count).toBe(want.count);
    expect(got.labels).toEqual(want.labels);
  });

  it('joins diagonal neighbours only when 8-connected', () => {
    const data = new Uint8Array([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    expect(labelComponents(data, { height: 3, width: 3 }).count).toBe(1);
    expect(labelComponents(data, { height: 3, width: 3 }, { connectivity: 4 }).count).toBe(3);
  });

  it('labels a U shape whose arms meet late as one component', () => {
    // The two arms start as separate runs and are joined by the bottom row: the second pass must give them one label.
    const rows = ['1001', '1001', '1111'];
    const data = Uint8Array.from(rows.join(''), (ch) => Number(ch));
    const { labels, count } = labelComponents(data, { height: 3, width: 4 }, { connectivity: 4 });
    expect(count).toBe(1);
    expect([...labels]).toEqual([1, 0, 0, 1, 1, 0, 0, 1, 1, 1, 1, 1]);
  });

  it.each([
    { mask: new Uint8Array(5), shape: { height: 2, width: 3 }, options: {}, code: 'SHAPE_MISMATCH' },
    { mask: new Uint8Array(6), shape: { height: 0, width: 6 }, options: {}, code: 'SHAPE_MISMATCH' },
    { mask: new Uint8Array(6), shape: { height: 2, width: 3 }, options: { connectivity: 6 }, code: 'INVALID_ARGUMENT' },
  ])('rejects bad input with $code', ({ mask: m, shape, options, code }) => {
    let error: unknown;
    try {
      labelComponents(m, shape, options as { connectivity: 4 });
    } catch (e) {
      error = e;
    }
    expect(isEnsembleError(error) && error.code).toBe(code);
  });

  it('words its shape error', () => {
    expect(() => labelComponents(new Uint8Array(5), { height: 2, width: 3 })).toThrowErrorMatchingInlineSnapshot(`[EnsembleError: Expected a mask of 2x3 = 6 values, got 5.]`);
  });
});
