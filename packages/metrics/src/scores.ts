import { MetricsError } from './errors.ts';
import type { ConfusionCounts } from './types.ts';

/** Reductions that return one number. */
export type ScalarReduction = 'micro' | 'macro' | 'weighted' | 'micro-imagewise' | 'macro-imagewise' | 'weighted-imagewise';
/** Reductions that return an array: one score per class (`'per-class'`) or per (image, class) pair (`'none'`). */
export type ArrayReduction = 'per-class' | 'none';
/**
 * How counts are pooled, as in segmentation_models.pytorch:
 * - `micro`: sum counts over images and classes, then score.
 * - `macro`: sum over images per class, score each class, mean over classes. `weighted`: the same with `classWeights`.
 * - `micro-imagewise`: sum over classes per image, score each image, mean over images.
 * - `macro-imagewise`: score each (image, class) pair, mean over images per class, mean over classes (= mean over pairs).
 *   `weighted-imagewise`: the same with `classWeights`.
 * - `per-class`: the per-class scores of `macro`. `none`: the per-pair scores of `macro-imagewise`.
 */
export type Reduction = ScalarReduction | ArrayReduction;

/** Options of every score function. */
export interface ScoreOptions<R extends Reduction = Reduction> {
  /** Default `'micro'`. */
  reduction?: R;
  /**
   * The score where it is 0/0 (e.g. IoU of a pair where both masks are empty). Default 1, the competition's convention;
   * use 0 to count such cases as failures, or NaN to propagate.
   */
  zeroDivision?: number;
  /** Non-negative weight per class for `weighted` and `weighted-imagewise`; normalised to sum 1. */
  classWeights?: ArrayLike<number>;
}

/** `number` for scalar reductions, `Float64Array` for `per-class` and `none`. */
export type ScoreResult<R extends Reduction> = R extends ArrayReduction ? Float64Array : number;

/** A score of confusion counts, reduced as `options.reduction` says. */
export type ScoreFunction<Extra extends object = object> = <R extends Reduction = 'micro'>(
  counts: ConfusionCounts,
  options?: ScoreOptions<R> & Extra,
) => ScoreResult<R>;

type Metric = (tp: number, fp: number, fn: number, tn: number) => number;

const REDUCTIONS: readonly Reduction[] = [
  'micro',
  'macro',
  'weighted',
  'micro-imagewise',
  'macro-imagewise',
  'weighted-imagewise',
  'per-class',
  'none',
];

function checkWeights(weights: ArrayLike<number> | undefined, classes: number, reduction: Reduction): Float64Array {
  if (weights === undefined) {
    throw new MetricsError('INVALID_ARGUMENT', `Reduction '${reduction}' needs classWeights (${classes} numbers), got none.`);
  }
  if (weights.length !== classes) {
    throw new MetricsError('INVALID_ARGUMENT', `Expected ${classes} classWeights (one per class), got ${weights.length}.`);
  }
  let sum = 0;
  const out = new Float64Array(classes);
  for (let c = 0; c < classes; c++) {
    const w = weights[c];
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) {
      throw new MetricsError('INVALID_ARGUMENT', `Expected classWeights[${c}] to be a finite number >= 0, got ${String(w)}.`);
    }
    out[c] = w;
    sum += w;
  }
  if (sum === 0) throw new MetricsError('INVALID_ARGUMENT', `Expected classWeights with a positive sum, got all zeros.`);
  return out.map((w) => w / sum);
}

