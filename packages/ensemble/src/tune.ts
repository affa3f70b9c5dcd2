import { checkConnectivity, checkShape, scanRuns, type Connectivity } from './components';
import { EnsembleError, show } from './errors';
import type { ClassRule, PostprocessConfig, ProbabilityShape } from './postprocess';
import { truthAccessor, type GroundTruth } from './truth';

/** Options of {@link createTuner}. */
export interface TunerOptions extends ProbabilityShape {
  /** Pixel thresholds tried; fixed up front because component statistics are computed per threshold. Default 0.30, 0.35 … 0.70. */
  readonly thresholds?: readonly number[];
  /** Default 8. */
  readonly connectivity?: Connectivity;
}

/** The rest of the search grid, chosen at {@link Tuner.search} time (the statistics serve any values). */
export interface TuningGrid {
  /** Default {@link DEFAULT_MIN_AREAS}. */
  readonly minAreas?: readonly number[];
  /** Default [0] (rule off). Values not above a candidate's threshold are skipped for it (they change nothing). */
  readonly topThresholds?: readonly number[];
  /** Default [0] (rule off). */
  readonly minMaskAreas?: readonly number[];
  /** Default [0, 0.3, 0.5, 0.7] when every image was added with class probabilities, else [0]. */
  readonly gates?: readonly number[];
  /** Keep the best `n` candidates per class in the result; default all. */
  readonly keepCandidates?: number;
}

/** One evaluated rule of one class. */
export interface TuningCandidate {
  readonly classId: number;
  readonly threshold: number;
  readonly minArea: number;
  readonly topThreshold: number;
  readonly minMaskArea: number;
  readonly gate: number;
  /** Mean Dice of this class over the validation images. */
  readonly dice: number;
}

/** A tuned post-processing: usable as a {@link PostprocessConfig}, serialisable with `JSON.stringify`, read back with `parsePostprocessConfig`. */
export interface TuningResult extends PostprocessConfig {
  readonly version: 1;
  readonly classes: readonly Required<ClassRule>[];
  readonly connectivity: Connectivity;
  /** Competition Dice (mean over every image and class) of the chosen rules on the validation images. */
  readonly score: number;
  /** Mean Dice per class of the chosen rules. */
  readonly classScores: readonly number[];
  readonly images: number;
  /** Every evaluated candidate (or the best `keepCandidates` per class), best first within each class. */
  readonly candidates: readonly TuningCandidate[];
}

/** Collects validation statistics once, then searches post-processing rules. */
export interface Tuner {
  /**
   * Adds one validation image: its `[H, W, C]` probabilities (channels last), its ground truth, and optionally the
   * classification head's per-class probabilities. Keeps only per-threshold component statistics, never the probabilities.
   * @throws {EnsembleError} `SHAPE_MISMATCH` when a length disagrees with the tuner's shape.
   */
  add(probs: ArrayLike<number>, truth: GroundTruth, options?: { classProbs?: ArrayLike<number> }): void;
  /** Images added so far. */
  readonly images: number;
  /**
   * Finds, for each class on its own, the candidate of highest mean Dice (ties go to the first in grid order: lower threshold,
   * then lower areas and gates). Since the competition Dice is a mean over every image and class, the per-class optima together
   * maximise it.
   * @throws {EnsembleError} `INVALID_ARGUMENT` for a bad grid or when no image was added.
   */
  search(grid?: TuningGrid): TuningResult;
}

/** Default pixel thresholds of {@link createTuner}: 0.30 to 0.70 by 0.05. */
export const DEFAULT_THRESHOLDS: readonly number[] = Object.freeze([0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7]);
/** Default minimum component areas of {@link Tuner.search} (pixels, for 256x1600 images). */
export const DEFAULT_MIN_AREAS: readonly number[] = Object.freeze([0, 100, 200, 300, 400, 600, 800, 900, 1000, 1200, 1500, 2000, 2500, 3000, 4000]);

/** Statistics of one class of one image. Components of threshold j are `offsets[j]` to `offsets[j + 1]`. */
interface Entry {
  readonly truthArea: number;
  readonly classProb: number;
  readonly offsets: Int32Array;
  readonly area: Int32Array;
  readonly inter: Int32Array;
  readonly max: Float32Array;
}

