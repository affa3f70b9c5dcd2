// After training: score the best model (validation, and the test set when its truth is known), write the submission,
// metrics.json and report.html.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { decodeMask, readImage, type ImageEntry, type KaggleDataset } from '@steel/data';
import { createTuner, postprocess, type PostprocessConfig } from '@steel/ensemble';
import type { TrainConfig } from './config.ts';
import type { InferenceEngine } from '@steel/inference';
import { chooseEngine } from './engines.ts';
import { createClassifier, describePost, searchWithGating, TUNE_THRESHOLDS, tunedFile, type Classifier, type GatedTuning } from './gating.ts';
import { createAppPredictor, createEngines, disposeMembers, imagePredictor, loadMember, tensorPredictor, type ImagePredictor } from './inference.ts';
import type { Progress } from './progress.ts';
import { writeReport, type OverlaySample } from './report.ts';
import { writeJson, type RunPaths } from './run-dir.ts';
import { scoreMasks, type DiceScore } from './scoring.ts';
import { readTestTruth, writeSubmissionFile } from './submission-file.ts';
import type { TrainState } from './checkpoint.ts';
import type { TrainingPlan } from './budget.ts';
import { createEvaluation, type Evaluation, type EvaluationSample } from './reports/evaluation.ts';

/** Post-processing from a run's config: threshold and per-class minimum areas (pixels at the stored size). */
export function postprocessFromConfig(config: Pick<TrainConfig, 'threshold' | 'minArea'>, classes: number): PostprocessConfig {
  return {
    classes: Array.from({ length: classes }, (_, k) => ({ threshold: config.threshold, minArea: config.minArea[k] ?? 0 })),
    connectivity: 8,
  };
}

/** Interleaves per-class masks `[H*W]` into one `[H, W, C]` mask. */
export function interleave(masks: readonly Uint8Array[]): Uint8Array {
  const classes = masks.length;
  const pixels = masks[0]?.length ?? 0;
  const out = new Uint8Array(pixels * classes);
  masks.forEach((m, k) => {
    for (let p = 0; p < pixels; p++) out[p * classes + k] = m[p]!;
  });
  return out;
}

/** Thresholds `[H, W, C]` probabilities into a mask. */
export function thresholdMask(probs: Float32Array, threshold: number): Uint8Array {
  const out = new Uint8Array(probs.length);
  for (let i = 0; i < probs.length; i++) out[i] = probs[i]! > threshold ? 1 : 0;
  return out;
}

/** Scores of a labelled set: raw (threshold only), post-processed, and the all-empty baseline. */
export interface SetScores {
  images: number;
  raw: DiceScore;
  postprocessed: DiceScore;
  /** With the gated post-processing, when the run uses gates. */
  gated?: DiceScore;
  baseline: DiceScore;
}

/**
 * Predicts labelled images and scores them. `truthOf` gives an image's `[H, W, C]` mask. Keeps up to `keep` overlay samples
 * (defective images first).
 */
