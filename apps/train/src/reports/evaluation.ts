// Error analysis of a model on labelled images: per-image Dice, the worst images, per-class precision / recall / F1 at the
// post-processing in use, a class confusion table and Dice against the pixel threshold per class.
import { writeFileAtomic } from '../run-dir.ts';

/** One scored image: `[H, W, C]` probabilities, truth and final masks (after post-processing and gates). */
export interface EvaluationSample {
  id: string;
  image: { data: Uint8Array; height: number; width: number; channels: number };
  probs: Float32Array;
  truth: Uint8Array;
  masks: Uint8Array;
}

/** Precision, recall and F1 from counts (1 when there is nothing to find and nothing was found). */
export interface Scores {
  tp: number;
  fp: number;
  fn: number;
  precision: number;
  recall: number;
  f1: number;
}

/** Everything the evaluation page shows (also its JSON). */
export interface EvaluationReport {
  title: string;
  postprocessing: string;
  images: number;
  classes: number;
  /** Competition Dice of the final masks: mean over images and classes, and per class. */
  dice: { mean: number; perClass: number[] };
  /** Per-image Dice (mean over classes) in image order. */
  perImage: { id: string; dice: number }[];
  /** Counts of per-image Dice in 20 bins of width 0.05 over [0, 1]. */
  histogram: number[];
  /** Per class: pixel-level and image-level (defect present or not) counts and scores. */
  perClass: { classId: number; pixels: Scores; images: Scores & { tn: number } }[];
  /** Pixel confusion: `counts[a][b]` = pixels of truth label a predicted as b; label 0 is "no defect", k is class k. */
  confusion: number[][];
  /** Mean Dice per class of `probability > threshold` (no post-processing) at each threshold. */
  thresholdCurve: { thresholds: number[]; dice: number[][] };
  /** The worst images, lowest Dice first. */
  worst: { id: string; dice: number; perClass: number[] }[];
}

export const CURVE_THRESHOLDS = Array.from({ length: 19 }, (_, i) => Number((0.05 * (i + 1)).toFixed(2)));

const ratio = (a: number, b: number): number => (b === 0 ? 1 : a / b);

function scores(tp: number, fp: number, fn: number): Scores {
  const precision = ratio(tp, tp + fp);
  const recall = ratio(tp, tp + fn);
  return { tp, fp, fn, precision, recall, f1: tp + fp + fn === 0 ? 1 : (2 * tp) / (2 * tp + fp + fn) };
}

