import { checkConnectivity, checkShape, componentAreas, scanRuns, type Connectivity, type ImageShape, type RunTable } from './components.ts';
import { EnsembleError, echo } from './errors.ts';

/**
 * Post-processing of one class. A pixel is foreground when its probability exceeds `threshold`; 8-connected (or 4-)
 * components of `minArea` pixels or fewer are removed (the reference's `component.sum() > min_size`); the remaining mask is
 * kept only if its top probability exceeds `topThreshold`, its area exceeds `minMaskArea`, and the classifier's probability
 * for the class is at least `gate`. Every optional field defaults to 0, which disables its rule.
 */
export interface ClassRule {
  /** Pixel threshold on the probability, in [0, 1). */
  readonly threshold: number;
  /** Components with at most this many pixels are removed. */
  readonly minArea?: number;
  /** The mask is kept only if its highest probability exceeds this. */
  readonly topThreshold?: number;
  /** The mask is kept only if its total area (after `minArea`) exceeds this. */
  readonly minMaskArea?: number;
  /** The mask is kept only if the classification head's probability for this class is at least this. */
  readonly gate?: number;
}

/** Post-processing of every class: `classes[k]` applies to channel k (ClassId k + 1). */
export interface PostprocessConfig {
  readonly classes: readonly ClassRule[];
  /** Component connectivity; default 8. */
  readonly connectivity?: Connectivity;
}

/** Shape of an `[H, W, classes]` probability map, one channel per class, channels last. */
export interface ProbabilityShape extends ImageShape {
  /** Class count: the number of probability channels. */
  readonly classes: number;
}

/** One connected defect region of a post-processed mask (for a defect list). Rows and columns are inclusive, 0-based. */
export interface DefectComponent {
  /** 1-based class (channel + 1). */
  readonly classId: number;
  /** Pixels. */
  readonly area: number;
  readonly top: number;
  readonly left: number;
  readonly bottom: number;
  readonly right: number;
  /** Highest probability inside the component. */
  readonly maxProb: number;
}

/** Minimum component areas of the reference pipeline, per class 1-4 (pixels of a 256x1600 image). */
export const REFERENCE_MIN_AREAS = [600, 600, 900, 2000] as const;

/** The reference post-processing: threshold 0.5 and minimum component areas [600, 600, 900, 2000], 8-connected. */
export const REFERENCE_POSTPROCESS: PostprocessConfig = Object.freeze({
  classes: Object.freeze(REFERENCE_MIN_AREAS.map((minArea) => Object.freeze({ threshold: 0.5, minArea }))),
  connectivity: 8,
});

/** Fills the defaults of a rule (internal). */
export function fullRule(rule: ClassRule): Required<ClassRule> {
  return {
    threshold: rule.threshold,
    minArea: rule.minArea ?? 0,
    topThreshold: rule.topThreshold ?? 0,
    minMaskArea: rule.minMaskArea ?? 0,
    gate: rule.gate ?? 0,
  };
}

export function checkRule(rule: ClassRule, where: string): Required<ClassRule> {
  const full = fullRule(rule);
  const bad = (field: string, expected: string, got: unknown): never => {
    throw new EnsembleError('INVALID_ARGUMENT', `${where}.${field}: expected ${expected}, got ${echo(got)}.`);
  };
  if (typeof full.threshold !== 'number' || !(full.threshold >= 0 && full.threshold < 1)) bad('threshold', 'a number in [0, 1)', full.threshold);
  if (!Number.isInteger(full.minArea) || full.minArea < 0) bad('minArea', 'a non-negative integer', full.minArea);
  if (!Number.isInteger(full.minMaskArea) || full.minMaskArea < 0) bad('minMaskArea', 'a non-negative integer', full.minMaskArea);
  if (typeof full.topThreshold !== 'number' || !(full.topThreshold >= 0 && full.topThreshold < 1)) bad('topThreshold', 'a number in [0, 1)', full.topThreshold);
  if (typeof full.gate !== 'number' || !(full.gate >= 0 && full.gate <= 1)) bad('gate', 'a number in [0, 1]', full.gate);
  return full;
}

function checkConfig(config: PostprocessConfig, channels: number): Required<ClassRule>[] {
  if (config === null || typeof config !== 'object' || !Array.isArray(config.classes)) {
    throw new EnsembleError('INVALID_ARGUMENT', `Expected a post-processing config { classes: ClassRule[] }, got ${echo(config)}.`);
  }
  if (config.classes.length !== channels) {
    throw new EnsembleError(
      'SHAPE_MISMATCH',
      `Expected one rule per channel (${channels}), got ${config.classes.length} rules. Pass as many rules as the model has classes.`,
    );
  }
  checkConnectivity(config.connectivity ?? 8);
  return config.classes.map((rule, k) => checkRule(rule, `classes[${k}]`));
}

function checkClassProbs(classProbs: ArrayLike<number> | undefined, channels: number): void {
  if (classProbs !== undefined && classProbs.length !== channels) {
    throw new EnsembleError('SHAPE_MISMATCH', `Expected ${channels} class probabilities, got ${classProbs.length}.`);
  }
}

/**
 * Decides which components of one class survive a rule. Returns the kept flags per component, or null when the whole mask is
 * dropped (internal; shared by post-processing and the component list).
 */
function keptComponents(table: RunTable, rule: Required<ClassRule>, classProb: number | undefined): Uint8Array | null {
  if (table.components === 0) return null;
  if (classProb !== undefined && !(classProb >= rule.gate)) return null;
  const area = componentAreas(table);
  const keep = new Uint8Array(table.components);
  let total = 0;
  for (let i = 0; i < area.length; i++) {
    if (area[i]! > rule.minArea) {
      keep[i] = 1;
      total += area[i]!;
    }
  }
  if (total === 0 || !(total > rule.minMaskArea)) return null;
  let top = -Infinity;
  for (let k = 0; k < table.runs; k++) if (keep[table.component[k]!] && table.max[k]! > top) top = table.max[k]!;
  return top > rule.topThreshold ? keep : null;
}