export async function scoreImages(
  entries: readonly { id: string; file: string }[],
  truthOf: (id: string) => Uint8Array,
  predict: ImagePredictor,
  options: {
    channels: 1 | 3;
    classes: number;
    batchSize: number;
    threshold: number;
    post: PostprocessConfig;
    /** Gated post-processing scored as `gated` (and drawn in the overlays) when given. */
    gatedPost?: PostprocessConfig | undefined;
    /** The classification head, for the gates. */
    classify?: Classifier | undefined;
    keep?: number;
    /** Sees every image's probabilities, truth and class probabilities (e.g. a tuner), before they are dropped. */
    onProbs?: (probs: Float32Array, truth: Uint8Array, classProbs: Float32Array | undefined) => void;
    /** Sees every image with its final masks (the gated ones when given), e.g. an error analysis. */
    onImage?: ((sample: EvaluationSample) => void) | undefined;
  },
): Promise<{ scores: SetScores; samples: OverlaySample[] }> {
  const { classes } = options;
  const raw: Uint8Array[] = [];
  const post: Uint8Array[] = [];
  const gated: Uint8Array[] = [];
  const truths: Uint8Array[] = [];
  const sizes: { height: number; width: number }[] = [];
  const samples: OverlaySample[] = [];
  for (let i = 0; i < entries.length; i += options.batchSize) {
    const chunk = entries.slice(i, i + options.batchSize);
    const images = await Promise.all(chunk.map((e) => readImage(e.file, { channels: options.channels })));
    const probs = await predict(images);
    const classProbs = options.classify ? await options.classify(images) : undefined;
    chunk.forEach((e, b) => {
      const im = images[b]!;
      const truth = truthOf(e.id);
      const p = probs[b]!;
      const cls = classProbs?.[b];
      options.onProbs?.(p, truth, cls);
      const shape = { height: im.height, width: im.width, classes };
      let masks = interleave(postprocess(p, shape, options.post, cls ? { classProbs: cls } : {}));
      raw.push(thresholdMask(p, options.threshold));
      post.push(masks);
      if (options.gatedPost) gated.push((masks = interleave(postprocess(p, shape, options.gatedPost, cls ? { classProbs: cls } : {}))));
      options.onImage?.({ id: e.id, image: im, probs: p, truth, masks });
      truths.push(truth);
      sizes.push({ height: im.height, width: im.width });
      samples.push({ id: e.id, image: im.data, channels: im.channels, height: im.height, width: im.width, truth, pred: masks, dice: 0 });
    });
    // Keep only what the report needs: defective images first, in order.
    samples.sort((a, b) => Number(b.truth.includes(1)) - Number(a.truth.includes(1)));
    samples.splice(options.keep ?? 0);
  }
  const shape = { height: sizes[0]?.height ?? 0, width: sizes[0]?.width ?? 0, classes };
  for (const s of samples) s.dice = scoreMasks([s.pred], [s.truth], { height: s.height, width: s.width, classes }).mean;
  return {
    scores: {
      images: entries.length,
      raw: scoreMasks(raw, truths, shape, sizes),
      postprocessed: scoreMasks(post, truths, shape, sizes),
      ...(options.gatedPost ? { gated: scoreMasks(gated, truths, shape, sizes) } : {}),
      baseline: scoreMasks(
        truths.map((t) => new Uint8Array(t.length)),
        truths,
        shape,
        sizes,
      ),
    },
    samples,
  };
}

/** Everything finishRun computed (also metrics.json). */
export interface RunMetrics {
  backend: string;
  /** What ran inference on the validation and test images, e.g. `onnxruntime 1.31.1 (cpu)` or `tfjs (wasm)`. */
  engine?: string;
  bestEpoch: number | null;
  validation: SetScores;
  /** The tuned post-processing (tuned.json) when the run tunes it on the validation images: chosen rules, and without gates. */
  tuned?: { score: number; classScores: readonly number[]; plain: { score: number; classScores: readonly number[] }; gated: boolean[] };
  test?: SetScores & { submissionRows: number };
  /** Wall-clock figures (they differ between runs; everything else is reproducible). */
  timing: {
    trainSeconds: number;
    predictImagesPerSecond?: number;
    totalSeconds?: number;
    /** `start`: the budget's measured step, plan and re-plans, and the machine's 1-minute load average at the start and the end. */
    budget?: TrainingPlan;
    loadAverage?: { start: number; end: number };
    cpu?: string;
  };
}

