import * as tf from '@tensorflow/tfjs-core';
import { decode, parseCsv, type RleRecord } from '@steel/rle';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isEnsembleError } from './errors.ts';
import { postprocess, REFERENCE_POSTPROCESS } from './postprocess.ts';
import { SHARED_DATA, sharedData } from '../../../tooling/vitest/shared-data.ts';
import { predictSubmission, toSubmissionLines, writeSubmission, type ImageBatch, type PredictionProgress } from './submission.ts';

const SAMPLE = resolve(SHARED_DATA, 'severstal-sample');
const hasSample = sharedData('severstal-sample/sample_submission.csv', 'The sample-submission tests of @steel/ensemble').present;
const LEGACY = 'predictions/unet-resnet34-test-predictions.csv';
const hasLegacy = hasSample && sharedData(`severstal-sample/${LEGACY}`, 'The legacy-format submission test of @steel/ensemble').present;

/** A cheap model: per-pixel sigmoid of four fixed affine maps of the grey channel. */
const model = (x: tf.Tensor4D): tf.Tensor4D => tf.tidy(() => tf.sigmoid(tf.mul(tf.sub(x, 0.5), tf.tensor1d([8, -8, 4, 12]))) as tf.Tensor4D);

/** Batches of seeded random grey images for a list of ids. */
function* batches(ids: readonly string[], size: number, height: number, width: number): Generator<ImageBatch> {
  for (let i = 0; i < ids.length; i += size) {
    const chunk = ids.slice(i, i + size);
    yield { imageIds: chunk, images: tf.randomUniform([chunk.length, height, width, 1], 0, 1, 'float32', i) as tf.Tensor4D };
  }
}

describe('predictSubmission', () => {
  it('yields exactly the post-processed, encoded masks of every image and class, reporting progress', async () => {
    const ids = ['a.jpg', 'b.jpg', 'c.jpg'];
    const config = { classes: [{ threshold: 0.5, minArea: 3 }, { threshold: 0.5 }, { threshold: 0.6, minArea: 10 }, { threshold: 0.9 }] };
    const progress: PredictionProgress[] = [];
    const records: RleRecord[] = [];
    for await (const r of predictSubmission(batches(ids, 2, 6, 9), model, { postprocess: config, onProgress: (p) => progress.push(p) })) records.push(r);
    expect(records.map((r) => `${r.imageId}_${r.classId}`)).toEqual(ids.flatMap((id) => [1, 2, 3, 4].map((c) => `${id}_${c}`)));
    // Independently: the same images, predicted and post-processed one by one.
    let n = 0;
    for (const { images } of batches(ids, 2, 6, 9)) {
      const probs = model(images);
      const data = await probs.data();
      for (let i = 0; i < images.shape[0]; i++) {
        const masks = postprocess(data.subarray(i * 6 * 9 * 4, (i + 1) * 6 * 9 * 4), { height: 6, width: 9, classes: 4 }, config);
        for (let k = 0; k < 4; k++) expect(decode(records[n * 4 + k]!.rle, { height: 6, width: 9 })).toEqual(masks[k]);
        n++;
      }
      tf.dispose([images, probs]);
    }
    expect(progress.map((p) => [p.images, p.batches])).toEqual([[2, 1], [3, 2]]);
    expect(progress[1]!.imagesPerSecond).toBeGreaterThan(0);
  });

  it('leaves out empty masks when asked, and rejects mismatched ids without leaking', async () => {
    const records: RleRecord[] = [];
    const blank = (x: tf.Tensor4D): tf.Tensor4D => tf.zeros([x.shape[0], x.shape[1], x.shape[2], 4]);
    for await (const r of predictSubmission(batches(['a.jpg'], 1, 4, 4), blank, { includeEmpty: false })) records.push(r);
    expect(records).toEqual([]);
    const images = tf.zeros([2, 4, 4, 1]) as tf.Tensor4D;
    const stream = predictSubmission([{ imageIds: ['only-one.jpg'], images }], model);
    await expect(stream.next()).rejects.toSatisfy((e) => isEnsembleError(e) && e.code === 'SHAPE_MISMATCH');
    expect(images.isDisposed).toBe(true);
  });

  it('writes the current and the first CSV formats line by line', async () => {
    const records: RleRecord[] = [{ imageId: 'a.jpg', classId: 1, rle: '1 3' }, { imageId: 'a.jpg', classId: 2, rle: '' }];
    const lines: string[] = [];
    expect(await writeSubmission(records, (line) => void lines.push(line))).toEqual({ rows: 2 });
    expect(lines).toEqual(['ImageId,EncodedPixels,ClassId', 'a.jpg,1 3,1', 'a.jpg,,2']);
    const legacy: string[] = [];
    for await (const line of toSubmissionLines(records, { format: 'legacy' })) legacy.push(line);
    expect(legacy).toEqual(['ImageId_ClassId,EncodedPixels', 'a.jpg_1,1 3', 'a.jpg_2,']);
  });
});

describe.skipIf(!hasSample)('a submission for the real test-image list', () => {
  const sampleText = hasSample ? readFileSync(resolve(SAMPLE, 'sample_submission.csv'), 'utf8') : '';

  it('has exactly the images of sample_submission.csv, each with classes 1-4 once, in its format', async () => {
    const sample = parseCsv(sampleText);
    expect(sample.format).toBe('submission');
    const ids = sample.records.map((r) => r.imageId);
    expect(ids).toHaveLength(5506);
    const lines: string[] = [];
    // Small stand-in images keep this fast; the image list and the file layout are what is checked.
    const { rows } = await writeSubmission(predictSubmission(batches(ids, 256, 4, 25), model, { postprocess: { classes: REFERENCE_POSTPROCESS.classes.map((r) => ({ ...r, minArea: 5 })) } }), (line) => void lines.push(line));
    expect(rows).toBe(4 * 5506);
    expect(lines[0]).toBe(sampleText.slice(0, sampleText.indexOf('\n')).trimEnd());
    const written = parseCsv(`${lines.join('\n')}\n`, { format: 'submission', validate: { height: 4, width: 25 } }).records;
    expect(new Set(written.map((r) => r.imageId))).toEqual(new Set(ids));
    const perImage = new Map<string, number[]>();
    for (const r of written) perImage.set(r.imageId, [...(perImage.get(r.imageId) ?? []), r.classId]);
    expect([...perImage.values()].every((c) => c.join() === '1,2,3,4')).toBe(true);
    expect(written.some((r) => r.rle !== '')).toBe(true);
  });

  it.skipIf(!hasLegacy)('in the first format, has the id column of the real legacy predictions file', async () => {
    const legacyFile = resolve(SAMPLE, LEGACY);
    const legacyText = readFileSync(legacyFile, 'utf8');
    const ids = parseCsv(sampleText).records.map((r) => r.imageId);
    const lines: string[] = [];
    for await (const line of toSubmissionLines(predictSubmission(batches(ids, 512, 2, 3), model), { format: 'legacy' })) lines.push(line.slice(0, line.indexOf(',')));
    const want = legacyText.trimEnd().split('\n').map((l) => l.slice(0, l.indexOf(',')));
    expect(lines).toEqual(want);
  });
});
