import { checkConnectivity, checkShape, type Connectivity } from './components.ts';
import { EnsembleError, echo } from './errors.ts';
import type { ClassRule, PostprocessConfig, ProbabilityShape } from './postprocess.ts';
import { truthAccessor, type GroundTruth } from './truth.ts';

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

/**
 * Statistics of one class of one image. For threshold j, groups `offsets[j]` to `offsets[j + 1]` list the distinct component
 * areas in decreasing order; `area[g]` is a group's area and `cumArea[g]`, `cumInter[g]`, `cumTop[g]` the total area,
 * overlap with the truth and top probability of every component of at least that area. Keeping the components larger than
 * a minimum area is then a prefix of the groups, found by binary search.
 */
interface Entry {
  readonly truthArea: number;
  readonly classProb: number;
  readonly offsets: Int32Array;
  readonly area: Int32Array;
  readonly cumArea: Int32Array;
  readonly cumInter: Int32Array;
  readonly cumTop: Float32Array;
}

/** Scratch of the incremental labelling, sized to one image (internal to a tuner). */
interface Scratch {
  readonly parent: Int32Array;
  readonly size: Int32Array;
  readonly inter: Int32Array;
  readonly top: Float32Array;
  readonly active: Uint8Array;
  readonly order: Int32Array;
  readonly bucket: Uint8Array;
  readonly chan: Float32Array;
  readonly tchan: Uint8Array;
}

function createScratch(pixels: number): Scratch {
  return {
    parent: new Int32Array(pixels),
    size: new Int32Array(pixels),
    inter: new Int32Array(pixels),
    top: new Float32Array(pixels),
    active: new Uint8Array(pixels),
    order: new Int32Array(pixels),
    bucket: new Uint8Array(pixels),
    chan: new Float32Array(pixels),
    tchan: new Uint8Array(pixels),
  };
}

type Stats = Pick<Entry, 'offsets' | 'area' | 'cumArea' | 'cumInter' | 'cumTop'>;

/** Sorts the pixels above the lowest threshold by band (number of thresholds exceeded), highest band first. */
function sortByBand(chan: Float32Array, ts: Float64Array, bucket: Uint8Array, order: Int32Array, starts: Int32Array, counts: Int32Array): number {
  const T = ts.length;
  const t0 = ts[0]!;
  const n = chan.length;
  let active = 0;
  for (let i = 0; i < n; i++) {
    const v = chan[i]!;
    if (!(v > t0)) continue;
    let b = 1;
    while (b < T && v > ts[b]!) b++;
    bucket[i] = b;
    counts[b]!++;
    active++;
  }
  if (active === 0) return 0;
  for (let b = T, at = 0; b >= 1; b--) {
    starts[b] = at;
    at += counts[b]!;
  }
  const fill = starts.slice();
  for (let i = 0; i < n; i++) if (chan[i]! > t0) order[fill[bucket[i]!]!++] = i;
  return active;
}

function unite(parent: Int32Array, size: Int32Array, inter: Int32Array, top: Float32Array, p: number, n: number): void {
  let a = findRoot(parent, p);
  let z = findRoot(parent, n);
  if (a === z) return;
  if (size[a]! < size[z]!) {
    const t = a;
    a = z;
    z = t;
  }
  parent[z] = a;
  size[a]! += size[z]!;
  inter[a]! += inter[z]!;
  if (top[z]! > top[a]!) top[a] = top[z]!;
}

