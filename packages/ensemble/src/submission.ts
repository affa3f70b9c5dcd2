import * as tf from '@tensorflow/tfjs-core';
import { csvHeader, encode, formatCsvRow, type CsvFormat, type RleRecord } from '@steel/rle';
import { EnsembleError, echo } from './errors.ts';
import { postprocess, REFERENCE_POSTPROCESS, type PostprocessConfig } from './postprocess.ts';
import type { PredictFn } from './tta.ts';

/** A batch of test images: `images` is NHWC, `imageIds[i]` names `images[i]`. */
export interface ImageBatch {
  readonly imageIds: readonly string[];
  readonly images: tf.Tensor4D;
}

/** Throughput so far, reported after every batch. */
export interface PredictionProgress {
  readonly images: number;
  readonly batches: number;
  readonly seconds: number;
  readonly imagesPerSecond: number;
}

/** Options of {@link predictSubmission}. */
export interface PredictSubmissionOptions {
  /** Default {@link REFERENCE_POSTPROCESS}; a tuning result or a parsed config file works as is. */
  readonly postprocess?: PostprocessConfig;
  /** Classification head: per-class probabilities `[batch, classes]` for the gates. Default none (gates off). */
  readonly classify?: (batch: tf.Tensor4D) => tf.Tensor2D | Promise<tf.Tensor2D>;
  /** Emit a record with an empty RLE for every class without a defect (every image gets one row per class). Default true. */
  readonly includeEmpty?: boolean;
  /** Dispose each batch's `images` once predicted (the stream owns them). Default true. */
  readonly disposeImages?: boolean;
  /** Called after every batch. */
  readonly onProgress?: (progress: PredictionProgress) => void;
}

async function toHostArray(t: tf.Tensor): Promise<Float32Array> {
  const data = await t.data();
  return data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
}

/**
 * Predicts, post-processes and run-length encodes a stream of image batches, yielding one record per image and class
 * (ClassId 1..C) as soon as its batch is done. Only one batch's probabilities are held at a time, so memory stays bounded
 * for any number of images. Pair with {@link toSubmissionLines} or {@link writeSubmission} for a CSV.
 * @throws {EnsembleError} `SHAPE_MISMATCH` when a batch's ids and images disagree, or a prediction has another batch size,
 * height or width than its images, or a channel count other than the post-processing config's; `INVALID_ARGUMENT` for bad options.
 * @example
 * for await (const record of predictSubmission(batches, withTta(predict), { postprocess: tuned })) console.log(record);
 */
export async function* predictSubmission(
  batches: AsyncIterable<ImageBatch> | Iterable<ImageBatch>,
  predict: PredictFn,
  { postprocess: config = REFERENCE_POSTPROCESS, classify, includeEmpty = true, disposeImages = true, onProgress }: PredictSubmissionOptions = {},
): AsyncGenerator<RleRecord, PredictionProgress, undefined> {
  if (typeof predict !== 'function') throw new EnsembleError('INVALID_ARGUMENT', `Expected predict to be a function, got ${echo(predict)}.`);
  const t0 = performance.now();
  let images = 0;
  let count = 0;
  const progress = (): PredictionProgress => {
    const seconds = (performance.now() - t0) / 1000;
    return { images, batches: count, seconds, imagesPerSecond: seconds > 0 ? images / seconds : 0 };
  };
  for await (const batch of batches) {
    const { imageIds, images: x } = batch;
    let probs: Float32Array;
    let classProbs: Float32Array | undefined;
    let shape: number[];
    try {
      if (!(x instanceof tf.Tensor) || x.rank !== 4 || !Array.isArray(imageIds) || imageIds.length !== x.shape[0]) {
        throw new EnsembleError(
          'SHAPE_MISMATCH',
          `Batch ${count}: expected imageIds for each of the NHWC images, got ${Array.isArray(imageIds) ? imageIds.length : echo(imageIds)} ids for ${x instanceof tf.Tensor ? `shape [${x.shape.join(', ')}]` : echo(x)}.`,
        );
      }
      const out = await predict(x);
      try {
        shape = out.shape;
        if (out.rank !== 4 || shape[0] !== x.shape[0] || shape[1] !== x.shape[1] || shape[2] !== x.shape[2]) {
          throw new EnsembleError('SHAPE_MISMATCH', `Batch ${count}: expected probabilities [${x.shape.slice(0, 3).join(', ')}, classes], got [${shape.join(', ')}].`);
        }
        probs = await toHostArray(out);
      } finally {
        if (out !== x) out.dispose();
      }
      if (classify) {
        const c = await classify(x);
        try {
          if (c.rank !== 2 || c.shape[0] !== x.shape[0] || c.shape[1] !== shape[3]) {
            throw new EnsembleError('SHAPE_MISMATCH', `Batch ${count}: expected class probabilities [${x.shape[0]}, ${shape[3]}], got [${c.shape.join(', ')}].`);
          }
          classProbs = await toHostArray(c);
        } finally {
          if ((c as tf.Tensor) !== x) c.dispose();
        }
      }
    } finally {
      if (disposeImages && x instanceof tf.Tensor) x.dispose();
    }
    const [n, height, width, channels] = shape as [number, number, number, number];
    const size = height * width * channels;
    for (let i = 0; i < n; i++) {
      const masks = postprocess(probs.subarray(i * size, (i + 1) * size), { height, width, classes: channels }, config, classProbs ? { classProbs: classProbs.subarray(i * channels, (i + 1) * channels) } : {});
      for (let k = 0; k < channels; k++) {
        const rle = encode(masks[k]!, { height, width });
        if (rle !== '' || includeEmpty) yield { imageId: imageIds[i]!, classId: k + 1, rle };
      }
    }
    images += n;
    count++;
    onProgress?.(progress());
  }
  return progress();
}

/**
 * Turns records into CSV lines (header first, no line breaks) in a format of @steel/rle: `'submission'` (the current
 * `ImageId,EncodedPixels,ClassId`, default) or `'legacy'` (the first `ImageId_ClassId,EncodedPixels`).
 */
export async function* toSubmissionLines(
  records: AsyncIterable<RleRecord> | Iterable<RleRecord>,
  { format = 'submission' }: { format?: CsvFormat } = {},
): AsyncGenerator<string, void, undefined> {
  yield csvHeader(format);
  for await (const record of records) yield formatCsvRow(record, format);
}

/**
 * Writes records as CSV lines through `write` (called once per line, without the line break; awaited, so a slow sink
 * applies back-pressure). Returns the number of rows written, header excluded.
 * @example await writeSubmission(predictSubmission(batches, predict), (line) => out.write(`${line}\n`));
 */
export async function writeSubmission(
  records: AsyncIterable<RleRecord> | Iterable<RleRecord>,
  write: (line: string) => void | Promise<void>,
  options: { format?: CsvFormat } = {},
): Promise<{ rows: number }> {
  if (typeof write !== 'function') throw new EnsembleError('INVALID_ARGUMENT', `Expected write to be a function, got ${echo(write)}.`);
  let rows = -1;
  for await (const line of toSubmissionLines(records, options)) {
    await write(line);
    rows++;
  }
  return { rows };
}
