// Realistic defect masks for benchmarks: a few random star-shaped polygons (like the competition's hand-drawn defect
// outlines) filled on a 256x1600 grid with an even-odd scanline fill.

/** Seeded uniform numbers in [0, 1) (mulberry32). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fills the polygon `xs, ys` (pixel centres at +0.5) into the row-major `mask`. */
function fillPolygon(mask: Uint8Array, height: number, width: number, xs: number[], ys: number[]): void {
  const top = Math.max(0, Math.floor(Math.min(...ys)));
  const bottom = Math.min(height - 1, Math.ceil(Math.max(...ys)));
  const crossings: number[] = [];
  for (let r = top; r <= bottom; r++) {
    const y = r + 0.5;
    crossings.length = 0;
    for (let k = 0, j = xs.length - 1; k < xs.length; j = k++) {
      const y0 = ys[j]!;
      const y1 = ys[k]!;
      if ((y0 <= y) !== (y1 <= y)) crossings.push(xs[j]! + ((y - y0) / (y1 - y0)) * (xs[k]! - xs[j]!));
    }
    crossings.sort((a, b) => a - b);
    for (let k = 0; k + 1 < crossings.length; k += 2) {
      const from = Math.max(0, Math.ceil(crossings[k]! - 0.5));
      const to = Math.min(width - 1, Math.floor(crossings[k + 1]! - 0.5));
      for (let c = from; c <= to; c++) mask[r * width + c] = 1;
    }
  }
}

/** A 0/1 mask with `blobs` random polygons, each about `rx` x `ry` pixels in radius with jagged outlines. */
export function polygonBlobMask(
  seed: number,
  { height = 256, width = 1600, blobs = 5, rx = 80, ry = 50 }: { height?: number; width?: number; blobs?: number; rx?: number; ry?: number } = {},
): Uint8Array {
  const next = random(seed);
  const mask = new Uint8Array(height * width);
  for (let b = 0; b < blobs; b++) {
    const cx = next() * width;
    const cy = next() * height;
    const sx = rx * (0.6 + 0.8 * next());
    const sy = ry * (0.6 + 0.8 * next());
    const vertices = 8 + Math.floor(next() * 10);
    const xs: number[] = [];
    const ys: number[] = [];
    for (let v = 0; v < vertices; v++) {
      const angle = ((v + 0.8 * next()) / vertices) * 2 * Math.PI;
      const radius = 0.5 + 0.5 * next();
      xs.push(cx + Math.cos(angle) * sx * radius);
      ys.push(cy + Math.sin(angle) * sy * radius);
    }
    fillPolygon(mask, height, width, xs, ys);
  }
  return mask;
}