/** Scores the best model, writes submission.csv, metrics.json and report.html. */
export async function finishRun(options: {
  config: TrainConfig;
  paths: RunPaths;
  dataset: KaggleDataset;
  val: readonly ImageEntry[];
  backend: string;
  progress: Progress;
}): Promise<RunMetrics> {
  const { config, paths, dataset, val, progress } = options;
  const classes = dataset.classes;
  const member = await loadMember(paths.root);
  const engines: InferenceEngine[] = [];
  try {
    const choice = await chooseEngine(config.engine, config.device, config.threads);
    if (choice.hint) progress.log(choice.hint);
    engines.push(...(await createEngines([member], choice, { device: config.device, threads: config.threads })));
    const engine = choice.kind === 'tfjs' ? `tfjs (${options.backend})` : choice.description;
    progress.log(`Engine: ${engine}`);
    const predictor = createAppPredictor([member], engines, { classes });
    const predict = imagePredictor(predictor);
    const predictTensor = tensorPredictor(predictor);
    const channels = predictor.channels;
    const classify = createClassifier([member]);
    let post: PostprocessConfig = postprocessFromConfig(config, classes);
    const shape = { height: dataset.height, width: dataset.width, classes };
    const byId = new Map(val.map((e) => [e.id, e]));
    progress.log(`Scoring the best model on ${val.length} validation images...`);
    const first = { channels, classes, batchSize: config.batchSize, threshold: config.threshold, post };
    const tuner = config.tune
      ? createTuner({ height: dataset.height, width: dataset.width, classes, thresholds: TUNE_THRESHOLDS })
      : undefined;
    const validation = await scoreImages(val, (id) => decodeMask(byId.get(id)!, shape), predict, {
      ...first,
      keep: config.samples,
      classify,
      ...(tuner ? { onProbs: (p: Float32Array, t: Uint8Array, c: Float32Array | undefined) => tuner.add(p, t, c ? { classProbs: c } : {}) } : {}),
    });
    let tuned: GatedTuning | undefined;
    let gatedPost: PostprocessConfig | undefined;
    if (tuner) {
      tuned = searchWithGating(tuner, {
        height: dataset.height,
        width: dataset.width,
        emptyPerClass: validation.scores.baseline.perClass,
        withClassProbs: classify !== undefined,
        keepCandidates: 20,
      });
      writeJson(join(paths.root, 'tuned.json'), tunedFile(tuned));
      post = tuned.plain;
      if (tuned.gated.some(Boolean)) gatedPost = tuned.chosen;
      progress.log(
        `Tuned post-processing on the validation images (Dice ${tuned.plain.score.toFixed(4)}; with gates ${tuned.chosen.score.toFixed(4)}): ` +
          describePost(tuned.chosen, dataset.height * dataset.width),
      );
    }
    const common = { channels, classes, batchSize: config.batchSize, threshold: config.threshold, post, gatedPost, classify };
    const state = JSON.parse(readFileSync(join(paths.checkpoint, 'state.json'), 'utf8')) as TrainState;
    const metrics: RunMetrics = {
      backend: options.backend,
      engine,
      bestEpoch: state.best?.epoch ?? null,
      validation: validation.scores,
      timing: { trainSeconds: state.history.reduce((a, e) => a + e.seconds, 0) },
    };
    const tableRows = [
      { name: 'validation: all-empty baseline', ...flat(validation.scores.baseline) },
      { name: 'validation: model (threshold only)', ...flat(validation.scores.raw) },
      { name: 'validation: model + post-processing (run config)', ...flat(validation.scores.postprocessed) },
    ];
    if (tuned) {
      const { chosen, plain } = tuned;
      metrics.tuned = { score: chosen.score, classScores: chosen.classScores, plain: { score: plain.score, classScores: plain.classScores }, gated: tuned.gated };
      tableRows.push({ name: 'validation: model + tuned post-processing (tuned on these images)', perClass: [...plain.classScores], mean: plain.score });
      if (gatedPost) tableRows.push({ name: 'validation: + gating (tuned on these images)', perClass: [...chosen.classScores], mean: chosen.score });
    }
    const area = dataset.height * dataset.width;
    const analyse = (what: string) => createEvaluation({ classes, title: `Run ${config.name ?? ''}: ${what}`, postprocessing: describePost(gatedPost ?? post, area) });
    let evaluation: Evaluation | undefined;
    if (dataset.testImages.length > 0) {
      const files = dataset.testImages.map((id) => ({ id, file: join(dataset.dir, 'test_images', id) }));
      progress.log(`Predicting ${files.length} test images into ${paths.submission}...`);
      const sub = await writeSubmissionFile(paths.submission, files, predictTensor, {
        channels,
        batchSize: config.batchSize,
        post: gatedPost ?? post,
        classify,
      });
      const truth = readTestTruth(dataset);
      if (truth !== undefined) {
        // The truth file lists only test images with a defect; the others are defect-free.
        evaluation = analyse(`the ${files.length} test images`);
        const test = await scoreImages(files, (id) => decodeMask({ rles: truth.get(id) ?? {} }, shape), predict, { ...common, onImage: evaluation.add });
        metrics.test = { ...test.scores, submissionRows: sub.rows };
        metrics.timing.predictImagesPerSecond = sub.imagesPerSecond;
        tableRows.push(
          { name: 'test: all-empty baseline', ...flat(test.scores.baseline) },
          { name: 'test: model (threshold only)', ...flat(test.scores.raw) },
          { name: `test: model + ${tuned ? 'tuned ' : ''}post-processing`, ...flat(test.scores.postprocessed) },
        );
        if (test.scores.gated) tableRows.push({ name: 'test: + gating', ...flat(test.scores.gated) });
      }
    }
    if (evaluation === undefined) {
      // No test truth: the error analysis runs on the validation images, with the post-processing tuned on them.
      evaluation = analyse(`the ${val.length} validation images`);
      await scoreImages(val, (id) => decodeMask(byId.get(id)!, shape), predict, { ...common, onImage: evaluation.add });
    }
    await evaluation.write(join(paths.root, 'evaluation.html'));
    writeJson(paths.metrics, metrics);
    const steps = readFileSync(paths.log, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{"type":"step"'))
      .map((l) => JSON.parse(l) as { step: number; loss: number });
    await writeReport(paths.root, {
      title: `Run ${config.name ?? ''}: ${config.architecture}-${config.encoder}`,
      config: config as unknown as Record<string, unknown>,
      steps,
      epochs: state.history,
      classes,
      table: tableRows,
      samples: validation.samples,
      links: [{ href: 'evaluation.html', text: `Error analysis (${evaluation.report().title}): per-image Dice, the worst images, precision / recall / F1, class confusion, Dice against threshold` }],
      notes: [
        `Data: ${dataset.dir} (${dataset.height}x${dataset.width}, ${classes} classes). Backend: ${options.backend}; inference engine: ${engine}. Best epoch: ${metrics.bestEpoch ?? '-'}.`,
        `Post-processing${tuned ? ' (tuned on the validation images, tuned.json)' : ''}: ` +
          describePost(gatedPost ?? post, dataset.height * dataset.width) +
          '.',
      ],
    });
    return metrics;
  } finally {
    await disposeMembers([member], engines);
  }
}

function flat(score: DiceScore): { perClass: number[]; mean: number } {
  return { perClass: score.perClass, mean: score.mean };
}

/** Prints the summary table: Dice per class and overall, next to the all-empty baseline. */
export function summaryTable(rows: readonly { name: string; score: DiceScore }[], classes: number): string {
  const nameWidth = Math.max(...rows.map((r) => r.name.length), 4);
  const head = ['', ...Array.from({ length: classes }, (_, k) => `class ${k + 1}`), 'overall'];
  const lines = [
    `${head[0]!.padEnd(nameWidth)}  ${head.slice(1).map((h) => h.padStart(8)).join('  ')}`,
    ...rows.map((r) => `${r.name.padEnd(nameWidth)}  ${[...r.score.perClass, r.score.mean].map((d) => d.toFixed(4).padStart(8)).join('  ')}`),
  ];
  return lines.join('\n');
}

