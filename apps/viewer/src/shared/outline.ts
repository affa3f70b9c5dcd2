// Outlines of binary masks and the RGBA overlay the page draws over an image.
import { CLASS_COLOURS } from './colours.ts';

/**
 * The outline of a row-major binary mask: mask pixels within `thickness` pixels (4-connected steps) of a pixel outside the
 * mask or of the image border. Returns a 0/1 mask of the same size.
 */
export function outlineMask(mask: ArrayLike<number>, height: number, width: number, thickness = 1): Uint8Array {
  const n = height * width;
  if (mask.length !== n) throw new RangeError(`outlineMask: expected ${n} pixels (${height}x${width}), got ${mask.length}.`);
  // Erode `thickness` times; the outline is the mask minus its erosion.
  let current = new Uint8Array(n);
  for (let i = 0; i < n; i++) current[i] = mask[i] ? 1 : 0;
  const original = current;
  for (let step = 0; step < Math.max(1, thickness); step++) {
    const next = new Uint8Array(n);
    for (let r = 0; r < height; r++) {
      const row = r * width;
      for (let c = 0; c < width; c++) {
        const i = row + c;
        if (!current[i]) continue;
        const inside =
          r > 0 && r < height - 1 && c > 0 && c < width - 1 && current[i - 1] && current[i + 1] && current[i - width] && current[i + width];
        if (inside) next[i] = 1;
      }
    }
    current = next;
  }
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = original[i] && !current[i] ? 1 : 0;
  return out;
}

/** Options of {@link paintOverlay}. */
export interface OverlayOptions {
  /** Outline thickness in image pixels. Default 1. */
  readonly thickness?: number;
  /** Alpha (0..255) of the fill inside a mask; the outline is opaque. Default 48. */
  readonly fillAlpha?: number;
}

/**
 * Paints per-class masks (`masks[k]` is ClassId k + 1, row-major) as outlines in the class colours over a transparent RGBA
 * image of `height * width * 4` bytes; later classes draw over earlier ones.
 */
export function paintOverlay(masks: readonly ArrayLike<number>[], height: number, width: number, options: OverlayOptions = {}): Uint8ClampedArray {
  const { thickness = 1, fillAlpha = 48 } = options;
  const rgba = new Uint8ClampedArray(height * width * 4);
  masks.forEach((mask, k) => {
    const [r, g, b] = CLASS_COLOURS[k % CLASS_COLOURS.length]!;
    const edge = outlineMask(mask, height, width, thickness);
    for (let i = 0; i < edge.length; i++) {
      if (!mask[i]) continue;
      const o = i * 4;
      rgba[o] = r;
      rgba[o + 1] = g;
      rgba[o + 2] = b;
      rgba[o + 3] = edge[i] ? 255 : Math.max(rgba[o + 3]!, fillAlpha);
    }
  });
  return rgba;
}

/** Counts the overlay's visible pixels (alpha above 0). */
export function countPainted(rgba: ArrayLike<number>): number {
  let count = 0;
  for (let i = 3; i < rgba.length; i += 4) if (rgba[i]! > 0) count++;
  return count;
}
