import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { labelMapToMasks, masksToLabelMap, masksToStack, stackToMasks } from './classes.ts';
import { isRleError } from './errors.ts';
import { repeatThresholdVector, THRESHOLD, THRESHOLD_VECTOR } from '../../../tooling/vitest/threshold-vector.ts';

const labelMap = fc
  .record({ height: fc.integer({ min: 1, max: 10 }), width: fc.integer({ min: 1, max: 10 }), classes: fc.integer({ min: 1, max: 6 }) })
  .chain(({ height, width, classes }) =>
    fc.record({
      height: fc.constant(height),
      width: fc.constant(width),
      classes: fc.constant(classes),
      labels: fc.uint8Array({ min: 0, max: classes, minLength: height * width, maxLength: height * width }),
    }),
  );

describe('label maps', () => {
  test.prop([labelMap])('masksToLabelMap(labelMapToMasks(labels)) returns the labels; masks are disjoint', ({ labels, ...shape }) => {
    const masks = labelMapToMasks(labels, shape);
    expect(masks).toHaveLength(shape.classes);
    for (let i = 0; i < labels.length; i++) {
      const on = masks.map((m) => m[i]);
      expect(on.filter((v) => v === 1).length).toBe(labels[i] === 0 ? 0 : 1);
      if (labels[i] !== 0) expect(masks[labels[i]! - 1]![i]).toBe(1);
    }
    expect(masksToLabelMap(masks, shape)).toEqual(labels);
  });

  it('splits a hand-made label map', () => {
    const masks = labelMapToMasks(new Uint8Array([0, 1, 2, 1, 0, 4]), { height: 2, width: 3 });
    expect(masks.map((m) => Array.from(m))).toEqual([
      [0, 1, 0, 1, 0, 0],
      [0, 0, 1, 0, 0, 0],
      [0, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 1],
    ]);
  });

  it('resolves overlaps as asked', () => {
    const masks = [new Uint8Array([1, 1, 0]), new Uint8Array([0, 1, 1])];
    const shape = { height: 1, width: 3 };
    expect(Array.from(masksToLabelMap(masks, { ...shape, overlap: 'first' }))).toEqual([1, 1, 2]);
    expect(Array.from(masksToLabelMap(masks, { ...shape, overlap: 'last' }))).toEqual([1, 2, 2]);
    expect(() => masksToLabelMap(masks, shape)).toThrow(/classes 1 and 2 at pixel \(row 0, column 1\)/);
  });

  it('rejects labels past the class count and masks of the wrong size', () => {
    const error = catchError(() => labelMapToMasks(new Uint8Array([0, 5]), { height: 1, width: 2 }));
    expect(error.code).toBe('INVALID_CLASS');
    expect(error.message).toMatchInlineSnapshot(`"labelMapToMasks: expected labels between 0 and 4, got 5 at pixel (row 0, column 1)."`);
    expect(catchError(() => masksToLabelMap([new Uint8Array(3)], { height: 1, width: 2 })).code).toBe('SHAPE_MISMATCH');
    expect(catchError(() => masksToStack([new Uint8Array(3)], { height: 1, width: 2 })).code).toBe('SHAPE_MISMATCH');
  });
});

describe('channel-last stacks', () => {
  test.prop([labelMap])('stackToMasks(masksToStack(masks)) returns the masks', ({ labels, ...shape }) => {
    const masks = labelMapToMasks(labels, shape);
    const stack = masksToStack(masks, shape);
    expect(stack).toHaveLength(labels.length * shape.classes);
    // [H, W, C] layout: channel k of pixel i is at i * C + k.
    for (let i = 0; i < labels.length; i++) for (let k = 0; k < shape.classes; k++) expect(stack[i * shape.classes + k]).toBe(masks[k]![i]);
    expect(stackToMasks(stack, { ...shape, channels: shape.classes })).toEqual(masks);
  });

  it('thresholds probabilities', () => {
    const stack = new Float32Array([0.9, 0.1, 0.2, 0.7, 0.5, 0.51]);
    const masks = stackToMasks(stack, { height: 1, width: 3, channels: 2, threshold: 0.5 });
    expect(masks.map((m) => Array.from(m))).toEqual([
      [1, 0, 0],
      [0, 1, 1],
    ]);
    expect(catchError(() => stackToMasks(stack, { height: 1, width: 2 })).code).toBe('SHAPE_MISMATCH');
  });
});

function catchError(call: () => unknown) {
  try {
    call();
  } catch (error) {
    if (isRleError(error)) return error;
    throw error;
  }
  throw new Error('expected an RleError, nothing was thrown');
}

describe('the threshold rule p > t (shared vector)', () => {
  it('stackToMasks turns on only values above the threshold; exactly at it is off', () => {
    const { probabilities, mask } = THRESHOLD_VECTOR;
    const [one] = stackToMasks(probabilities, { height: 1, width: probabilities.length, channels: 1, threshold: THRESHOLD });
    expect(Array.from(one!)).toEqual(mask);
    const long = repeatThresholdVector(4 * probabilities.length);
    const masks = stackToMasks(long.probabilities, { height: 1, width: probabilities.length, channels: 4, threshold: THRESHOLD });
    masks.forEach((m, k) => expect(Array.from(m)).toEqual(Array.from({ length: probabilities.length }, (_, i) => long.mask[i * 4 + k])));
  });
});