/** Activates the pixels of `order[from, to)` and joins each to its active neighbours. */
function activate(order: Int32Array, from: number, to: number, width: number, height: number, eight: boolean, chan: Float32Array, tchan: Uint8Array, s: Scratch): void {
  const { parent, size, inter, top, active } = s;
  for (let q = from; q < to; q++) {
    const p = order[q]!;
    const r = (p / width) | 0;
    const c = p - r * width;
    parent[p] = p;
    size[p] = 1;
    inter[p] = tchan[p]!;
    top[p] = chan[p]!;
    active[p] = 1;
    const up = r > 0, down = r < height - 1, left = c > 0, right = c < width - 1;
    if (up && active[p - width]) unite(parent, size, inter, top, p, p - width);
    if (down && active[p + width]) unite(parent, size, inter, top, p, p + width);
    if (left && active[p - 1]) unite(parent, size, inter, top, p, p - 1);
    if (right && active[p + 1]) unite(parent, size, inter, top, p, p + 1);
    if (eight) {
      if (up && left && active[p - width - 1]) unite(parent, size, inter, top, p, p - width - 1);
      if (up && right && active[p - width + 1]) unite(parent, size, inter, top, p, p - width + 1);
      if (down && left && active[p + width - 1]) unite(parent, size, inter, top, p, p + width - 1);
      if (down && right && active[p + width + 1]) unite(parent, size, inter, top, p, p + width + 1);
    }
  }
}

/**
 * Components of every threshold in one sweep: pixels are activated from the highest threshold band down, joined to their
 * active neighbours by union-find (roots carry area, overlap and top probability), and the roots are read after each band.
 */
function summarise(chan: Float32Array, tchan: Uint8Array, height: number, width: number, ts: Float64Array, connectivity: Connectivity, s: Scratch): Stats {
  const T = ts.length;
  const offsets = new Int32Array(T + 1);
  const counts = new Int32Array(T + 2);
  const starts = new Int32Array(T + 2);
  const { parent, size, inter, top, active, order } = s;
  const activeCount = sortByBand(chan, ts, s.bucket, order, starts, counts);
  if (activeCount === 0) return { offsets, area: new Int32Array(0), cumArea: new Int32Array(0), cumInter: new Int32Array(0), cumTop: new Float32Array(0) };
  // Per threshold: distinct areas (decreasing) with cumulative area, overlap and top probability.
  const perThreshold: { area: number[]; cumArea: number[]; cumInter: number[]; cumTop: number[] }[] = [];
  const roots: number[] = [];
  for (let b = T; b >= 1; b--) {
    const end = starts[b]! + counts[b]!;
    activate(order, starts[b]!, end, width, height, connectivity === 8, chan, tchan, s);
    // Components at threshold b - 1: the roots among the active pixels, by decreasing area.
    roots.length = 0;
    for (let q = 0; q < end; q++) if (parent[order[q]!] === order[q]!) roots.push(order[q]!);
    roots.sort((x, y) => size[y]! - size[x]!);
    const g = { area: [] as number[], cumArea: [] as number[], cumInter: [] as number[], cumTop: [] as number[] };
    perThreshold[b - 1] = g;
    let cumA = 0, cumI = 0, cumT = -Infinity;
    for (let q = 0; q < roots.length; q++) {
      const root = roots[q]!;
      cumA += size[root]!;
      cumI += inter[root]!;
      if (top[root]! > cumT) cumT = top[root]!;
      if (q + 1 < roots.length && size[roots[q + 1]!] === size[root]) continue;
      g.area.push(size[root]!);
      g.cumArea.push(cumA);
      g.cumInter.push(cumI);
      g.cumTop.push(cumT);
    }
  }
  for (let q = 0; q < activeCount; q++) active[order[q]!] = 0;
  let total = 0;
  for (let j = 0; j < T; j++) {
    offsets[j] = total;
    total += perThreshold[j]?.area.length ?? 0;
  }
  offsets[T] = total;
  const area = new Int32Array(total), cumArea = new Int32Array(total), cumInter = new Int32Array(total), cumTop = new Float32Array(total);
  for (let j = 0; j < T; j++) {
    const g = perThreshold[j];
    if (!g) continue;
    area.set(g.area, offsets[j]);
    cumArea.set(g.cumArea, offsets[j]);
    cumInter.set(g.cumInter, offsets[j]);
    cumTop.set(g.cumTop, offsets[j]);
  }
  return { offsets, area, cumArea, cumInter, cumTop };
}

