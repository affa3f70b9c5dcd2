import { RleError } from './errors.ts';
import type { MaskShape } from './types.ts';

/** Throws `SHAPE_MISMATCH` unless `height` and `width` are positive integers whose product fits in 2^31 - 1 pixels. */
export function checkShape(shape: MaskShape | undefined, what: string): asserts shape is MaskShape {
  if (shape === null || typeof shape !== 'object') {
    throw new RleError('SHAPE_MISMATCH', `${what}: expected a shape { height, width }, got ${shape === null ? 'null' : typeof shape}.`);
  }
  const { height, width } = shape;
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1 || height * width > 0x7fffffff) {
    throw new RleError(
      'SHAPE_MISMATCH',
      `${what}: expected positive integer height and width (at most 2^31 - 1 pixels), got ${String(height)}x${String(width)}.`,
    );
  }
}

/** Throws `SHAPE_MISMATCH` unless `data.length === expected`. */
export function checkLength(length: number, expected: number, what: string, shape: string): void {
  if (length !== expected) {
    throw new RleError('SHAPE_MISMATCH', `${what}: expected ${shape} = ${expected} values, got ${length}.`);
  }
}
