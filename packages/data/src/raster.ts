// Rasterising helpers of the synthetic generator: scanline polygon fill, polyline strokes, value noise and box blur.

/** A point in pixel coordinates: x to the right, y down; pixel (r, c) covers [c, c+1) x [r, r+1). */
export type Point = readonly [x: number, y: number];

/**
 * Fills a polygon into a row-major `height` x `width` byte mask with `value`, by scanlines through pixel centres and the
 * even–odd rule: pixel (r, c) is inside when its centre (c + 0.5, r + 0.5) is. Returns the number of pixels set.
 */
export function fillPolygon(mask: Uint8Array, height: number, width: number, polygon: readonly Point[], value = 1): number {
  if (polygon.length < 3) return 0;
  let minY = Infinity;
  let maxY = -Infinity;
  for (const [, y] of polygon) {
    minY = Math.min(minY, y);
    maxY = Math.max(maxY, y);
  }
  const r0 = Math.max(0, Math.ceil(minY - 0.5));
  const r1 = Math.min(height - 1, Math.floor(maxY - 0.5));
  const xs: number[] = [];
  let count = 0;
  for (let r = r0; r <= r1; r++) {
    const yc = r + 0.5;
    xs.length = 0;
    for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
      const [xi, yi] = polygon[i]!;
      const [xj, yj] = polygon[j]!;
      // Half-open rule on y so a vertex shared by two edges is counted once.
      if (yi <= yc !== yj <= yc) xs.push(xi + ((yc - yi) / (yj - yi)) * (xj - xi));
    }
    xs.sort((a, b) => a - b);
    for (let k = 0; k + 1 < xs.length; k += 2) {
      const c0 = Math.max(0, Math.ceil(xs[k]! - 0.5));
      const c1 = Math.min(width - 1, Math.ceil(xs[k + 1]! - 0.5) - 1);
      for (let c = c0, o = r * width + c0; c <= c1; c++, o++) {
        if (mask[o] !== value) count++;
        mask[o] = value;
      }
    }
  }
  return count;
}

/** Polygon that outlines a band of half-width `halfWidth` (a number or one per point) around a polyline. */
export function bandPolygon(points: readonly Point[], halfWidth: number | readonly number[]): Point[] {
  const left: Point[] = [];
  const right: Point[] = [];
  for (let i = 0; i < points.length; i++) {
    const [x0, y0] = points[Math.max(0, i - 1)]!;
    const [x1, y1] = points[Math.min(points.length - 1, i + 1)]!;
    const len = Math.hypot(x1 - x0, y1 - y0) || 1;
    const nx = -(y1 - y0) / len;
    const ny = (x1 - x0) / len;
    const hw = typeof halfWidth === 'number' ? halfWidth : (halfWidth[i] as number);
    const [x, y] = points[i]!;
    left.push([x + nx * hw, y + ny * hw]);
    right.push([x - nx * hw, y - ny * hw]);
  }
  return [...left, ...right.reverse()];
}

/** A float weight map over a window of the image. */
export interface Patch {
  readonly x0: number;
  readonly y0: number;
  readonly w: number;
  readonly h: number;
  readonly data: Float32Array;
}

/** Weights in [0, 1] of a stroke along a polyline with a Gaussian cross-section of width `sigma` (max over stamps). */
export function strokePolyline(points: readonly Point[], sigma: number, height: number, width: number): Patch {
  const pad = Math.ceil(sigma * 3) + 1;
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const [x, y] of points) {
    minX = Math.min(minX, x);
    maxX = Math.max(maxX, x);
    minY = Math.min(minY, y);
    maxY = Math.max(maxY, y);
  }
  const x0 = Math.max(0, Math.floor(minX) - pad);
  const y0 = Math.max(0, Math.floor(minY) - pad);
  const w = Math.max(0, Math.min(width, Math.ceil(maxX) + pad) - x0);
  const h = Math.max(0, Math.min(height, Math.ceil(maxY) + pad) - y0);
  const data = new Float32Array(w * h);
  const inv = 1 / (2 * sigma * sigma);
  for (let i = 0; i + 1 < points.length; i++) {
    const [ax, ay] = points[i]!;
    const [bx, by] = points[i + 1]!;
    const steps = Math.max(1, Math.ceil(Math.hypot(bx - ax, by - ay) * 2));
    for (let s = 0; s <= steps; s++) {
      const px = ax + ((bx - ax) * s) / steps;
      const py = ay + ((by - ay) * s) / steps;
      const c0 = Math.max(x0, Math.floor(px - pad));
      const c1 = Math.min(x0 + w - 1, Math.ceil(px + pad));
      const r0 = Math.max(y0, Math.floor(py - pad));
      const r1 = Math.min(y0 + h - 1, Math.ceil(py + pad));
      for (let r = r0; r <= r1; r++) {
        const dy = r + 0.5 - py;
        for (let c = c0; c <= c1; c++) {
          const dx = c + 0.5 - px;
          const v = Math.exp(-(dx * dx + dy * dy) * inv);
          const o = (r - y0) * w + (c - x0);
          if (v > data[o]!) data[o] = v;
        }
      }
    }
  }
  return { x0, y0, w, h, data };
}

