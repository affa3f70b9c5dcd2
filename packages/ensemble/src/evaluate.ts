import { dice } from '@steel/metrics';
import { checkShape } from './components.ts';
import { combineProbabilities, normalizeWeights, type CombineMode, COMBINE_MODES } from './ensemble.ts';
import { EnsembleError, echo } from './errors.ts';
import { postprocess, REFERENCE_POSTPROCESS, type PostprocessConfig, type ProbabilityShape } from './postprocess.ts';
import { truthAccessor, type GroundTruth } from './truth.ts';

/** Options of {@link createStepEvaluator}. */
export interface StepEvaluatorOptions extends ProbabilityShape {
  /** Model names, in the order of the probabilities given to `add`. */
  readonly models: readonly string[];
  /** Ensemble weights (validated and normalised); default equal. */
  readonly weights?: readonly number[];
  /** Default `'mean'`. */
  readonly mode?: CombineMode;
  /** Pixel threshold of every step before post-processing; default 0.5. */
  readonly threshold?: number;
  /** Post-processing of the `+ post-processing` step; default {@link REFERENCE_POSTPROCESS}. */
  readonly postprocess?: PostprocessConfig;
  /**
   * Post-processing with empty-image gates (classifier `gate`, `topThreshold`, `minMaskArea`) for a last `+ gating` step,
   * scored after `+ post-processing`; omit to skip the row. The samples' `classProbs` apply here.
   */
  readonly gating?: PostprocessConfig;
}

/** One image's inputs to {@link StepEvaluator.add}; every probability array is `[H, W, C]`, channels last. */
export interface StepSample {
  readonly truth: GroundTruth;
  /** Each model's plain probabilities, in the order of `models`. */
  readonly raw: readonly ArrayLike<number>[];
  /** Each model's probabilities with test-time augmentation; omit to skip the TTA rows. */
  readonly tta?: readonly ArrayLike<number>[];
  /** Classification head's per-class probabilities for the post-processing and gating rules. */
  readonly classProbs?: ArrayLike<number>;
}

/** One row of a {@link StepTable}. */
export interface StepRow {
  /** E.g. `raw unet`, `+ TTA unet`, `ensemble (+ TTA)`, `+ post-processing`, `+ gating`. */
  readonly step: string;
  /** Mean Dice per class (index = ClassId − 1). */
  readonly dice: readonly number[];
  /** Competition Dice: mean over every image and class. */
  readonly mean: number;
  /**
   * Dataset Dice per class: `2·ΣI / (ΣP + ΣT)` with the pixel counts summed over all images (1 where the class has no
   * pixel in truth or prediction). Unlike `dice`, an empty image predicted empty adds nothing.
   */
  readonly datasetDice: readonly number[];
  /** Mean of `datasetDice` over the classes. */
  readonly meanDatasetDice: number;
  /** Dataset IoU per class: `ΣI / Σ(P ∪ T)` over all images (1 where the union is empty). */
  readonly iou: readonly number[];
  /** Mean of `iou` over the classes (mIoU). */
  readonly meanIou: number;
  /**
   * Change of `mean` from the step this one builds on: TTA from the same model raw, the ensemble from its best member, post-
   * processing from the row before it. Absent for raw rows.
   */
  readonly gain?: number;
}

/** What each step buys: rows in pipeline order. */
export interface StepTable {
  readonly images: number;
  readonly classIds: readonly number[];
  readonly rows: readonly StepRow[];
}

/** Accumulates Dice per class for each step of the pipeline, one image at a time (bounded memory). */
export interface StepEvaluator {
  /**
   * Scores one image at every step.
   * @throws {EnsembleError} `SHAPE_MISMATCH` if the number of models or an array's length is wrong, or `tta` was given for
   * some images and not others.
   */
  add(sample: StepSample): void;
  readonly images: number;
  /** The table so far. */
  table(): StepTable;
}

function threshold(probs: ArrayLike<number>, k: number, channels: number, t: number, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels);
  for (let i = 0, j = k; i < pixels; i++, j += channels) out[i] = probs[j]! > t ? 1 : 0;
  return out;
}

/**
 * Creates a {@link StepEvaluator}: Dice per class of each model raw, each model with TTA, the ensemble (of the TTA
 * probabilities when given), the ensemble after post-processing and, with `gating`, after the gated post-processing, so the
 * user sees what each step buys. Masks come from
 * `probability > threshold` and are scored with `dice` of @steel/metrics (1 when both masks are empty).
 * @throws {EnsembleError} `INVALID_ARGUMENT`, `INVALID_WEIGHTS` or `UNKNOWN_NAME` for bad options.
 * @example
 * const steps = createStepEvaluator({ height: 256, width: 1600, classes: 4, models: ['unet', 'fpn'] });
 * steps.add({ truth, raw: [unetProbs, fpnProbs], tta: [unetTta, fpnTta] });
 * console.log(formatStepTable(steps.table()));
 */
