import { EnsembleError, echo } from './errors.ts';

/** Pixel neighbourhood of connected components: 4 (edges) or 8 (edges and corners). */
export type Connectivity = 4 | 8;

/** Height and width of a mask or probability map in pixels. */
export interface ImageShape {
  readonly height: number;
  readonly width: number;
}

/** Labelled connected components: `labels[r * width + c]` is 0 for background, else 1..count in raster order of first pixel. */
export interface ComponentLabels {
  readonly labels: Int32Array;
  readonly count: number;
}

/**
 * Runs of foreground pixels and their components, found in one scan. Internal: the arrays are views of shared scratch
 * buffers, valid until the next call (every caller is synchronous).
 */
export interface RunTable {
  /** Number of runs. */
  readonly runs: number;
  readonly row: Int32Array;
  /** First column of each run. */
  readonly start: Int32Array;
  /** One past the last column of each run. */
  readonly end: Int32Array;
  /** Highest value inside each run. */
  readonly max: Float32Array;
  /** Component index (0-based, raster order of first pixel) of each run. */
  readonly component: Int32Array;
  /** Number of components. */
  readonly components: number;
}

let capacity = 0;
let runRow = new Int32Array(0);
let runStart = new Int32Array(0);
let runEnd = new Int32Array(0);
let runMax = new Float32Array(0);
let runParent = new Int32Array(0);
let runComponent = new Int32Array(0);

function grow(min: number): void {
  let next = Math.max(1024, capacity * 2);
  while (next < min) next *= 2;
  const copy = <T extends Int32Array | Float32Array>(old: T, make: (n: number) => T): T => {
    const fresh = make(next);
    fresh.set(old);
    return fresh;
  };
  runRow = copy(runRow, (n) => new Int32Array(n));
  runStart = copy(runStart, (n) => new Int32Array(n));
  runEnd = copy(runEnd, (n) => new Int32Array(n));
  runMax = copy(runMax, (n) => new Float32Array(n));
  runParent = copy(runParent, (n) => new Int32Array(n));
  runComponent = new Int32Array(next);
  capacity = next;
}

function find(i: number): number {
  // Path halving.
  while (runParent[i]! !== i) {
    const p = runParent[runParent[i]!]!;
    runParent[i] = p;
    i = p;
  }
  return i;
}

/** Checks a shape and the number of values behind it; returns height * width. */
export function checkShape(shape: ImageShape, length: number, channels: number, what: string): number {
  const { height, width } = shape;
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw new EnsembleError('SHAPE_MISMATCH', `Expected positive integer height and width, got ${echo(height)}x${echo(width)}.`);
  }
  const n = height * width;
  if (length !== n * channels) {
    const dims = channels === 1 ? `${height}x${width}` : `${height}x${width}x${channels}`;
    throw new EnsembleError('SHAPE_MISMATCH', `Expected ${what} of ${dims} = ${n * channels} values, got ${length}.`);
  }
  return n;
}

export function checkConnectivity(connectivity: unknown): asserts connectivity is Connectivity {
  if (connectivity !== 4 && connectivity !== 8) {
    throw new EnsembleError('INVALID_ARGUMENT', `Expected connectivity 4 or 8, got ${echo(connectivity)}.`);
  }
}

/**
 * Finds the runs of values above `threshold` (pixel (r, c) read at `offset + (r * width + c) * stride`) and unites
 * touching runs of consecutive rows: a two-pass, run-based union-find labelling. Internal building block.
 */
export function scanRuns(
  values: ArrayLike<number>,
  height: number,
  width: number,
  offset: number,
  stride: number,
  threshold: number,
  connectivity: Connectivity,
): RunTable {
  let runs = 0;
  // Columns overlap test for runs [s, e) of consecutive rows: 8-connected runs may touch diagonally.
  const reach = connectivity === 8 ? 1 : 0;
  let prevFirst = 0;
  let prevLast = 0;
  for (let r = 0; r < height; r++) {
    const rowFirst = runs;
    let j = prevFirst;
    let i = offset + r * width * stride;
    let c = 0;
    while (c < width) {
      // Skip background.
      while (c < width && !(values[i]! > threshold)) {
        c++;
        i += stride;
      }
      if (c === width) break;
      const s = c;
      let m = values[i]!;
      while (c < width) {
        const v = values[i]!;
        if (!(v > threshold)) break;
        if (v > m) m = v;
        c++;
        i += stride;
      }
      if (runs === capacity) grow(runs + 1);
      runRow[runs] = r;
      runStart[runs] = s;
      runEnd[runs] = c;
      runMax[runs] = m;
      runParent[runs] = runs;
      // Unite with the previous row's runs that touch [s - reach, c + reach).
      while (j < prevLast && runEnd[j]! + reach <= s) j++;
      for (let k = j; k < prevLast && runStart[k]! < c + reach; k++) {
        const a = find(k);
        const b = find(runs);
        if (a < b) runParent[b] = a;
        else if (b < a) runParent[a] = b;
      }
      runs++;
    }
    prevFirst = rowFirst;
    prevLast = runs;
  }
  // Second pass: number the roots in order of their first run, which holds the component's first pixel in raster order.
  let components = 0;
  for (let k = 0; k < runs; k++) {
    const root = find(k);
    runComponent[k] = root === k ? components++ : runComponent[root]!;
  }
  return {
    runs,
    row: runRow,
    start: runStart,
    end: runEnd,
    max: runMax,
    component: runComponent,
    components,
  };
}

/** Pixel count of each component of a run table. */
export function componentAreas(table: RunTable): Int32Array {
  const area = new Int32Array(table.components);
  for (let k = 0; k < table.runs; k++) area[table.component[k]!]! += table.end[k]! - table.start[k]!;
  return area;
}

/**
 * Labels the connected components of the foreground (values > 0) of a row-major mask.
 * Labels are 1..count in raster order of each component's first pixel; background is 0.
 * @throws {EnsembleError} `SHAPE_MISMATCH` if `mask.length !== height * width`; `INVALID_ARGUMENT` for a connectivity other than 4 or 8.
 * @example labelComponents(new Uint8Array([1, 0, 0, 1]), { height: 2, width: 2 }).count; // 1 (8-connected), 2 with { connectivity: 4 }
 */
export function labelComponents(
  mask: ArrayLike<number>,
  shape: ImageShape,
  { connectivity = 8 }: { connectivity?: Connectivity } = {},
): ComponentLabels {
  checkConnectivity(connectivity);
  const n = checkShape(shape, mask.length, 1, 'a mask');
  const { height, width } = shape;
  const table = scanRuns(mask, height, width, 0, 1, 0, connectivity);
  const labels = new Int32Array(n);
  for (let k = 0; k < table.runs; k++) {
    const base = table.row[k]! * width;
    labels.fill(table.component[k]! + 1, base + table.start[k]!, base + table.end[k]!);
  }
  return { labels, count: table.components };
}