function reduce(metric: Metric, counts: ConfusionCounts, options: ScoreOptions | undefined): number | Float64Array {
  const { reduction = 'micro', zeroDivision = 1, classWeights } = options ?? {};
  if (!REDUCTIONS.includes(reduction)) {
    throw new MetricsError('INVALID_ARGUMENT', `Unknown reduction '${String(reduction)}'; expected one of ${REDUCTIONS.join(', ')}.`);
  }
  if (typeof zeroDivision !== 'number') {
    throw new MetricsError('INVALID_ARGUMENT', `Expected zeroDivision to be a number, got ${typeof zeroDivision}.`);
  }
  const { images, classes, tp, fp, fn, tn } = counts;
  const score = (a: number, b: number, c: number, d: number): number => {
    const s = metric(a, b, c, d);
    return Number.isNaN(s) ? zeroDivision : s;
  };
  const mean = (values: Float64Array): number => values.reduce((s, v) => s + v, 0) / values.length;
  const weighted = (values: Float64Array): number => {
    const w = checkWeights(classWeights, classes, reduction);
    return values.reduce((s, v, c) => s + v * w[c]!, 0);
  };
  // Scores per class of counts summed over images.
  const perClass = (): Float64Array => {
    const out = new Float64Array(classes);
    for (let c = 0; c < classes; c++) {
      let a = 0;
      let b = 0;
      let e = 0;
      let d = 0;
      for (let i = 0; i < images; i++) {
        const k = i * classes + c;
        a += tp[k]!;
        b += fp[k]!;
        e += fn[k]!;
        d += tn[k]!;
      }
      out[c] = score(a, b, e, d);
    }
    return out;
  };
  // Scores per pair, then their mean over images per class.
  const perPair = (): Float64Array => tp.map((_, k) => score(tp[k]!, fp[k]!, fn[k]!, tn[k]!));
  const imageMeanPerClass = (): Float64Array => {
    const pairs = perPair();
    const out = new Float64Array(classes);
    for (let k = 0; k < pairs.length; k++) out[k % classes]! += pairs[k]! / images;
    return out;
  };
  switch (reduction) {
    case 'micro': {
      const sum = (a: Float64Array): number => a.reduce((s, v) => s + v, 0);
      return score(sum(tp), sum(fp), sum(fn), sum(tn));
    }
    case 'macro':
      return mean(perClass());
    case 'weighted':
      return weighted(perClass());
    case 'per-class':
      return perClass();
    case 'micro-imagewise': {
      const out = new Float64Array(images);
      for (let i = 0; i < images; i++) {
        let a = 0;
        let b = 0;
        let e = 0;
        let d = 0;
        for (let k = i * classes; k < (i + 1) * classes; k++) {
          a += tp[k]!;
          b += fp[k]!;
          e += fn[k]!;
          d += tn[k]!;
        }
        out[i] = score(a, b, e, d);
      }
      return mean(out);
    }
    case 'macro-imagewise':
      return mean(imageMeanPerClass());
    case 'weighted-imagewise':
      return weighted(imageMeanPerClass());
    case 'none':
      return perPair();
  }
}

function scoreFunction<Extra extends object = object>(
  metricOf: (options: (ScoreOptions & Extra) | undefined) => Metric,
): ScoreFunction<Extra> {
  return ((counts: ConfusionCounts, options?: ScoreOptions & Extra) => reduce(metricOf(options), counts, options)) as ScoreFunction<Extra>;
}

/**
 * Returns IoU (Jaccard index) tp / (tp + fp + fn) of confusion counts, reduced by `options.reduction` (default `'micro'`).
 * @throws {MetricsError} `INVALID_ARGUMENT` for an unknown reduction or missing/bad `classWeights`.
 * @example iouScore(counts, { reduction: 'macro-imagewise' }); // mean IoU over (image, class) pairs, 1 where both empty
 */
export const iouScore: ScoreFunction = scoreFunction(() => (tp, fp, fn) => tp / (tp + fp + fn));

/**
 * Returns F1 = Dice = 2tp / (2tp + fp + fn) of confusion counts. With `reduction: 'macro-imagewise'` and the default
 * `zeroDivision: 1` it is the competition score.
 * @throws {MetricsError} `INVALID_ARGUMENT` for an unknown reduction or missing/bad `classWeights`.
 */
export const f1Score: ScoreFunction = scoreFunction(() => (tp, fp, fn) => (2 * tp) / (2 * tp + fp + fn));

/**
 * Returns F-beta = (1 + β²)tp / ((1 + β²)tp + β²fn + fp) of confusion counts; `beta` defaults to 1 (F1).
 * @throws {MetricsError} `INVALID_ARGUMENT` for a negative or non-finite beta, an unknown reduction or bad `classWeights`.
 */
export const fbetaScore: ScoreFunction<{ beta?: number }> = scoreFunction<{ beta?: number }>((options) => {
  const beta = options?.beta ?? 1;
  if (typeof beta !== 'number' || !Number.isFinite(beta) || beta < 0) {
    throw new MetricsError('INVALID_ARGUMENT', `Expected beta to be a finite number >= 0, got ${String(beta)}.`);
  }
  const b2 = beta * beta;
  return (tp, fp, fn) => ((1 + b2) * tp) / ((1 + b2) * tp + b2 * fn + fp);
});

/** Returns precision tp / (tp + fp) of confusion counts. @throws {MetricsError} `INVALID_ARGUMENT` as {@link iouScore}. */
export const precision: ScoreFunction = scoreFunction(() => (tp, fp) => tp / (tp + fp));

/** Returns recall (sensitivity) tp / (tp + fn) of confusion counts. @throws {MetricsError} `INVALID_ARGUMENT` as {@link iouScore}. */
export const recall: ScoreFunction = scoreFunction(() => (tp, _fp, fn) => tp / (tp + fn));

/** Returns specificity tn / (tn + fp) of confusion counts. @throws {MetricsError} `INVALID_ARGUMENT` as {@link iouScore}. */
export const specificity: ScoreFunction = scoreFunction(() => (_tp, fp, _fn, tn) => tn / (tn + fp));

/** Returns pixel accuracy (tp + tn) / all of confusion counts. @throws {MetricsError} `INVALID_ARGUMENT` as {@link iouScore}. */
export const accuracy: ScoreFunction = scoreFunction(() => (tp, fp, fn, tn) => (tp + tn) / (tp + fp + fn + tn));
