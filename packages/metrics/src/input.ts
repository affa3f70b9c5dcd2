import { MetricsError } from './errors.ts';
import type { MaskData } from './types.ts';

/** How a flat array splits into images and classes. */
export interface Layout {
  readonly images: number;
  /** Pixels per image (height * width). */
  readonly pixels: number;
  readonly classes: number;
}

const isPositiveInteger = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n > 0;

const formatShape = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

const TYPES = [Uint8Array, Uint8ClampedArray, Int32Array, Float32Array, Float64Array];

/** Throws unless `value` is one of the accepted typed arrays. */
export function checkMaskData(value: unknown, name: string): asserts value is MaskData {
  if (!TYPES.some((T) => value instanceof T)) {
    const found = value === null ? 'null' : typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value;
    throw new MetricsError(
      'INVALID_ARGUMENT',
      `Expected ${name} to be a Uint8Array, Uint8ClampedArray, Int32Array, Float32Array or Float64Array, got ${found}.`,
    );
  }
}

/** Returns the threshold, 0.5 when undefined; throws unless it is a finite number. */
export function checkThreshold(threshold: number | undefined): number {
  if (threshold === undefined) return 0.5;
  if (typeof threshold !== 'number' || !Number.isFinite(threshold)) {
    throw new MetricsError('INVALID_ARGUMENT', `Expected threshold to be a finite number, got ${String(threshold)}.`);
  }
  return threshold;
}

/** Throws unless `pred` and `target` are masks of the same length. */
export function checkPair(pred: unknown, target: unknown): asserts pred is MaskData {
  checkMaskData(pred, 'pred');
  checkMaskData(target, 'target');
  if (pred.length !== (target as MaskData).length) {
    throw new MetricsError(
      'SHAPE_MISMATCH',
      `Expected pred and target of the same length, got ${pred.length} (pred) and ${(target as MaskData).length} (target).`,
    );
  }
}

/**
 * Reads a `[B, H, W, C]`, `[H, W, C]` or `[H, W]` shape and checks it against the array length.
 * `classes`, when given, is the channel count the caller requires.
 */
export function layoutOf(shape: readonly number[] | undefined, length: number, classes?: number): Layout {
  if (shape === undefined) {
    // One image whose channels are `classes` (default 1).
    const c = classes ?? 1;
    if (length % c !== 0 || length === 0) {
      throw new MetricsError(
        'SHAPE_MISMATCH',
        `Expected a non-empty mask whose length is a multiple of ${c} classes, got length ${length}. Pass { shape } for a batch.`,
      );
    }
    return { images: 1, pixels: length / c, classes: c };
  }
  if (!Array.isArray(shape) || shape.length < 2 || shape.length > 4 || !shape.every(isPositiveInteger)) {
    throw new MetricsError(
      'SHAPE_MISMATCH',
      `Expected shape [batch, height, width, classes], [height, width, classes] or [height, width] of positive integers, got ${JSON.stringify(shape)?.slice(0, 80)}.`,
    );
  }
  const [b, h, w, c] = shape.length === 4 ? shape : shape.length === 3 ? [1, ...shape] : [1, ...shape, 1];
  const layout: Layout = { images: b!, pixels: h! * w!, classes: c! };
  if (classes !== undefined && layout.classes !== classes) {
    throw new MetricsError(
      'SHAPE_MISMATCH',
      `Expected ${classes} classes (the last axis), got shape ${formatShape(shape)} with ${layout.classes}.`,
    );
  }
  const expected = layout.images * layout.pixels * layout.classes;
  if (expected !== length) {
    throw new MetricsError(
      'SHAPE_MISMATCH',
      `Expected ${expected} values for shape ${formatShape(shape)}, got ${length}.`,
    );
  }
  return layout;
}
