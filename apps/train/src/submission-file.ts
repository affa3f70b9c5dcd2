// The test set of a run: its held-back truth (when the dataset keeps it) and a streamed submission file.
import { createWriteStream, existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { parseTrainCsv, readImage, type KaggleDataset } from '@steel/data';
import { predictSubmission, writeSubmission, type PostprocessConfig } from '@steel/ensemble';
import { toBatch } from './inference.ts';
import { tensorClassifier, type Classifier } from './gating.ts';
import type { Progress } from './progress.ts';

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
  options: {
    channels: 1 | 3;
    batchSize: number;
    post: PostprocessConfig;
    classify?: Classifier | undefined;
    format?: 'submission' | 'legacy';
    progress?: Progress;
  },
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
    ...(options.classify ? { classify: tensorClassifier(options.classify) } : {}),
    onProgress: (p) => {
      imagesPerSecond = p.imagesPerSecond;
    },
  });
  const { rows } = await writeSubmission(records, (line) => new Promise<void>((res, rej) => out.write(`${line}\n`, (e) => (e ? rej(e) : res()))), {
    format: options.format ?? 'submission',
  });
  await new Promise<void>((res, rej) => out.end((e?: Error | null) => (e ? rej(e) : res())));
  renameSync(`${file}.tmp-${process.pid}`, file);
  return { rows, imagesPerSecond };
}
