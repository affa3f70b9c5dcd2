import { addSums } from './counts.ts';
import { checkPair, checkThreshold, layoutOf, type Layout } from './input.ts';
import type { ConfusionCounts, MaskData, StackOptions, ThresholdOptions } from './types.ts';

/** Builds confusion counts from per-pair sums of predicted, target and shared pixels. */
export function countsFromSums(
  layout: Pick<Layout, 'images' | 'classes'>,
  pixels: ArrayLike<number>,
  p: Float64Array,
  t: Float64Array,
  i: Float64Array,
): ConfusionCounts {
  const n = layout.images * layout.classes;
  const tp = new Float64Array(n);
  const fp = new Float64Array(n);
  const fn = new Float64Array(n);
  const tn = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const both = i[k]!;
    tp[k] = both;
    fp[k] = p[k]! - both;
    fn[k] = t[k]! - both;
    tn[k] = pixels[Math.floor(k / layout.classes)]! - p[k]! - t[k]! + both;
  }
  return { images: layout.images, classes: layout.classes, tp, fp, fn, tn };
}

/**
 * Counts true/false positives and negatives for every (image, class) pair of a channel-last stack, like
 * segmentation_models.pytorch's `get_stats` in multilabel mode.
 * @throws {MetricsError} `SHAPE_MISMATCH` if the arrays differ in length or do not match `shape`; `INVALID_ARGUMENT` for a
 * non-finite threshold or an unsupported array type.
 * @example confusionCounts(pred, target, { shape: [8, 256, 1600, 4] }).tp; // Float64Array(32)
 */
export function confusionCounts(pred: MaskData, target: MaskData, options: StackOptions): ConfusionCounts {
  checkPair(pred, target);
  const threshold = checkThreshold(options?.threshold);
  const layout = layoutOf(options?.shape, pred.length);
  const n = layout.images * layout.classes;
  const p = new Float64Array(n);
  const t = new Float64Array(n);
  const i = new Float64Array(n);
  addSums(pred, target, layout, threshold, p, t, i, 0);
  return countsFromSums(layout, new Float64Array(layout.images).fill(layout.pixels), p, t, i);
}

/** Sums of one mask pair treated as a single class. */
function pairSums(pred: MaskData, target: MaskData, options: ThresholdOptions | undefined): [number, number, number] {
  checkPair(pred, target);
  const threshold = checkThreshold(options?.threshold);
  const p = new Float64Array(1);
  const t = new Float64Array(1);
  const i = new Float64Array(1);
  if (pred.length > 0) addSums(pred, target, { images: 1, pixels: pred.length, classes: 1 }, threshold, p, t, i, 0);
  return [p[0]!, t[0]!, i[0]!];
}

/**
 * Returns the Dice coefficient 2|X∩Y| / (|X| + |Y|) of one mask pair, in [0, 1]; 1 when both masks are empty (the
 * competition's convention). All values count as one mask, whatever their shape.
 * @throws {MetricsError} `SHAPE_MISMATCH` if the lengths differ; `INVALID_ARGUMENT` for a bad threshold or array type.
 * @example dice(new Uint8Array([1, 1, 0, 0]), new Uint8Array([1, 0, 0, 0])); // 2 * 1 / (2 + 1) = 0.667
 */
export function dice(pred: MaskData, target: MaskData, options?: ThresholdOptions): number {
  const [p, t, i] = pairSums(pred, target, options);
  return p + t === 0 ? 1 : (2 * i) / (p + t);
}

/**
 * Returns the intersection over union |X∩Y| / |X∪Y| of one mask pair, in [0, 1]; 1 when both masks are empty.
 * @throws {MetricsError} `SHAPE_MISMATCH` if the lengths differ; `INVALID_ARGUMENT` for a bad threshold or array type.
 */
export function iou(pred: MaskData, target: MaskData, options?: ThresholdOptions): number {
  const [p, t, i] = pairSums(pred, target, options);
  return p + t === 0 ? 1 : i / (p + t - i);
}

/** The competition score of a stack: overall, per class and per (image, class) pair. */
export interface CompetitionDice {
  /** Mean Dice over all (image, class) pairs: the competition score. */
  readonly score: number;
  /** Mean Dice over images, one entry per class. */
  readonly perClass: number[];
  /** Dice of pair (image i, class c) at `i * classes + c`. */
  readonly perPair: Float64Array;
  readonly images: number;
  readonly classes: number;
}

/** Dice per pair from counts, 1 where both masks are empty. */
export function pairDice(counts: ConfusionCounts): Float64Array {
  const { tp, fp, fn } = counts;
  const out = new Float64Array(tp.length);
  for (let k = 0; k < out.length; k++) {
    const d = 2 * tp[k]! + fp[k]! + fn[k]!;
    out[k] = d === 0 ? 1 : (2 * tp[k]!) / d;
  }
  return out;
}

/** Mean of per-pair values, overall and per class. */
export function meanOverPairs(values: Float64Array, classes: number): { mean: number; perClass: number[] } {
  const images = values.length / classes;
  const perClass = new Array<number>(classes).fill(0);
  let total = 0;
  for (let k = 0; k < values.length; k++) {
    perClass[k % classes]! += values[k]!;
    total += values[k]!;
  }
  return {
    mean: values.length === 0 ? Number.NaN : total / values.length,
    perClass: perClass.map((s) => (images === 0 ? Number.NaN : s / images)),
  };
}

/**
 * Returns the Severstal competition metric of a stack: Dice per (image, class) pair (1 when both masks are empty),
 * averaged over all pairs, and per class.
 * @throws {MetricsError} `SHAPE_MISMATCH` if the arrays differ in length or do not match `shape`; `INVALID_ARGUMENT` for a
 * bad threshold or array type.
 * @example competitionDice(probabilities, masks, { shape: [1, 256, 1600, 4], threshold: 0.5 }).score;
 */
export function competitionDice(pred: MaskData, target: MaskData, options: StackOptions): CompetitionDice {
  const counts = confusionCounts(pred, target, options);
  const perPair = pairDice(counts);
  const { mean, perClass } = meanOverPairs(perPair, counts.classes);
  return { score: mean, perClass, perPair, images: counts.images, classes: counts.classes };
}