function checkList(list: unknown, field: string, ok: (v: number) => boolean, expected: string): number[] {
  if (!Array.isArray(list) || list.length === 0) throw new EnsembleError('INVALID_ARGUMENT', `${field}: expected a non-empty array, got ${show(list)}.`);
  list.forEach((v, i) => {
    if (typeof v !== 'number' || !ok(v)) throw new EnsembleError('INVALID_ARGUMENT', `${field}[${i}]: expected ${expected}, got ${show(v)}.`);
  });
  return [...new Set(list as number[])].sort((a, b) => a - b);
}

const isProb = (v: number): boolean => v >= 0 && v < 1;
const isArea = (v: number): boolean => Number.isInteger(v) && v >= 0;

/**
 * Creates a {@link Tuner} for probability maps of the given shape. Each added image is summarised at once: for every class
 * and threshold, the area, overlap with the ground truth and top probability of every connected component. The search then
 * sweeps minimum areas, top thresholds, mask areas and gates over these statistics without touching pixels again.
 * @throws {EnsembleError} `INVALID_ARGUMENT` for a bad shape, threshold list or connectivity.
 * @example
 * const tuner = createTuner({ height: 256, width: 1600, channels: 4 });
 * for (const { probs, truth } of validation) tuner.add(probs, truth);
 * const tuned = tuner.search({ minAreas: [0, 300, 600, 900] }); // JSON.stringify(tuned) → tuned.json
 */