/** Accumulates an {@link EvaluationReport} one image at a time, keeping only the worst `worst` images' pixels. */
export function createEvaluation(options: { classes: number; worst?: number; title: string; postprocessing: string }) {
  const C = options.classes;
  const keep = options.worst ?? 8;
  const perImage: { id: string; dice: number }[] = [];
  const diceSum = new Float64Array(C);
  const pix = Array.from({ length: C }, () => ({ tp: 0, fp: 0, fn: 0 }));
  const img = Array.from({ length: C }, () => ({ tp: 0, fp: 0, fn: 0, tn: 0 }));
  const confusion = Array.from({ length: C + 1 }, () => new Array<number>(C + 1).fill(0));
  const curve = Array.from({ length: C }, () => new Float64Array(CURVE_THRESHOLDS.length));
  const worst: (EvaluationSample & { dice: number; perClass: number[] })[] = [];

  function add(sample: EvaluationSample): void {
    const { probs, truth, masks } = sample;
    const pixels = truth.length / C;
    const perClass: number[] = [];
    for (let k = 0; k < C; k++) {
      let tp = 0, fp = 0, fn = 0;
      const inter = new Float64Array(CURVE_THRESHOLDS.length);
      const predicted = new Float64Array(CURVE_THRESHOLDS.length);
      let truthArea = 0;
      for (let p = 0, j = k; p < pixels; p++, j += C) {
        const t = truth[j]! > 0, m = masks[j]! > 0;
        if (t) truthArea++;
        if (t && m) tp++;
        else if (m) fp++;
        else if (t) fn++;
        const v = probs[j]!;
        for (let i = 0; i < CURVE_THRESHOLDS.length && v > CURVE_THRESHOLDS[i]!; i++) {
          predicted[i]!++;
          if (t) inter[i]!++;
        }
      }
      const d = tp + fp + tp + fn === 0 ? 1 : (2 * tp) / (2 * tp + fp + fn);
      perClass.push(d);
      diceSum[k]! += d;
      pix[k]!.tp += tp;
      pix[k]!.fp += fp;
      pix[k]!.fn += fn;
      const hasTruth = truthArea > 0, hasPred = tp + fp > 0;
      if (hasTruth && hasPred) img[k]!.tp++;
      else if (hasPred) img[k]!.fp++;
      else if (hasTruth) img[k]!.fn++;
      else img[k]!.tn++;
      for (let i = 0; i < CURVE_THRESHOLDS.length; i++) {
        const s = predicted[i]! + truthArea;
        curve[k]![i]! += s === 0 ? 1 : (2 * inter[i]!) / s;
      }
    }
    for (let p = 0; p < pixels; p++) {
      const o = p * C;
      let anyT = false, anyM = false;
      for (let a = 0; a < C; a++) {
        if (!(truth[o + a]! > 0)) continue;
        anyT = true;
        for (let b = 0; b < C; b++) if (masks[o + b]! > 0) confusion[a + 1]![b + 1]!++;
      }
      for (let b = 0; b < C; b++) if (masks[o + b]! > 0) anyM = true;
      if (!anyT) for (let b = 0; b < C; b++) if (masks[o + b]! > 0) confusion[0]![b + 1]!++;
      if (!anyM) {
        if (!anyT) confusion[0]![0]!++;
        else for (let a = 0; a < C; a++) if (truth[o + a]! > 0) confusion[a + 1]![0]!++;
      }
    }
    const dice = perClass.reduce((a, b) => a + b, 0) / C;
    perImage.push({ id: sample.id, dice });
    if (worst.length < keep || dice < worst[worst.length - 1]!.dice) {
      worst.push({ ...sample, probs: new Float32Array(0), image: { ...sample.image, data: sample.image.data.slice() }, truth: truth.slice(), masks: masks.slice(), dice, perClass });
      worst.sort((a, b) => a.dice - b.dice);
      worst.splice(keep);
    }
  }

  function report(): EvaluationReport {
    const n = perImage.length;
    const perClassDice = Array.from(diceSum, (s) => (n === 0 ? Number.NaN : s / n));
    const histogram = new Array<number>(20).fill(0);
    for (const { dice } of perImage) histogram[Math.min(19, Math.floor(dice * 20))]!++;
    return {
      title: options.title,
      postprocessing: options.postprocessing,
      images: n,
      classes: C,
      dice: { mean: perClassDice.reduce((a, b) => a + b, 0) / C, perClass: perClassDice },
      perImage,
      histogram,
      perClass: pix.map((p, k) => ({ classId: k + 1, pixels: scores(p.tp, p.fp, p.fn), images: { ...scores(img[k]!.tp, img[k]!.fp, img[k]!.fn), tn: img[k]!.tn } })),
      confusion,
      thresholdCurve: { thresholds: CURVE_THRESHOLDS, dice: curve.map((c) => Array.from(c, (s) => (n === 0 ? Number.NaN : s / n))) },
      worst: worst.map((w) => ({ id: w.id, dice: w.dice, perClass: w.perClass })),
    };
  }

  /** Writes `file` (HTML) and the same numbers as JSON beside it (`.json` instead of `.html`). */
  async function write(file: string): Promise<{ html: string; json: string }> {
    const { renderEvaluation } = await import('./evaluation-page.ts');
    const data = report();
    const json = file.replace(/\.html?$/i, '') + '.json';
    writeFileAtomic(json, `${JSON.stringify(data, null, 2)}\n`);
    writeFileAtomic(file, await renderEvaluation(data, worst));
    return { html: file, json };
  }

  return { add, report, write, get images() { return perImage.length; } };
}

export type Evaluation = ReturnType<typeof createEvaluation>;

/**
 * The sample of one image for the evaluation: the members' probabilities combined as the ensemble does, and its final masks
 * by the post-processing in use (with its gates and the head's class probabilities when given).
 */
export async function evaluationSample(
  id: string,
  image: EvaluationSample['image'],
  members: readonly Float32Array[],
  truth: Uint8Array,
  options: { weights?: readonly number[] | undefined; post: import('@steel/ensemble').PostprocessConfig; classes: number; classProbs?: Float32Array | undefined },
): Promise<EvaluationSample> {
  const { combineProbabilities, postprocess } = await import('@steel/ensemble');
  const probs = members.length === 1 ? members[0]! : Float32Array.from(combineProbabilities(members, options.weights ? { weights: options.weights } : {}));
  const shape = { height: image.height, width: image.width, classes: options.classes };
  const per = postprocess(probs, shape, options.post, options.classProbs ? { classProbs: options.classProbs } : {});
  const masks = new Uint8Array(probs.length);
  per.forEach((m, k) => {
    for (let p = 0; p < m.length; p++) masks[p * options.classes + k] = m[p]!;
  });
  return { id, image, probs, truth, masks };
}
