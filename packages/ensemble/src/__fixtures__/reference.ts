// Independent, deliberately simple references for the tests: flood fill and per-pixel post-processing.

/** Breadth-first flood fill from each unlabelled foreground pixel in raster order. */
export function floodFill(on: ArrayLike<number | boolean>, height: number, width: number, connectivity: 4 | 8): { labels: Int32Array; count: number } {
  const labels = new Int32Array(height * width);
  const steps =
    connectivity === 4
      ? [[-1, 0], [1, 0], [0, -1], [0, 1]]
      : [[-1, -1], [-1, 0], [-1, 1], [0, -1], [0, 1], [1, -1], [1, 0], [1, 1]];
  let count = 0;
  for (let start = 0; start < height * width; start++) {
    if (!on[start] || labels[start] !== 0) continue;
    count++;
    labels[start] = count;
    const queue = [start];
    while (queue.length > 0) {
      const p = queue.pop()!;
      const r = Math.floor(p / width);
      const c = p % width;
      for (const [dr, dc] of steps) {
        const rr = r + dr!;
        const cc = c + dc!;
        if (rr < 0 || rr >= height || cc < 0 || cc >= width) continue;
        const q = rr * width + cc;
        if (on[q] && labels[q] === 0) {
          labels[q] = count;
          queue.push(q);
        }
      }
    }
  }
  return { labels, count };
}

export interface RefRule {
  threshold: number;
  minArea?: number;
  topThreshold?: number;
  minMaskArea?: number;
  gate?: number;
}

/** The post-processing rules written out pixel by pixel for one class map `[H, W]`. */
export function referencePostprocess(prob: ArrayLike<number>, height: number, width: number, rule: RefRule, classProb?: number, connectivity: 4 | 8 = 8): Uint8Array {
  const n = height * width;
  const on = Array.from({ length: n }, (_, i) => prob[i]! > rule.threshold);
  const { labels, count } = floodFill(on, height, width, connectivity);
  const area = new Array<number>(count + 1).fill(0);
  for (let i = 0; i < n; i++) area[labels[i]!]!++;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) if (labels[i]! > 0 && area[labels[i]!]! > (rule.minArea ?? 0)) out[i] = 1;
  let total = 0;
  let top = -Infinity;
  for (let i = 0; i < n; i++) {
    if (out[i]) {
      total++;
      top = Math.max(top, prob[i]!);
    }
  }
  const keep = total > (rule.minMaskArea ?? 0) && top > (rule.topThreshold ?? 0) && (classProb === undefined || classProb >= (rule.gate ?? 0));
  return keep ? out : new Uint8Array(n);
}

/** Channel k of an `[H, W, C]` array. */
export function channel(values: ArrayLike<number>, k: number, channels: number): Float64Array {
  const out = new Float64Array(values.length / channels);
  for (let i = 0; i < out.length; i++) out[i] = values[i * channels + k]!;
  return out;
}
