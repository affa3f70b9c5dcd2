// The gating search against an independent brute force (flood fill and Dice in float64 over the whole grid).
import { createTuner } from '@steel/ensemble';
import { describe, expect, it } from 'vitest';
import { GATE_CLASS_PROBS, GATE_MASK_AREAS, GATE_TOP_THRESHOLDS, searchWithGating, TUNE_MIN_AREAS, TUNE_THRESHOLDS } from './gating.ts';

const H = 16, W = 20, C = 2;

interface Rule { threshold: number; minArea: number; topThreshold: number; minMaskArea: number; gate: number }

/** One class map post-processed pixel by pixel: 8-connected flood fill, components above minArea, then the mask's area and top. */
function reference(prob: Float64Array, threshold: number, minArea: number): { out: Uint8Array; area: number; top: number } {
  const label = new Int32Array(H * W).fill(-1);
  const sizes: number[] = [];
  for (let s = 0; s < H * W; s++) {
    if (!(prob[s]! > threshold) || label[s] !== -1) continue;
    const stack = [s];
    label[s] = sizes.length;
    let n = 0;
    while (stack.length) {
      const p = stack.pop()!;
      n++;
      for (let dr = -1; dr <= 1; dr++) for (let dc = -1; dc <= 1; dc++) {
        const r = Math.floor(p / W) + dr, c = (p % W) + dc;
        const q = r * W + c;
        if (r >= 0 && r < H && c >= 0 && c < W && label[q] === -1 && prob[q]! > threshold) {
          label[q] = sizes.length;
          stack.push(q);
        }
      }
    }
    sizes.push(n);
  }
  const out = new Uint8Array(H * W);
  let area = 0, top = -Infinity;
  for (let p = 0; p < H * W; p++) if (label[p]! >= 0 && sizes[label[p]!]! > minArea) { out[p] = 1; area++; top = Math.max(top, prob[p]!); }
  return { out, area, top };
}

function dice(a: Uint8Array, b: Uint8Array): number {
  let i = 0, s = 0;
  for (let p = 0; p < a.length; p++) { i += a[p]! & b[p]!; s += a[p]! + b[p]!; }
  return s === 0 ? 1 : (2 * i) / s;
}

/** A box of value v in a class map. */
function box(m: Float64Array | Float32Array | Uint8Array, top: number, left: number, h: number, w: number, v: number): void {
  for (let r = top; r < top + h; r++) for (let c = left; c < left + w; c++) m[r * W + c] = v;
}

// Eight images. Class 1: a true 4x6 defect at 0.6 in images 0-3, the same false blob in images 4-7: only the
// head (0.8 vs 0.2) tells them apart. Class 2: a true 5x5 defect (a 0.55 rim around a 0.95 core) in images 0-3 and a
// 5x5 false blob at 0.6 in images 4-7: threshold 0.5 keeps the whole true defect and the blob, a threshold above
// 0.6 keeps only the core; the top-probability gate (0.6) keeps the whole defect and drops the blob.
function dataset() {
  return Array.from({ length: 8 }, (_, i) => {
    const probs = [new Float64Array(H * W).fill(0.02), new Float64Array(H * W).fill(0.02)];
    const truth = [new Uint8Array(H * W), new Uint8Array(H * W)];
    const real = i < 4;
    box(probs[0]!, 2 + i, 3, 4, 6, 0.6);
    if (real) box(truth[0]!, 2 + i, 3, 4, 6, 1);
    if (real) {
      box(probs[1]!, 8, 10, 5, 5, 0.55);
      box(probs[1]!, 9, 11, 3, 3, 0.95);
      box(truth[1]!, 8, 10, 5, 5, 1);
    } else box(probs[1]!, 8, 10, 5, 5, 0.6);
    return { probs, truth, classProbs: [real ? 0.8 : 0.2, 0.5] };
  });
}

