// After training: score the best model (validation, and the test set when its truth is known), write the submission,
// metrics.json and report.html.
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { decodeMask, parseTrainCsv, readImage, type ImageEntry, type KaggleDataset } from '@steel/data';
import { createTuner, postprocess, predictSubmission, writeSubmission, type PostprocessConfig, type TuningResult } from '@steel/ensemble';

/** Pixel thresholds tried by the tuner (lower than the package default: short trainings give low probabilities). */
export const TUNE_THRESHOLDS = [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7];
/** Minimum component areas tried by the tuner, in pixels of a 256x1600 image (scaled to the data). */
export const TUNE_MIN_AREAS = [0, 100, 200, 300, 400, 600, 800, 900, 1000, 1200, 1500, 2000, 2500, 3000, 4000];
import type { TrainConfig } from './config.ts';
import type { InferenceEngine } from '@steel/inference';
import { chooseEngine } from './engines.ts';
import { createAppPredictor, createEngines, disposeMembers, imagePredictor, loadMember, tensorPredictor, toBatch, type ImagePredictor } from './inference.ts';
import type { Progress } from './progress.ts';
import { writeReport, type OverlaySample } from './report.ts';
import { writeJson, type RunPaths } from './run-dir.ts';
import { scoreMasks, type DiceScore } from './scoring.ts';
import type { TrainState } from './checkpoint.ts';

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
    keep?: number;
    /** Sees every image's probabilities and truth (e.g. a tuner), before they are dropped. */
    onProbs?: (probs: Float32Array, truth: Uint8Array) => void;
  },
): Promise<{ scores: SetScores; samples: OverlaySample[] }> {
  const { classes } = options;
  const raw: Uint8Array[] = [];
  const post: Uint8Array[] = [];
  const truths: Uint8Array[] = [];
  const sizes: { height: number; width: number }[] = [];
  const samples: OverlaySample[] = [];
  for (let i = 0; i < entries.length; i += options.batchSize) {
    const chunk = entries.slice(i, i + options.batchSize);
    const images = await Promise.all(chunk.map((e) => readImage(e.file, { channels: options.channels })));
    const probs = await predict(images);
    chunk.forEach((e, b) => {
      const im = images[b]!;
      const truth = truthOf(e.id);
      const p = probs[b]!;
      options.onProbs?.(p, truth);
      const masks = interleave(postprocess(p, { height: im.height, width: im.width, classes }, options.post));
      raw.push(thresholdMask(p, options.threshold));
      post.push(masks);
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

/**
 * Ground truth of the test images when the dataset keeps it (the synthetic generator does), else undefined. Images missing
 * from the file have no defect.
 */
export function readTestTruth(dataset: KaggleDataset): Map<string, Record<number, string>> | undefined {
  const names = [typeof dataset.manifest?.['testTruth'] === 'string' ? (dataset.manifest['testTruth'] as string) : undefined, 'test_ground_truth.csv'];
  for (const name of names) {
    if (name === undefined) continue;
    const file = join(dataset.dir, name);
    if (!existsSync(file)) continue;
    const csv = parseTrainCsv(readFileSync(file, 'utf8'), { file, classes: dataset.classes, height: dataset.height, width: dataset.width });
    const truth = new Map<string, Record<number, string>>();
    for (const id of csv.imageIds) truth.set(id, {});
    for (const row of csv.rows) {
      const rles = truth.get(row.imageId) ?? {};
      rles[row.classId] = row.encodedPixels;
      truth.set(row.imageId, rles);
    }
    return truth;
  }
  return undefined;
}

/** Writes a submission for image files, streaming (one batch of probabilities in memory). Returns rows and images/s. */
export async function writeSubmissionFile(
  file: string,
  imageFiles: readonly { id: string; file: string }[],
  predictTensor: (x: tf.Tensor4D) => Promise<tf.Tensor4D>,
  options: { channels: 1 | 3; batchSize: number; post: PostprocessConfig; format?: 'submission' | 'legacy'; progress?: Progress },
): Promise<{ rows: number; imagesPerSecond: number }> {
  async function* batches() {
    for (let i = 0; i < imageFiles.length; i += options.batchSize) {
      const chunk = imageFiles.slice(i, i + options.batchSize);
      const images = await Promise.all(chunk.map((e) => readImage(e.file, { channels: options.channels })));
      yield { imageIds: chunk.map((e) => e.id), images: toBatch(images) };
    }
  }
  const out = createWriteStream(`${file}.tmp-${process.pid}`);
  let imagesPerSecond = 0;
  const records = predictSubmission(batches(), predictTensor, {
    postprocess: options.post,
    onProgress: (p) => {
      imagesPerSecond = p.imagesPerSecond;
    },
  });
  const { rows } = await writeSubmission(records, (line) => new Promise<void>((res, rej) => out.write(`${line}\n`, (e) => (e ? rej(e) : res()))), {
    format: options.format ?? 'submission',
  });
  await new Promise<void>((res, rej) => out.end((e?: Error | null) => (e ? rej(e) : res())));
  const { renameSync } = await import('node:fs');
  renameSync(`${file}.tmp-${process.pid}`, file);
  return { rows, imagesPerSecond };
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

/** Everything finishRun computed (also metrics.json). */
export interface RunMetrics {
  backend: string;
  /** What ran inference on the validation and test images, e.g. `onnxruntime 1.31.1 (cpu)` or `tfjs (wasm)`. */
  engine?: string;
  bestEpoch: number | null;
  validation: SetScores;
  /** The tuned post-processing (tuned.json) when the run tunes it on the validation images. */
  tuned?: { score: number; classScores: readonly number[] };
  test?: SetScores & { submissionRows: number };
  /** Wall-clock figures (they differ between runs; everything else is reproducible). */
  timing: { trainSeconds: number; predictImagesPerSecond?: number; totalSeconds?: number };
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
    let post: PostprocessConfig = postprocessFromConfig(config, classes);
    const shape = { height: dataset.height, width: dataset.width, classes };
    const byId = new Map(val.map((e) => [e.id, e]));
    progress.log(`Scoring the best model on ${val.length} validation images...`);
    const common = { channels, classes, batchSize: config.batchSize, threshold: config.threshold, post };
    const tuner = config.tune
      ? createTuner({ height: dataset.height, width: dataset.width, classes, thresholds: TUNE_THRESHOLDS })
      : undefined;
    const validation = await scoreImages(val, (id) => decodeMask(byId.get(id)!, shape), predict, {
      ...common,
      keep: config.samples,
      ...(tuner ? { onProbs: (p: Float32Array, t: Uint8Array) => tuner.add(p, t) } : {}),
    });
    let tuned: TuningResult | undefined;
    if (tuner) {
      // Minimum areas of the reference grid, scaled from 256x1600 to this image size.
      const factor = (dataset.height * dataset.width) / (256 * 1600);
      const minAreas = [...new Set(TUNE_MIN_AREAS.map((a) => Math.round(a * factor)))];
      const baseline = validation.scores.baseline;
      tuned = neverWorseThanEmpty(tuner.search({ minAreas, keepCandidates: 20 }), baseline.perClass, dataset, 1 / Math.max(1, baseline.images));
      writeJson(join(paths.root, 'tuned.json'), tuned);
      post = tuned;
      progress.log(
        `Tuned post-processing on the validation images (Dice ${tuned.score.toFixed(4)}): ` +
          tuned.classes.map((r, k) => (r.minMaskArea >= dataset.height * dataset.width ? `class ${k + 1} off` : `class ${k + 1} threshold ${r.threshold} min area ${r.minArea}`)).join('; '),
      );
    }
    common.post = post;
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
      metrics.tuned = { score: tuned.score, classScores: tuned.classScores };
      tableRows.push({ name: 'validation: model + tuned post-processing (tuned on these images)', perClass: [...tuned.classScores], mean: tuned.score });
    }
    if (dataset.testImages.length > 0) {
      const files = dataset.testImages.map((id) => ({ id, file: join(dataset.dir, 'test_images', id) }));
      progress.log(`Predicting ${files.length} test images into ${paths.submission}...`);
      const sub = await writeSubmissionFile(paths.submission, files, predictTensor, { channels, batchSize: config.batchSize, post });
      const truth = readTestTruth(dataset);
      if (truth !== undefined) {
        // The truth file lists only test images with a defect; the others are defect-free.
        const test = await scoreImages(files, (id) => decodeMask({ rles: truth.get(id) ?? {} }, shape), predict, common);
        metrics.test = { ...test.scores, submissionRows: sub.rows };
        metrics.timing.predictImagesPerSecond = sub.imagesPerSecond;
        tableRows.push(
          { name: 'test: all-empty baseline', ...flat(test.scores.baseline) },
          { name: 'test: model (threshold only)', ...flat(test.scores.raw) },
          { name: `test: model + ${tuned ? 'tuned ' : ''}post-processing`, ...flat(test.scores.postprocessed) },
        );
      }
    }
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
      notes: [
        `Data: ${dataset.dir} (${dataset.height}x${dataset.width}, ${classes} classes). Backend: ${options.backend}; inference engine: ${engine}. Best epoch: ${metrics.bestEpoch ?? '-'}.`,
        `Post-processing${tuned ? ' (tuned on the validation images, tuned.json)' : ''}: thresholds [${post.classes.map((c) => c.threshold).join(', ')}], ` +
          `minimum component areas [${post.classes.map((c) => c.minArea ?? 0).join(', ')}] pixels.`,
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

