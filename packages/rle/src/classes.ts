import { RleError } from './errors.ts';
import { checkLength, checkShape } from './shape.ts';
import type { MaskShape } from './types.ts';

/** The competition's number of defect classes. */
export const CLASS_COUNT = 4;

function checkClasses(classes: number, what: string): void {
  if (!Number.isInteger(classes) || classes < 1 || classes > 255) {
    throw new RleError('INVALID_CLASS', `${what}: expected a class count between 1 and 255, got ${String(classes)}.`);
  }
}

function checkMasks(masks: readonly ArrayLike<number>[], n: number, shape: string, what: string): void {
  if (!Array.isArray(masks)) throw new RleError('SHAPE_MISMATCH', `${what}: expected an array of masks, got ${typeof masks}.`);
  masks.forEach((mask, k) => checkLength(mask?.length ?? -1, n, `${what}: mask ${k} (class ${k + 1})`, shape));
}

/**
 * Splits a label map (pixel = class id, 0 = none) into one binary mask per class: `masks[k]` is class `k + 1`.
 * All arrays are row-major `height * width`.
 * @throws {RleError} `SHAPE_MISMATCH` if `labels.length !== height * width`; `INVALID_CLASS` for a label outside `0..classes`.
 * @example labelMapToMasks(new Uint8Array([0, 1, 2, 1]), { height: 2, width: 2, classes: 2 }); // [[0,1,0,1], [0,0,1,0]]
 */
export function labelMapToMasks(labels: ArrayLike<number>, options: MaskShape & { readonly classes?: number }): Uint8Array[] {
  checkShape(options, 'labelMapToMasks');
  const { height, width, classes = CLASS_COUNT } = options;
  checkClasses(classes, 'labelMapToMasks');
  const n = height * width;
  checkLength(labels.length, n, 'labelMapToMasks: labels', `${height}x${width}`);
  const masks = Array.from({ length: classes }, () => new Uint8Array(n));
  for (let i = 0; i < n; i++) {
    const label = labels[i]!;
    if (label === 0) continue;
    const mask = masks[label - 1];
    if (mask === undefined || !Number.isInteger(label)) {
      const r = Math.floor(i / width);
      throw new RleError(
        'INVALID_CLASS',
        `labelMapToMasks: expected labels between 0 and ${classes}, got ${label} at pixel (row ${r}, column ${i - r * width}).`,
      );
    }
    mask[i] = 1;
  }
  return masks;
}

/**
 * Joins per-class binary masks into a label map: pixel = `k + 1` where `masks[k]` is on (nonzero), 0 where none is.
 * `overlap` decides pixels that several masks claim: `'error'` (default) throws, `'first'` keeps the lowest class,
 * `'last'` the highest.
 * @throws {RleError} `SHAPE_MISMATCH` if a mask is not `height * width`; `INVALID_CLASS` for more than 255 masks or, with
 * `overlap: 'error'`, for a pixel in two masks.
 * @example masksToLabelMap([new Uint8Array([0, 1]), new Uint8Array([1, 0])], { height: 1, width: 2 }); // [2, 1]
 */
export function masksToLabelMap(
  masks: readonly ArrayLike<number>[],
  options: MaskShape & { readonly overlap?: 'error' | 'first' | 'last' },
): Uint8Array {
  checkShape(options, 'masksToLabelMap');
  const { height, width, overlap = 'error' } = options;
  const n = height * width;
  checkMasks(masks, n, `${height}x${width}`, 'masksToLabelMap');
  checkClasses(Math.max(1, masks.length), 'masksToLabelMap');
  const labels = new Uint8Array(n);
  masks.forEach((mask, k) => {
    const label = k + 1;
    for (let i = 0; i < n; i++) {
      if (mask[i] === 0) continue;
      const current = labels[i]!;
      if (current === 0 || overlap === 'last') labels[i] = label;
      else if (overlap === 'error') {
        const r = Math.floor(i / width);
        throw new RleError(
          'INVALID_CLASS',
          `masksToLabelMap: expected at most one class per pixel, got classes ${current} and ${label} at pixel (row ${r}, column ${i - r * width}); pass overlap: 'first' or 'last' to choose.`,
        );
      }
    }
  });
  return labels;
}

/**
 * Splits a channel-last `[height, width, channels]` stack into one binary mask per channel (channel k = class k + 1).
 * A value is on when it is greater than `threshold` (default 0, so 0/1 masks and logits both work; pass 0.5 for
 * probabilities).
 * @throws {RleError} `SHAPE_MISMATCH` if `stack.length !== height * width * channels`.
 * @example stackToMasks(new Float32Array([0.9, 0.1, 0.2, 0.7]), { height: 1, width: 2, channels: 2, threshold: 0.5 }); // [[1,0], [0,1]]
 */
export function stackToMasks(
  stack: ArrayLike<number>,
  options: MaskShape & { readonly channels?: number; readonly threshold?: number },
): Uint8Array[] {
  checkShape(options, 'stackToMasks');
  const { height, width, channels = CLASS_COUNT, threshold = 0 } = options;
  checkClasses(channels, 'stackToMasks');
  const n = height * width;
  checkLength(stack.length, n * channels, 'stackToMasks: stack', `${height}x${width}x${channels}`);
  const masks = Array.from({ length: channels }, () => new Uint8Array(n));
  for (let k = 0; k < channels; k++) {
    const mask = masks[k]!;
    for (let i = 0, j = k; i < n; i++, j += channels) if (stack[j]! > threshold) mask[i] = 1;
  }
  return masks;
}

/**
 * Stacks per-class binary masks into a channel-last `[height, width, masks.length]` Uint8Array of 0/1 (nonzero = 1).
 * @throws {RleError} `SHAPE_MISMATCH` if a mask is not `height * width`.
 * @example masksToStack([new Uint8Array([1, 0]), new Uint8Array([0, 1])], { height: 1, width: 2 }); // [1,0, 0,1]
 */
export function masksToStack(masks: readonly ArrayLike<number>[], shape: MaskShape): Uint8Array {
  checkShape(shape, 'masksToStack');
  const { height, width } = shape;
  const n = height * width;
  checkMasks(masks, n, `${height}x${width}`, 'masksToStack');
  const channels = masks.length;
  const stack = new Uint8Array(n * channels);
  masks.forEach((mask, k) => {
    for (let i = 0, j = k; i < n; i++, j += channels) if (mask[i] !== 0) stack[j] = 1;
  });
  return stack;
}
