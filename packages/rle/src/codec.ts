import { RleError } from './errors';
import type { MaskShape } from './types';

function checkShape({ height, width }: MaskShape): void {
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw new RleError('SHAPE_MISMATCH', `Expected positive integer height and width, got ${height}x${width}.`);
  }
}

/**
 * Encodes a row-major binary mask as a competition RLE string.
 * Pixels are numbered 1-based, top to bottom then left to right (column-major); an empty mask gives ''.
 * @throws {RleError} `SHAPE_MISMATCH` if `mask.length !== height * width`.
 * @example encode(new Uint8Array([1, 0, 1, 0, 1, 0, 0, 0]), { height: 4, width: 2 }); // '1 3'
 */
export function encode(mask: ArrayLike<number>, shape: MaskShape): string {
  checkShape(shape);
  const { height, width } = shape;
  if (mask.length !== height * width) {
    throw new RleError('SHAPE_MISMATCH', `Expected a mask of ${height}x${width} = ${height * width} pixels, got ${mask.length}.`);
  }
  const parts: string[] = [];
  let start = -1;
  for (let c = 0; c < width; c++) {
    for (let r = 0, i = c; r < height; r++, i += width) {
      const on = mask[i] !== 0;
      if (on) {
        if (start < 0) start = c * height + r;
      } else if (start >= 0) {
        const pos = c * height + r;
        parts.push(`${start + 1} ${pos - start}`);
        start = -1;
      }
    }
  }
  if (start >= 0) parts.push(`${start + 1} ${height * width - start}`);
  return parts.join(' ');
}

/**
 * Decodes a competition RLE string into a row-major binary mask (0/1, pixel (r, c) at `r * width + c`).
 * @throws {RleError} `INVALID_RLE` if malformed or overlapping, `OUT_OF_BOUNDS` if a run passes the last pixel.
 * @example decode('1 3', { height: 4, width: 2 }); // [1,0, 1,0, 1,0, 0,0]
 */
export function decode(rle: string, shape: MaskShape): Uint8Array {
  checkShape(shape);
  const { height, width } = shape;
  const total = height * width;
  const mask = new Uint8Array(total);
  const text = rle.trim();
  if (text === '') return mask;
  const tokens = text.split(' ');
  if (tokens.length % 2 !== 0) {
    throw new RleError('INVALID_RLE', `Expected an even number of tokens (start length pairs), got ${tokens.length}.`);
  }
  let end = 0;
  for (let t = 0; t < tokens.length; t += 2) {
    const start = Number(tokens[t]);
    const length = Number(tokens[t + 1]);
    if (!Number.isInteger(start) || start < 1) {
      throw new RleError('INVALID_RLE', `Token ${t + 1}: expected a positive integer start, got '${tokens[t]}'.`);
    }
    if (!Number.isInteger(length) || length < 1) {
      throw new RleError('INVALID_RLE', `Token ${t + 2}: expected a positive integer length, got '${tokens[t + 1]}'.`);
    }
    const s = start - 1;
    if (s < end) throw new RleError('INVALID_RLE', `Token ${t + 1}: run starts at ${start}, before the end of the previous run (${end}).`);
    if (s + length > total) {
      throw new RleError('OUT_OF_BOUNDS', `Token ${t + 1}: run ${start} ${length} ends at pixel ${s + length}, past the last pixel ${total}.`);
    }
    for (let p = s; p < s + length; p++) {
      const c = (p / height) | 0;
      mask[(p - c * height) * width + c] = 1;
    }
    end = s + length;
  }
  return mask;
}
