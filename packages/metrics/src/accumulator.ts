import { countsFromSums, meanOverPairs, pairDice } from './confusion.ts';
import { addSums } from './counts.ts';
import { MetricsError } from './errors.ts';
import { checkPair, checkThreshold, layoutOf } from './input.ts';
import { accuracy, f1Score, iouScore, precision, recall } from './scores.ts';
import type { ConfusionCounts, MaskData } from './types.ts';

/** Scores of counts pooled in one way. */
export interface PooledScores {
  readonly iou: number;
  readonly dice: number;
  readonly precision: number;
  readonly recall: number;
  readonly accuracy: number;
}

/** Everything a validation pass reports, from the confusion counts of all (image, class) pairs seen. */
export interface MetricsSummary {
  readonly images: number;
  readonly classes: number;
  /** The competition score: mean Dice over (image, class) pairs, 1 where both masks are empty. */
  readonly dice: number;
  /** Competition Dice per class (mean over images). */
  readonly dicePerClass: number[];
  /** Mean IoU over (image, class) pairs, 1 where both masks are empty. */
  readonly iou: number;
  /** That IoU per class. */
  readonly iouPerClass: number[];
  /** Pixels pooled over all images and classes (`micro`). */
  readonly micro: PooledScores;
  /** Pixels pooled over images, per class (`per-class`); index = class. */
  readonly perClass: { readonly [K in keyof PooledScores]: number[] };
  /** Mean over classes of `perClass` (`macro`). */
  readonly macro: PooledScores;
}

/** Options of {@link summarize}. */
export interface SummaryOptions {
  /** Value of a pooled score where it is 0/0 (e.g. precision of a class never predicted). Default 1. */
  zeroDivision?: number;
}

/**
 * Returns the competition Dice, pairwise IoU and micro / per-class / macro IoU, Dice, precision, recall and accuracy of
 * confusion counts.
 * @throws {MetricsError} `INVALID_ARGUMENT` for a non-number `zeroDivision`.
 */
export function summarize(counts: ConfusionCounts, options?: SummaryOptions): MetricsSummary {
  const zeroDivision = options?.zeroDivision ?? 1;
  const { classes } = counts;
  const d = meanOverPairs(pairDice(counts), classes);
  const j = meanOverPairs(iouScore(counts, { reduction: 'none', zeroDivision: 1 }), classes);
  const fns = { iou: iouScore, dice: f1Score, precision, recall, accuracy } as const;
  const keys = Object.keys(fns) as (keyof PooledScores)[];
  const pooled = (reduction: 'micro' | 'macro'): PooledScores =>
    Object.fromEntries(keys.map((k) => [k, fns[k](counts, { reduction, zeroDivision })])) as unknown as PooledScores;
  const perClass = Object.fromEntries(
    keys.map((k) => [k, Array.from(fns[k](counts, { reduction: 'per-class', zeroDivision }))]),
  ) as unknown as MetricsSummary['perClass'];
  return {
    images: counts.images,
    classes,
    dice: d.mean,
    dicePerClass: d.perClass,
    iou: j.mean,
    iouPerClass: j.perClass,
    micro: pooled('micro'),
    perClass,
    macro: pooled('macro'),
  };
}

/** Options of {@link createDiceAccumulator}. */
export interface DiceAccumulatorOptions {
  /** Channels per image (4 for Severstal). */
  classes: number;
  /** Float inputs are positive where `value > threshold`. Default 0.5. */
  threshold?: number;
}

/** Options of {@link DiceAccumulator.add}. */
export interface AccumulatorAddOptions {
  /**
   * `[batch, height, width, classes]`, `[height, width, classes]` or `[height, width]` (with 1 class). Without it the
   * arrays are one image of `classes` interleaved channels.
   */
  shape?: readonly number[];
}