export function createTuner({ height, width, channels, thresholds = DEFAULT_THRESHOLDS, connectivity = 8 }: TunerOptions): Tuner {
  checkConnectivity(connectivity);
  if (!Number.isInteger(channels) || channels < 1) throw new EnsembleError('INVALID_ARGUMENT', `channels: expected a positive integer, got ${show(channels)}.`);
  const pixels = checkShape({ height, width }, height * width * channels, channels, 'probabilities');
  const ts = checkList(thresholds, 'thresholds', isProb, 'a number in [0, 1)');
  const entries: Entry[][] = Array.from({ length: channels }, () => []);
  let withClassProbs = 0;

  const add: Tuner['add'] = (probs, truth, { classProbs } = {}) => {
    checkShape({ height, width }, probs.length, channels, 'probabilities');
    if (classProbs !== undefined && classProbs.length !== channels) {
      throw new EnsembleError('SHAPE_MISMATCH', `Expected ${channels} class probabilities, got ${classProbs.length}.`);
    }
    const truths = truthAccessor(truth, pixels, channels);
    for (let k = 0; k < channels; k++) {
      const { values: tv, offset: to, stride: tstride } = truths[k]!;
      let truthArea = 0;
      for (let i = 0, j = to; i < pixels; i++, j += tstride) if (tv[j]! > 0) truthArea++;
      let top = -Infinity;
      for (let i = k; i < probs.length; i += channels) if (probs[i]! > top) top = probs[i]!;
      const offsets = new Int32Array(ts.length + 1);
      const area: number[] = [];
      const inter: number[] = [];
      const max: number[] = [];
      for (let j = 0; j < ts.length; j++) {
        offsets[j] = area.length;
        // No pixel exceeds this or any higher threshold.
        if (!(top > ts[j]!)) continue;
        const table = scanRuns(probs, height, width, k, channels, ts[j]!, connectivity);
        const base = area.length;
        for (let c = 0; c < table.components; c++) {
          area.push(0);
          inter.push(0);
          max.push(-Infinity);
        }
        for (let r = 0; r < table.runs; r++) {
          const c = base + table.component[r]!;
          const rowBase = table.row[r]! * width;
          let hit = 0;
          for (let x = table.start[r]!; x < table.end[r]!; x++) if (tv[to + (rowBase + x) * tstride]! > 0) hit++;
          area[c]! += table.end[r]! - table.start[r]!;
          inter[c]! += hit;
          if (table.max[r]! > max[c]!) max[c] = table.max[r]!;
        }
      }
      offsets[ts.length] = area.length;
      entries[k]!.push({
        truthArea,
        classProb: classProbs === undefined ? Number.NaN : classProbs[k]!,
        offsets,
        area: Int32Array.from(area),
        inter: Int32Array.from(inter),
        max: Float32Array.from(max),
      });
    }
    if (classProbs !== undefined) withClassProbs++;
  };

  const search: Tuner['search'] = (grid = {}) => {
    const n = entries[0]!.length;
    if (n === 0) throw new EnsembleError('INVALID_ARGUMENT', 'No validation image was added; call add() before search().');
    const allGated = withClassProbs === n;
    const minAreas = checkList(grid.minAreas ?? DEFAULT_MIN_AREAS, 'minAreas', isArea, 'a non-negative integer');
    const tops = checkList(grid.topThresholds ?? [0], 'topThresholds', isProb, 'a number in [0, 1)');
    const maskAreas = checkList(grid.minMaskAreas ?? [0], 'minMaskAreas', isArea, 'a non-negative integer');
    const gates = checkList(grid.gates ?? (allGated ? [0, 0.3, 0.5, 0.7] : [0]), 'gates', (v) => v >= 0 && v <= 1, 'a number in [0, 1]');
    if (gates.some((g) => g > 0) && !allGated) {
      throw new EnsembleError('INVALID_ARGUMENT', `gates: ${withClassProbs} of ${n} images have class probabilities; gating needs them for every image, or use gates [0].`);
    }
    const keep = grid.keepCandidates;
    if (keep !== undefined && !(Number.isInteger(keep) && keep >= 1)) {
      throw new EnsembleError('INVALID_ARGUMENT', `keepCandidates: expected a positive integer, got ${show(keep)}.`);
    }
    const kept = new Float64Array(n); // predicted area per image after minArea
    const hits = new Float64Array(n);
    const tops_ = new Float64Array(n);
    const classes: Required<ClassRule>[] = [];
    const classScores: number[] = [];
    const candidates: TuningCandidate[] = [];
    for (let k = 0; k < channels; k++) {
      const list = entries[k]!;
      const mine: TuningCandidate[] = [];
      let best: TuningCandidate | null = null;
      for (let j = 0; j < ts.length; j++) {
        const threshold = ts[j]!;
        for (const minArea of minAreas) {
          for (let i = 0; i < n; i++) {
            const e = list[i]!;
            let p = 0;
            let h = 0;
            let t = -Infinity;
            for (let c = e.offsets[j]!; c < e.offsets[j + 1]!; c++) {
              if (e.area[c]! > minArea) {
                p += e.area[c]!;
                h += e.inter[c]!;
                if (e.max[c]! > t) t = e.max[c]!;
              }
            }
            kept[i] = p;
            hits[i] = h;
            tops_[i] = t;
          }
          for (const topThreshold of tops) {
            if (topThreshold > 0 && topThreshold <= threshold) continue;
            for (const minMaskArea of maskAreas) {
              for (const gate of gates) {
                let sum = 0;
                for (let i = 0; i < n; i++) {
                  const e = list[i]!;
                  const on = kept[i]! > 0 && kept[i]! > minMaskArea && tops_[i]! > topThreshold && (gate === 0 || e.classProb >= gate);
                  const p = on ? kept[i]! : 0;
                  const denom = p + e.truthArea;
                  sum += denom === 0 ? 1 : (2 * (on ? hits[i]! : 0)) / denom;
                }
                const candidate: TuningCandidate = { classId: k + 1, threshold, minArea, topThreshold, minMaskArea, gate, dice: sum / n };
                mine.push(candidate);
                if (best === null || candidate.dice > best.dice) best = candidate;
              }
            }
          }
        }
      }
      const b = best!;
      classes.push({ threshold: b.threshold, minArea: b.minArea, topThreshold: b.topThreshold, minMaskArea: b.minMaskArea, gate: b.gate });
      classScores.push(b.dice);
      // Stable sort: equal scores keep grid order, so the chosen candidate comes first.
      mine.sort((a, c) => c.dice - a.dice);
      candidates.push(...(keep === undefined ? mine : mine.slice(0, keep)));
    }
    return {
      version: 1,
      classes,
      connectivity,
      score: classScores.reduce((a, b) => a + b, 0) / channels,
      classScores,
      images: n,
      candidates,
    };
  };

  return {
    add,
    search,
    get images() {
      return entries[0]!.length;
    },
  };
}