export function createStepEvaluator({
  height,
  width,
  classes: channels,
  models,
  weights,
  mode = 'mean',
  threshold: t = 0.5,
  postprocess: config = REFERENCE_POSTPROCESS,
  gating,
}: StepEvaluatorOptions): StepEvaluator {
  if (!Array.isArray(models) || models.length === 0 || !models.every((m) => typeof m === 'string')) {
    throw new EnsembleError('INVALID_ARGUMENT', `models: expected a non-empty array of names, got ${echo(models)}.`);
  }
  if (!Number.isInteger(channels) || channels < 1) throw new EnsembleError('INVALID_ARGUMENT', `classes: expected a positive integer, got ${echo(channels)}.`);
  if (!(COMBINE_MODES as readonly unknown[]).includes(mode)) {
    throw new EnsembleError('UNKNOWN_NAME', `Unknown combine mode ${echo(mode)}; expected one of ${COMBINE_MODES.join(', ')}.`);
  }
  if (typeof t !== 'number' || !(t >= 0 && t < 1)) throw new EnsembleError('INVALID_ARGUMENT', `threshold: expected a number in [0, 1), got ${echo(t)}.`);
  const w = normalizeWeights(weights, models.length);
  const pixels = checkShape({ height, width }, height * width * channels, channels, 'probabilities');
  const shape = { height, width, classes: channels };
  // Validate the config once, before any image.
  postprocess(new Float32Array(pixels * channels), shape, config);
  if (gating !== undefined) postprocess(new Float32Array(pixels * channels), shape, gating);
  const sums = new Map<string, Float64Array>();
  // Per step and class: intersection, predicted and true pixels summed over the images.
  const pooled = new Map<string, { inter: Float64Array; pred: Float64Array; truth: Float64Array }>();
  let images = 0;
  let withTta: boolean | null = null;

  const score = (step: string, masks: readonly Uint8Array[], truths: readonly Uint8Array[]): void => {
    let row = sums.get(step);
    if (!row) sums.set(step, (row = new Float64Array(channels)));
    let counts = pooled.get(step);
    if (!counts) pooled.set(step, (counts = { inter: new Float64Array(channels), pred: new Float64Array(channels), truth: new Float64Array(channels) }));
    for (let k = 0; k < channels; k++) {
      const m = masks[k]!;
      const g = truths[k]!;
      row[k]! += dice(m, g);
      let inter = 0;
      let pred = 0;
      let truth = 0;
      for (let i = 0; i < pixels; i++) {
        const a = m[i]! > 0 ? 1 : 0;
        const b = g[i]! > 0 ? 1 : 0;
        pred += a;
        truth += b;
        inter += a & b;
      }
      counts.inter[k]! += inter;
      counts.pred[k]! += pred;
      counts.truth[k]! += truth;
    }
  };
  const thresholded = (probs: ArrayLike<number>): Uint8Array[] => Array.from({ length: channels }, (_, k) => threshold(probs, k, channels, t, pixels));
  const check = (list: readonly ArrayLike<number>[] | undefined, field: string): void => {
    if (!Array.isArray(list) || list.length !== models.length) {
      throw new EnsembleError('SHAPE_MISMATCH', `${field}: expected ${models.length} probability arrays (one per model), got ${Array.isArray(list) ? list.length : echo(list)}.`);
    }
    list.forEach((p, i) => checkShape({ height, width }, p.length, channels, `${field}[${i}] probabilities`));
  };

  return {
    add({ truth, raw, tta, classProbs }) {
      check(raw, 'raw');
      if (tta !== undefined) check(tta, 'tta');
      if (withTta !== null && withTta !== (tta !== undefined)) {
        throw new EnsembleError('SHAPE_MISMATCH', `tta: given for ${withTta ? 'earlier images but not this one' : 'this image but not earlier ones'}; give it for every image or none.`);
      }
      withTta = tta !== undefined;
      const truths = truthAccessor(truth, pixels, channels).map(({ values, offset, stride }) => {
        const m = new Uint8Array(pixels);
        for (let i = 0, j = offset; i < pixels; i++, j += stride) m[i] = values[j]! > 0 ? 1 : 0;
        return m;
      });
      models.forEach((name, i) => score(`raw ${name}`, thresholded(raw[i]!), truths));
      if (tta) models.forEach((name, i) => score(`+ TTA ${name}`, thresholded(tta[i]!), truths));
      const source = tta ?? raw;
      const combined = models.length > 1 ? combineProbabilities(source, { weights: w, mode }) : source[0]!;
      if (models.length > 1) score(`ensemble${tta ? ' (+ TTA)' : ''}`, thresholded(combined), truths);
      const cls = classProbs === undefined ? {} : { classProbs };
      score('+ post-processing', postprocess(combined, shape, config, cls), truths);
      if (gating !== undefined) score('+ gating', postprocess(combined, shape, gating, cls), truths);
      images++;
    },
    get images() {
      return images;
    },
    table() {
      const rows: StepRow[] = [];
      for (const [step, row] of sums) {
        const d = Array.from(row, (s) => (images === 0 ? Number.NaN : s / images));
        const { inter, pred, truth } = pooled.get(step)!;
        const datasetDice = Array.from(inter, (n, k) => (pred[k]! + truth[k]! === 0 ? 1 : (2 * n) / (pred[k]! + truth[k]!)));
        const iou = Array.from(inter, (n, k) => (pred[k]! + truth[k]! - n === 0 ? 1 : n / (pred[k]! + truth[k]! - n)));
        const meanOf = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / channels;
        rows.push({ step, dice: d, mean: meanOf(d), datasetDice, meanDatasetDice: meanOf(datasetDice), iou, meanIou: meanOf(iou) });
      }
      // Pipeline order: every raw row, then every TTA row, then the ensemble, then post-processing.
      const rank = (step: string): number => (step.startsWith('raw ') ? 0 : step.startsWith('+ TTA ') ? 1 : step.startsWith('ensemble') ? 2 : 3);
      rows.sort((a, b) => rank(a.step) - rank(b.step));
      const byStep = new Map(rows.map((r) => [r.step, r.mean]));
      const members = rows.filter((r) => rank(r.step) === (withTta ? 1 : 0)).map((r) => r.mean);
      const withGain = rows.map((row, i): StepRow => {
        let base: number | undefined;
        if (row.step.startsWith('+ TTA ')) base = byStep.get(`raw ${row.step.slice('+ TTA '.length)}`);
        else if (row.step.startsWith('ensemble')) base = Math.max(...members);
        else if (i > 0 && rank(row.step) === 3) base = rows[i - 1]!.mean;
        return base === undefined ? row : { ...row, gain: row.mean - base };
      });
      return { images, classIds: Array.from({ length: channels }, (_, k) => k + 1), rows: withGain };
    },
  };
}