/** Smooth 1-D noise in about [-1, 1]: random knots every `scale` samples, cosine-interpolated. */
export function valueNoise1D(length: number, scale: number, next: () => number): Float32Array {
  const knots = Math.ceil(length / scale) + 2;
  const k = new Float32Array(knots);
  for (let i = 0; i < knots; i++) k[i] = next() * 2 - 1;
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    const t = i / scale;
    const j = Math.floor(t);
    const f = (1 - Math.cos((t - j) * Math.PI)) / 2;
    out[i] = k[j]! * (1 - f) + k[j + 1]! * f;
  }
  return out;
}

/** Smooth 2-D noise in about [-1, 1] on a `height` x `width` grid: random knots every `scale` pixels, bilinear with smoothstep. */
export function valueNoise2D(height: number, width: number, scale: number, next: () => number): Float32Array {
  const gw = Math.ceil(width / scale) + 2;
  const gh = Math.ceil(height / scale) + 2;
  const grid = new Float32Array(gw * gh);
  for (let i = 0; i < grid.length; i++) grid[i] = next() * 2 - 1;
  const out = new Float32Array(height * width);
  const fx = new Float32Array(width);
  const ix = new Int32Array(width);
  for (let c = 0; c < width; c++) {
    const t = c / scale;
    ix[c] = Math.floor(t);
    const f = t - ix[c]!;
    fx[c] = f * f * (3 - 2 * f);
  }
  for (let r = 0; r < height; r++) {
    const t = r / scale;
    const j = Math.floor(t);
    let fy = t - j;
    fy = fy * fy * (3 - 2 * fy);
    const row0 = j * gw;
    const row1 = (j + 1) * gw;
    for (let c = 0, o = r * width; c < width; c++, o++) {
      const i = ix[c]!;
      const a = grid[row0 + i]! + (grid[row0 + i + 1]! - grid[row0 + i]!) * fx[c]!;
      const b = grid[row1 + i]! + (grid[row1 + i + 1]! - grid[row1 + i]!) * fx[c]!;
      out[o] = a + (b - a) * fy;
    }
  }
  return out;
}

/** Separable box blur of radius `radius` (window 2r + 1), edges clamped; returns a new array. */
export function boxBlur(data: Float32Array, height: number, width: number, radius: number): Float32Array {
  if (radius <= 0) return data.slice();
  const tmp = new Float32Array(data.length);
  const out = new Float32Array(data.length);
  const n = 2 * radius + 1;
  for (let r = 0; r < height; r++) {
    const o = r * width;
    let sum = 0;
    for (let k = -radius; k <= radius; k++) sum += data[o + Math.min(width - 1, Math.max(0, k))]!;
    for (let c = 0; c < width; c++) {
      tmp[o + c] = sum / n;
      sum += data[o + Math.min(width - 1, c + radius + 1)]! - data[o + Math.max(0, c - radius)]!;
    }
  }
  for (let c = 0; c < width; c++) {
    let sum = 0;
    for (let k = -radius; k <= radius; k++) sum += tmp[Math.min(height - 1, Math.max(0, k)) * width + c]!;
    for (let r = 0; r < height; r++) {
      out[r * width + c] = sum / n;
      sum += tmp[Math.min(height - 1, r + radius + 1) * width + c]! - tmp[Math.max(0, r - radius) * width + c]!;
    }
  }
  return out;
}

/** Soft 0..1 coverage of a polygon over its bounding box (plus `blur` pixels), box-blurred with radius `blur`. */
export function polygonPatch(polygon: readonly Point[], blur: number, height: number, width: number): Patch {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const [x, y] of polygon) {
    minX = Math.min(minX, x);
    maxX = Math.max(maxX, x);
    minY = Math.min(minY, y);
    maxY = Math.max(maxY, y);
  }
  const pad = blur + 1;
  const x0 = Math.max(0, Math.floor(minX) - pad);
  const y0 = Math.max(0, Math.floor(minY) - pad);
  const w = Math.max(1, Math.min(width, Math.ceil(maxX) + pad) - x0);
  const h = Math.max(1, Math.min(height, Math.ceil(maxY) + pad) - y0);
  const m = new Uint8Array(w * h);
  fillPolygon(m, h, w, polygon.map(([x, y]) => [x - x0, y - y0] as Point));
  return { x0, y0, w, h, data: boxBlur(Float32Array.from(m), h, w, blur) };
}