/** Streaming metrics over a validation pass; memory grows with images x classes only. */
export interface DiceAccumulator {
  readonly classes: number;
  /** Images added so far. */
  readonly images: number;
  /**
   * Adds a batch (or one image) of predictions and targets.
   * @throws {MetricsError} `SHAPE_MISMATCH` if lengths differ or do not match `shape` and `classes`.
   */
  add(pred: MaskData, target: MaskData, options?: AccumulatorAddOptions): void;
  /**
   * Adds counts computed elsewhere (another worker, {@link confusionCounts}).
   * @throws {MetricsError} `SHAPE_MISMATCH` if their `classes` differ.
   */
  addCounts(counts: ConfusionCounts): void;
  /** Returns a copy of the counts of every (image, class) pair added, in the order added. */
  counts(): ConfusionCounts;
  /** Returns the summary of everything added ({@link summarize}). */
  summary(options?: SummaryOptions): MetricsSummary;
  /** Forgets everything added. */
  reset(): void;
}

/**
 * Creates a streaming accumulator for a validation pass: add batches, read the competition Dice and the confusion-based
 * scores at the end. The result equals computing the metrics on all images at once.
 * @throws {MetricsError} `INVALID_ARGUMENT` if `classes` is not a positive integer or the threshold is not finite.
 * @example
 * const acc = createDiceAccumulator({ classes: 4 });
 * acc.add(probabilities, masks, { shape: [8, 256, 1600, 4] });
 * acc.summary().dice;
 */
export function createDiceAccumulator(options: DiceAccumulatorOptions): DiceAccumulator {
  const { classes } = options ?? {};
  if (typeof classes !== 'number' || !Number.isInteger(classes) || classes <= 0) {
    throw new MetricsError('INVALID_ARGUMENT', `Expected classes to be a positive integer, got ${String(classes)}.`);
  }
  const threshold = checkThreshold(options.threshold);
  let images = 0;
  let p: Float64Array = new Float64Array(0);
  let t: Float64Array = new Float64Array(0);
  let i: Float64Array = new Float64Array(0);
  let pixels: Float64Array = new Float64Array(0);

  const grow = (more: number): void => {
    const need = images + more;
    if (need <= pixels.length) return;
    const capacity = Math.max(need, 2 * pixels.length, 16);
    const resize = (a: Float64Array, n: number): Float64Array => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    p = resize(p, capacity * classes);
    t = resize(t, capacity * classes);
    i = resize(i, capacity * classes);
    pixels = resize(pixels, capacity);
  };

  const counts = (): ConfusionCounts =>
    countsFromSums({ images, classes }, pixels, p, t, i);

  return {
    classes,
    get images() {
      return images;
    },
    add(pred, target, addOptions) {
      checkPair(pred, target);
      const layout = layoutOf(addOptions?.shape, pred.length, classes);
      grow(layout.images);
      addSums(pred, target, layout, threshold, p, t, i, images);
      pixels.fill(layout.pixels, images, images + layout.images);
      images += layout.images;
    },
    addCounts(more) {
      if (more.classes !== classes) {
        throw new MetricsError('SHAPE_MISMATCH', `Expected counts with ${classes} classes, got ${more.classes}.`);
      }
      grow(more.images);
      for (let k = 0; k < more.images * classes; k++) {
        const j = images * classes + k;
        p[j] = more.tp[k]! + more.fp[k]!;
        t[j] = more.tp[k]! + more.fn[k]!;
        i[j] = more.tp[k]!;
      }
      for (let n = 0; n < more.images; n++) {
        const k = n * classes;
        pixels[images + n] = more.tp[k]! + more.fp[k]! + more.fn[k]! + more.tn[k]!;
      }
      images += more.images;
    },
    counts,
    summary: (summaryOptions) => summarize(counts(), summaryOptions),
    reset() {
      images = 0;
      p = new Float64Array(0);
      t = new Float64Array(0);
      i = new Float64Array(0);
      pixels = new Float64Array(0);
    },
  };
}