/**
 * Formats a {@link StepTable} as fixed-width text, one line per step, with Dice per class, the mean and its gain over the
 * step it builds on.
 * @example formatStepTable(steps.table()); // '3 images\nstep  class 1 … mean  gain\n…'
 */
export function formatStepTable(table: StepTable): string {
  const names = ['step', ...table.classIds.map((c) => `class ${c}`), 'mean', 'gain'];
  const lines: string[][] = [names];
  for (const row of table.rows) {
    const gain = row.gain === undefined ? '' : `${row.gain >= 0 ? '+' : ''}${row.gain.toFixed(4)}`;
    lines.push([row.step, ...row.dice.map((d) => d.toFixed(4)), row.mean.toFixed(4), gain]);
  }
  return `${table.images} image${table.images === 1 ? '' : 's'}\n${alignColumns(lines)}`;
}

/**
 * Formats the pooled scores of a {@link StepTable} as fixed-width text, one line per step: dataset Dice per class
 * (`2·ΣI / (ΣP + ΣT)` over all images), their mean, and the mean IoU over the classes.
 * @example formatPooledTable(steps.table()); // 'step  class 1 … mean  mIoU\n…'
 */
export function formatPooledTable(table: StepTable): string {
  const names = ['step', ...table.classIds.map((c) => `class ${c}`), 'mean', 'mIoU'];
  const lines: string[][] = [names];
  for (const row of table.rows) lines.push([row.step, ...row.datasetDice.map((d) => d.toFixed(4)), row.meanDatasetDice.toFixed(4), row.meanIou.toFixed(4)]);
  return alignColumns(lines);
}

/** Pads the cells of `lines` into columns: the first left-aligned, the others right-aligned, two spaces apart. */
function alignColumns(lines: readonly (readonly string[])[]): string {
  const widths = lines[0]!.map((_, c) => Math.max(...lines.map((l) => l[c]!.length)));
  return lines.map((l) => l.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd()).join('\n');
}