/** The best mean Dice of a class over a grid, by brute force (the rules as documented in @steel/ensemble's ClassRule). */
function bruteForce(data: ReturnType<typeof dataset>, k: number, grid: { tops: number[]; masks: number[]; gates: number[] }, minAreas: number[]): number {
  let best = -1;
  const none = new Uint8Array(H * W);
  for (const threshold of TUNE_THRESHOLDS) for (const minArea of minAreas) {
    const pre = data.map((d) => reference(d.probs[k]!, threshold, minArea));
    for (const topThreshold of grid.tops) for (const minMaskArea of grid.masks) for (const gate of grid.gates) {
      if (topThreshold > 0 && topThreshold <= threshold) continue;
      const sum = data.reduce((s, d, i) => {
        const { out, area, top } = pre[i]!;
        const keep = area > minMaskArea && top > topThreshold && d.classProbs[k]! >= gate;
        return s + dice(keep ? out : none, d.truth[k]!);
      }, 0);
      best = Math.max(best, sum / data.length);
    }
  }
  return best;
}

describe('searchWithGating', () => {
  it('finds the brute-force optimum of threshold, minimum area and gates, and keeps gates only where they help', () => {
    const data = dataset();
    const tuner = createTuner({ height: H, width: W, classes: C, thresholds: TUNE_THRESHOLDS });
    for (const d of data) {
      const probs = new Float32Array(H * W * C);
      const truth = new Uint8Array(H * W * C);
      for (let p = 0; p < H * W; p++) for (let k = 0; k < C; k++) {
        probs[p * C + k] = d.probs[k]![p]!;
        truth[p * C + k] = d.truth[k]![p]!;
      }
      tuner.add(probs, truth, { classProbs: d.classProbs });
    }
    const empty = [0.5, 0.5];
    const result = searchWithGating(tuner, { height: H, width: W, emptyPerClass: empty, withClassProbs: true });
    const factor = (H * W) / (256 * 1600);
    const scale = (a: number[]) => [...new Set(a.map((x) => Math.round(x * factor)))];
    const minAreas = scale(TUNE_MIN_AREAS);
    const plainBest = [0, 1].map((k) => bruteForce(data, k, { tops: [0], masks: [0], gates: [0] }, minAreas));
    const gatedBest = [0, 1].map((k) => bruteForce(data, k, { tops: GATE_TOP_THRESHOLDS, masks: scale(GATE_MASK_AREAS), gates: GATE_CLASS_PROBS }, minAreas));
    // Class 1: no plain rule beats predicting nothing (0.5), so it is off; the head gate separates the images perfectly.
    expect(plainBest[0]).toBe(0.5);
    expect(result.plain.classScores[0]).toBe(0.5);
    expect(result.plain.classes[0]!.minMaskArea).toBe(H * W);
    expect(gatedBest[0]).toBe(1);
    expect(result.chosen.classScores[0]).toBe(1);
    expect(result.chosen.classes[0]!.gate).toBeGreaterThan(0.2);
    expect(result.chosen.classes[0]!.gate).toBeLessThanOrEqual(0.8);
    // Class 2: the best plain rule keeps only the cores (Dice 2*9/(9+25) on the true images, 1 on the others).
    expect(plainBest[1]).toBeCloseTo((4 * (18 / 34) + 4) / 8, 12);
    expect(result.plain.classScores[1]).toBeCloseTo(plainBest[1]!, 6);
    expect(gatedBest[1]).toBe(1);
    expect(result.chosen.classScores[1]).toBe(1);
    expect(result.chosen.classes[1]).toMatchObject({ gate: 0 });
    expect(result.chosen.classes[1]!.topThreshold).toBeGreaterThanOrEqual(0.6);
    expect(result.gated).toEqual([true, true]);
    expect(result.chosen.score).toBe(1);
  });

  it('keeps the plain rule when gates gain no more than one image of Dice', () => {
    const tuner = createTuner({ height: H, width: W, classes: 1, thresholds: TUNE_THRESHOLDS });
    for (let i = 0; i < 4; i++) {
      const probs = new Float32Array(H * W).fill(0.02);
      const truth = new Uint8Array(H * W);
      box(probs, 2, 2, 4, 4, 0.9);
      box(truth, 2, 2, 4, 4, 1);
      tuner.add(probs, truth, { classProbs: [0.9] });
    }
    const result = searchWithGating(tuner, { height: H, width: W, emptyPerClass: [0], withClassProbs: true });
    expect(result.gated).toEqual([false]);
    expect(result.chosen.classes).toEqual(result.plain.classes);
    expect(result.chosen.classScores).toEqual([1]);
  });
});