function findRoot(parent: Int32Array, i: number): number {
  while (parent[i]! !== i) {
    const p = parent[parent[i]!]!;
    parent[i] = p;
    i = p;
  }
  return i;
}

function checkList(list: unknown, field: string, ok: (v: number) => boolean, expected: string): number[] {
  if (!Array.isArray(list) || list.length === 0) throw new EnsembleError('INVALID_ARGUMENT', `${field}: expected a non-empty array, got ${echo(list)}.`);
  list.forEach((v, i) => {
    if (typeof v !== 'number' || !ok(v)) throw new EnsembleError('INVALID_ARGUMENT', `${field}[${i}]: expected ${expected}, got ${echo(v)}.`);
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
 * const tuner = createTuner({ height: 256, width: 1600, classes: 4 });
 * for (const { probs, truth } of validation) tuner.add(probs, truth);
 * const tuned = tuner.search({ minAreas: [0, 300, 600, 900] }); // JSON.stringify(tuned) → tuned.json
 */
export function createTuner({ height, width, classes: channels, thresholds = DEFAULT_THRESHOLDS, connectivity = 8 }: TunerOptions): Tuner {
  checkConnectivity(connectivity);
  if (!Number.isInteger(channels) || channels < 1) throw new EnsembleError('INVALID_ARGUMENT', `classes: expected a positive integer, got ${echo(channels)}.`);
  const pixels = checkShape({ height, width }, height * width * channels, channels, 'probabilities');
  const ts = checkList(thresholds, 'thresholds', isProb, 'a number in [0, 1)');
  const entries: Entry[][] = Array.from({ length: channels }, () => []);
  let withClassProbs = 0;
  let scratch: Scratch | null = null;
  if (ts.length > 255) throw new EnsembleError('INVALID_ARGUMENT', `thresholds: expected at most 255 values, got ${ts.length}.`);
  const tsArray = Float64Array.from(ts);

  const add: Tuner['add'] = (probs, truth, { classProbs } = {}) => {
    checkShape({ height, width }, probs.length, channels, 'probabilities');
    if (classProbs !== undefined && classProbs.length !== channels) {
      throw new EnsembleError('SHAPE_MISMATCH', `Expected ${channels} class probabilities, got ${classProbs.length}.`);
    }
    const truths = truthAccessor(truth, pixels, channels);
    scratch ??= createScratch(pixels);
    const { chan, tchan } = scratch;
    for (let k = 0; k < channels; k++) {
      const { values: tv, offset: to, stride: tstride } = truths[k]!;
      // Contiguous copies keep the hot loops on one array type.
      for (let i = 0, j = k; i < pixels; i++, j += channels) chan[i] = probs[j]!;
      let truthArea = 0;
      for (let i = 0, j = to; i < pixels; i++, j += tstride) {
        const on = tv[j]! > 0 ? 1 : 0;
        tchan[i] = on;
        truthArea += on;
      }
      const stats = summarise(chan, tchan, height, width, tsArray, connectivity, scratch);
      entries[k]!.push({ truthArea, classProb: classProbs === undefined ? Number.NaN : classProbs[k]!, ...stats });
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
      throw new EnsembleError('INVALID_ARGUMENT', `keepCandidates: expected a positive integer, got ${echo(keep)}.`);
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
            // Groups with area > minArea form a prefix of [lo, hi): binary search its end.
            const first = e.offsets[j]!;
            let lo = first;
            let hi = e.offsets[j + 1]!;
            while (lo < hi) {
              const mid = (lo + hi) >>> 1;
              if (e.area[mid]! > minArea) lo = mid + 1;
              else hi = mid;
            }
            const last = lo - 1;
            kept[i] = last >= first ? e.cumArea[last]! : 0;
            hits[i] = last >= first ? e.cumInter[last]! : 0;
            tops_[i] = last >= first ? e.cumTop[last]! : -Infinity;
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
