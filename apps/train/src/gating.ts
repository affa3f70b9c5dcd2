// Empty-image gating: the classification head's per-class probabilities (when the models have one), and the search of
// per-class gates (head gate, top-probability rule, mask-area rule) jointly with threshold and minimum component area.
import { existsSync, readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import type { ClassRule, PostprocessConfig, Tuner, TuningResult } from '@steel/ensemble';
import { padTo32 } from './config.ts';
import { splitOutputs } from './head.ts';
import { adapterFor, areaResize, toBatch, type DecodedImage, type Member } from './inference.ts';

/** Pixel thresholds tried by the tuner (lower than the package default: short trainings give low probabilities). */
export const TUNE_THRESHOLDS = [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7];
/** Minimum component areas tried by the tuner, in pixels of a 256x1600 image (scaled to the data). */
export const TUNE_MIN_AREAS = [0, 100, 200, 300, 400, 600, 800, 900, 1000, 1200, 1500, 2000, 2500, 3000, 4000];
/** Top-probability gates: a mask is kept only if its highest probability exceeds this (0: off). */
export const GATE_TOP_THRESHOLDS = [0, 0.5, 0.6, 0.7, 0.8, 0.9];
/** Mask-area gates in pixels of a 256x1600 image (scaled): a mask is kept only if its total area exceeds this (0: off). */
export const GATE_MASK_AREAS = [0, 500, 1000, 2000, 4000, 8000];
/** Classification-head gates: a mask is kept only if the head's probability for its class is at least this (0: off). */
export const GATE_CLASS_PROBS = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/** The models that have a classification head. */
export function headMembers(members: readonly Member[]): Member[] {
  return members.filter((m) => m.identity.classificationHead === true);
}

/**
 * Per-class probabilities `[B, C]` of the classification heads (the mean over the members that have one) for a batch of
 * stored-size images in [0, 1], scaled and padded as each model was trained; undefined when no member has a head.
 */
export function createClassifier(members: readonly Member[]): ((x: tf.Tensor4D) => tf.Tensor2D) | undefined {
  const heads = headMembers(members);
  if (heads.length === 0) return undefined;
  return (x) =>
    tf.tidy(() => {
      const [, height, width] = x.shape;
      const probs = heads.map((m) => {
        const sh = Math.max(1, Math.round(height * m.scale));
        const sw = Math.max(1, Math.round(width * m.scale));
        let input = m.scale === 1 ? x : areaResize(x, sh, sw);
        const adapt = adapterFor(m, x.shape[3] as 1 | 3);
        if (adapt) input = adapt(input);
        const padded = tf.pad(input, [[0, 0], [0, padTo32(sh) - sh], [0, padTo32(sw) - sw], [0, 0]]) as tf.Tensor4D;
        const { classLogits } = splitOutputs(m.model.predict(padded) as tf.Tensor | tf.Tensor[]);
        return tf.sigmoid(classLogits!);
      });
      return (probs.length === 1 ? probs[0]! : tf.div(tf.addN(probs), probs.length)) as tf.Tensor2D;
    });
}

/** Per-image class probabilities of decoded images (one size) as arrays, for the tuner and the step table. */
export async function classProbsOf(classify: (x: tf.Tensor4D) => tf.Tensor2D, images: readonly DecodedImage[]): Promise<Float32Array[]> {
  const x = toBatch(images);
  let out: tf.Tensor2D;
  try {
    out = classify(x);
  } finally {
    x.dispose();
  }
  const [n, c] = out.shape;
  const data = (await out.data()) as Float32Array;
  out.dispose();
  return Array.from({ length: n }, (_, i) => data.slice(i * c, (i + 1) * c));
}

/**
 * A class whose best rule does not beat predicting nothing on the validation images by more than `margin` is switched
 * off (its masks are kept only above an area no mask can reach), so the tuned post-processing never scores below the
 * all-empty baseline there. A margin of one image's Dice (1 / images) keeps a rule that wins on a single image by chance
 * from going to the test set.
 */
export function neverWorseThanEmpty(
  result: TuningResult,
  emptyPerClass: readonly number[],
  shape: { height: number; width: number },
  margin = 0,
): TuningResult {
  const on = result.classScores.map((d, k) => d > emptyPerClass[k]! + margin);
  const classes = result.classes.map((rule, k) => (on[k] ? rule : { ...rule, minMaskArea: shape.height * shape.width }));
  const classScores = result.classScores.map((d, k) => (on[k] ? d : emptyPerClass[k]!));
  const score = classScores.reduce((a, b) => a + b, 0) / classScores.length;
  return { ...result, classes, classScores, score };
}

/** The tuned post-processing with and without gates, and which classes the gates help. */
export interface GatedTuning {
  /** What to use: per class, the gated rule where it beats the plain one on the validation images, else the plain rule. */
  chosen: TuningResult;
  /** Threshold and minimum area only. */
  plain: TuningResult;
  /** Per class: whether the chosen rule is the gated one. */
  gated: boolean[];
}

const scaled = (areas: readonly number[], factor: number): number[] => [...new Set(areas.map((a) => Math.round(a * factor)))];

/**
 * Searches threshold and minimum area (plain), then the same jointly with the gates (head gate when every image came with
 * class probabilities, top probability, mask area). Each class keeps the gated rule only when it beats the plain one on
 * the validation images by more than one image's Dice, and no class keeps a rule that does not beat predicting nothing
 * by that margin (it is switched off).
 */
export function searchWithGating(
  tuner: Tuner,
  options: { height: number; width: number; emptyPerClass: readonly number[]; withClassProbs: boolean; keepCandidates?: number },
): GatedTuning {
  const { height, width, emptyPerClass } = options;
  const factor = (height * width) / (256 * 1600);
  const minAreas = scaled(TUNE_MIN_AREAS, factor);
  const margin = 1 / Math.max(1, tuner.images);
  const keep = options.keepCandidates === undefined ? {} : { keepCandidates: options.keepCandidates };
  const guard = (r: TuningResult) => neverWorseThanEmpty(r, emptyPerClass, { height, width }, margin);
  const plain = guard(tuner.search({ minAreas, gates: [0], ...keep }));
  const full = guard(
    tuner.search({
      minAreas,
      topThresholds: GATE_TOP_THRESHOLDS,
      minMaskAreas: scaled(GATE_MASK_AREAS, factor),
      gates: options.withClassProbs ? GATE_CLASS_PROBS : [0],
      ...keep,
    }),
  );
  const gated = full.classScores.map((d, k) => d > plain.classScores[k]! + margin);
  const classes = plain.classes.map((rule, k) => (gated[k] ? full.classes[k]! : rule));
  const classScores = plain.classScores.map((d, k) => (gated[k] ? full.classScores[k]! : d));
  const score = classScores.reduce((a, b) => a + b, 0) / classScores.length;
  return { chosen: { ...full, classes, classScores, score }, plain, gated };
}

/** The JSON written as tuned.json: the chosen rules (what `--postprocess` reads) plus the plain rules for the step table. */
export function tunedFile(tuning: GatedTuning): TuningResult & { gating: { used: boolean; perClass: boolean[]; plain: Pick<TuningResult, 'classes' | 'classScores' | 'score'> } } {
  const { plain } = tuning;
  return {
    ...tuning.chosen,
    gating: { used: tuning.gated.some(Boolean), perClass: tuning.gated, plain: { classes: plain.classes, classScores: plain.classScores, score: plain.score } },
  };
}

/** Describes a class's rule in words (`area`: pixels of an image; a mask-area gate that large switches the class off). */
export function describeRule(rule: ClassRule, area: number): string {
  const { minArea = 0, topThreshold = 0, minMaskArea = 0, gate = 0 } = rule;
  if (minMaskArea >= area) return 'off (no rule beats an empty mask)';
  const gates = [
    gate > 0 ? `head gate ${gate}` : '',
    topThreshold > 0 ? `top probability > ${topThreshold}` : '',
    minMaskArea > 0 ? `mask area > ${minMaskArea}` : '',
  ].filter(Boolean);
  return `threshold ${rule.threshold}, min area ${minArea}${gates.length ? `, gates: ${gates.join(', ')}` : ''}`;
}

/** Describes every class's rule in one line. */
export const describePost = (post: PostprocessConfig, area: number): string => post.classes.map((r, k) => `class ${k + 1} ${describeRule(r, area)}`).join('; ');

/**
 * The two configs of a tuned.json written with gates: the plain rules (for `+ post-processing`) and the chosen ones (for
 * `+ gating`); undefined for a file without them.
 */
export async function gatingFromFile(file: string | undefined, classes: number): Promise<{ plain: PostprocessConfig; gated: PostprocessConfig } | undefined> {
  if (file === undefined || !existsSync(file)) return undefined;
  const { parsePostprocessConfig } = await import('@steel/ensemble');
  const json = JSON.parse(readFileSync(file, 'utf8')) as { gating?: { plain?: unknown } };
  if (json.gating?.plain === undefined) return undefined;
  return { plain: parsePostprocessConfig(json.gating.plain, { classes }), gated: parsePostprocessConfig(json, { classes }) };
}
