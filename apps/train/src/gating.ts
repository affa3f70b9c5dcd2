// Empty-image gating: the classification head's per-class probabilities (when the models have one), and the search of
// per-class gates (head gate, top-probability rule, mask-area rule) jointly with threshold and minimum component area.
import { existsSync, readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import type { ClassRule, PostprocessConfig, Tuner, TuningResult } from '@steel/ensemble';
import { resizeBatch, toInputBatch, workSize, type InferenceImage } from '@steel/inference';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { padTo32 } from './config.ts';
import { AppError } from './errors.ts';
import { splitOutputs } from './head.ts';
import type { Member } from './inference.ts';

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

/** The tfjs models that have a classification head (an .onnx member carries only the segmentation output). */
export function headMembers(members: readonly Member[]): (Member & { model: LayersModel })[] {
  return members.filter((m): m is Member & { model: LayersModel } => m.model !== undefined && m.identity.classificationHead === true);
}

/** Per-image class probabilities `[classes]` of decoded images of one size. */
export type Classifier = (images: readonly InferenceImage[]) => Promise<Float32Array[]>;

/**
 * The classification heads' per-class probabilities (the mean over the members that have one), each model fed as the
 * predictor feeds it: its normalisation and input channels, area resize to its working size, zero padding to a multiple
 * of 32. Undefined when no member has a head (then only the top-probability and mask-area gates apply).
 */
export function createClassifier(members: readonly Member[]): Classifier | undefined {
  const heads = headMembers(members);
  if (heads.length === 0) return undefined;
  return async (images) => {
    const { height, width } = images[0]!;
    const sum = tf.tidy(() => {
      const probs = heads.map((m) => {
        const size = workSize(height, width, { scale: m.scale });
        const input = resizeBatch(toInputBatch(images, m.identity.inChannels, m.normalization), size.height, size.width, 'area');
        const x = tf.tensor4d(input.data, [...input.shape] as [number, number, number, number]);
        const padded = tf.pad(x, [[0, 0], [0, padTo32(size.height) - size.height], [0, padTo32(size.width) - size.width], [0, 0]]);
        return tf.sigmoid(splitOutputs(m.model.predict(padded) as tf.Tensor | tf.Tensor[]).classLogits!);
      });
      return tf.div(tf.addN(probs), probs.length) as tf.Tensor2D;
    });
    const [n, c] = sum.shape;
    const data = (await sum.data()) as Float32Array;
    sum.dispose();
    return Array.from({ length: n }, (_, i) => data.slice(i * c, (i + 1) * c));
  };
}

/** A classifier as the tensor function `predictSubmission` takes (NHWC byte batches, as `toBatch` makes them). */
export function tensorClassifier(classify: Classifier): (x: tf.Tensor4D) => Promise<tf.Tensor2D> {
  return async (x) => {
    const [n, h, w, c] = x.shape;
    const bytes = Uint8Array.from(await x.data());
    const per = h * w * c;
    const probs = await classify(Array.from({ length: n }, (_, i) => ({ data: bytes.subarray(i * per, (i + 1) * per), height: h, width: w, channels: c })));
    return tf.tensor2d(probs.flatMap((p) => [...p]), [n, probs[0]!.length]);
  };
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
  let json: { gating?: { plain?: unknown } } | null;
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as typeof json;
  } catch (error) {
    throw new AppError('CONFIG', `Post-processing file ${file} is not valid JSON (${(error as Error).message}).`, { cause: error });
  }
  if (json === null || typeof json !== 'object' || json.gating === null || typeof json.gating !== 'object' || json.gating.plain === undefined) return undefined;
  return { plain: parsePostprocessConfig(json.gating.plain, { classes }), gated: parsePostprocessConfig(json, { classes }) };
}