function paint(table: RunTable, keep: Uint8Array | null, width: number, out: Uint8Array): void {
  if (keep === null) return;
  for (let k = 0; k < table.runs; k++) {
    if (!keep[table.component[k]!]) continue;
    const base = table.row[k]! * width;
    out.fill(1, base + table.start[k]!, base + table.end[k]!);
  }
}

/**
 * Post-processes one class's probability map `[H, W]` (row-major) into a binary mask (0/1, row-major), by {@link ClassRule}.
 * `classProb` is the classification head's probability for the class; without it the gate is not applied.
 * @throws {EnsembleError} `SHAPE_MISMATCH` if `prob.length !== height * width`; `INVALID_ARGUMENT` for a bad rule.
 * @example postprocessClass(prob, { height: 256, width: 1600 }, { threshold: 0.5, minArea: 600 });
 */
export function postprocessClass(
  prob: ArrayLike<number>,
  shape: ImageShape,
  rule: ClassRule,
  { classProb, connectivity = 8 }: { classProb?: number; connectivity?: Connectivity } = {},
): Uint8Array {
  checkConnectivity(connectivity);
  const n = checkShape(shape, prob.length, 1, 'a probability map');
  const full = checkRule(rule, 'rule');
  const out = new Uint8Array(n);
  const table = scanRuns(prob, shape.height, shape.width, 0, 1, full.threshold, connectivity);
  paint(table, keptComponents(table, full, classProb), shape.width, out);
  return out;
}

/**
 * Post-processes an `[H, W, C]` probability map (channels last, as one image of an NHWC tensor) into one binary mask per
 * class: `masks[k]` is the row-major `[H, W]` mask of ClassId k + 1, ready for `encode` of @steel/rle.
 * @throws {EnsembleError} `SHAPE_MISMATCH` if the lengths of `probs`, `config.classes` or `classProbs` disagree with the shape; `INVALID_ARGUMENT` for a bad rule.
 * @example const masks = postprocess(probs, { height: 256, width: 1600, classes: 4 }, REFERENCE_POSTPROCESS);
 */
export function postprocess(
  probs: ArrayLike<number>,
  shape: ProbabilityShape,
  config: PostprocessConfig,
  { classProbs }: { classProbs?: ArrayLike<number> } = {},
): Uint8Array[] {
  const channels = shape.classes;
  if (!Number.isInteger(channels) || channels < 1) throw new EnsembleError('SHAPE_MISMATCH', `Expected a positive integer class count, got ${echo(channels)}.`);
  const n = checkShape(shape, probs.length, channels, 'probabilities');
  const rules = checkConfig(config, channels);
  checkClassProbs(classProbs, channels);
  const connectivity = config.connectivity ?? 8;
  const masks: Uint8Array[] = [];
  for (let k = 0; k < channels; k++) {
    const out = new Uint8Array(n);
    const table = scanRuns(probs, shape.height, shape.width, k, channels, rules[k]!.threshold, connectivity);
    paint(table, keptComponents(table, rules[k]!, classProbs?.[k]), shape.width, out);
    masks.push(out);
  }
  return masks;
}

/**
 * Lists the connected components that survive post-processing, with class, area, bounding box and highest probability,
 * ordered by class then raster order of first pixel (the viewer's defect list). Same arguments as {@link postprocess}.
 * @throws {EnsembleError} as {@link postprocess}.
 */
export function listComponents(
  probs: ArrayLike<number>,
  shape: ProbabilityShape,
  config: PostprocessConfig,
  { classProbs }: { classProbs?: ArrayLike<number> } = {},
): DefectComponent[] {
  const channels = shape.classes;
  if (!Number.isInteger(channels) || channels < 1) throw new EnsembleError('SHAPE_MISMATCH', `Expected a positive integer class count, got ${echo(channels)}.`);
  checkShape(shape, probs.length, channels, 'probabilities');
  const rules = checkConfig(config, channels);
  checkClassProbs(classProbs, channels);
  const connectivity = config.connectivity ?? 8;
  const list: DefectComponent[] = [];
  for (let k = 0; k < channels; k++) {
    const table = scanRuns(probs, shape.height, shape.width, k, channels, rules[k]!.threshold, connectivity);
    const keep = keptComponents(table, rules[k]!, classProbs?.[k]);
    if (keep === null) continue;
    const m = table.components;
    const area = new Int32Array(m);
    const top = new Int32Array(m).fill(shape.height);
    const left = new Int32Array(m).fill(shape.width);
    const bottom = new Int32Array(m).fill(-1);
    const right = new Int32Array(m).fill(-1);
    const max = new Float32Array(m).fill(-Infinity);
    for (let j = 0; j < table.runs; j++) {
      const i = table.component[j]!;
      area[i]! += table.end[j]! - table.start[j]!;
      top[i] = Math.min(top[i]!, table.row[j]!);
      bottom[i] = Math.max(bottom[i]!, table.row[j]!);
      left[i] = Math.min(left[i]!, table.start[j]!);
      right[i] = Math.max(right[i]!, table.end[j]! - 1);
      max[i] = Math.max(max[i]!, table.max[j]!);
    }
    for (let i = 0; i < m; i++) {
      if (!keep[i]) continue;
      list.push({ classId: k + 1, area: area[i]!, top: top[i]!, left: left[i]!, bottom: bottom[i]!, right: right[i]!, maxProb: max[i]! });
    }
  }
  return list;
}
