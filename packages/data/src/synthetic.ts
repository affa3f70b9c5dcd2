import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { encode } from '@steel/rle';
import sharp from 'sharp';
import { formatTrainCsv, type TrainRow } from './csv.ts';
import { MANIFEST_FILE, withLegacyClasses } from './dataset.ts';
import { DataError } from './errors.ts';
import { exists, writeFileAtomic } from './fs-util.ts';
import { renderSyntheticImage } from './synthetic-render.ts';

/** Version of the synthetic renderer; a dataset folder made by another version is not resumed. */
export const SYNTHETIC_VERSION = 1;

/** Progress of {@link generateSyntheticDataset}: images done (written or found) out of all train and test images. */
export interface SyntheticProgress {
  readonly done: number;
  readonly total: number;
}

/** Options of {@link generateSyntheticDataset}. */
export interface SyntheticDatasetOptions {
  /** Folder to write (created if needed). */
  readonly dir: string;
  /** Training images. */
  readonly count: number;
  /** Test images, whose masks go to `test_ground_truth.csv`. Default 0. */
  readonly testCount?: number;
  /** Default 256 x 1600, the competition's size; defects scale with the size. */
  readonly height?: number;
  readonly width?: number;
  /** Default 0. */
  readonly seed?: number;
  /** JPEG quality 1..100. Default 90. */
  readonly quality?: number;
  readonly onProgress?: (progress: SyntheticProgress) => void;
}

/** What {@link generateSyntheticDataset} did. */
export interface SyntheticDatasetResult {
  readonly dir: string;
  readonly trainImages: number;
  readonly testImages: number;
  /** Images rendered in this call; the others were already there (resumed) . */
  readonly rendered: number;
}

/** File name of synthetic image `index`: `s` (train) or `t` (test) and six digits, e.g. `s000042.jpg`. */
export function syntheticImageId(index: number, split: 'train' | 'test' = 'train'): string {
  return `${split === 'train' ? 's' : 't'}${String(index).padStart(6, '0')}.jpg`;
}

function checkInt(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new DataError('INVALID_ARGUMENT', `generateSyntheticDataset: expected ${name} to be an integer in ${min}..${max}, got ${value}.`, { column: name, expected: `integer ${min}..${max}`, found: String(value) });
  }
}

/**
 * Writes a synthetic steel-strip dataset in the Kaggle layout: `train.csv`, `train_images/`, `test_images/`,
 * `test_ground_truth.csv` (the test masks, kept out of the test folder), `sample_submission.csv` and `dataset.json`.
 * Images are grey strips with rolling streaks, grain and uneven light; defects of four classes (1 pit clusters, 2 short
 * thin vertical marks, 3 scratches and elongated patches, 4 large blotches) follow the competition's class mix, about 47%
 * of images are defect-free, and masks are polygons. The same options give byte-identical files. Every file is written
 * atomically; a call on a partly written folder with the same options resumes, and on a complete one returns at once.
 * @throws {DataError} `INVALID_ARGUMENT` for bad options; `INVALID_DATASET` if `dir` holds a dataset made with other options.
 * @example await generateSyntheticDataset({ dir: 'data/synthetic', count: 1000, testCount: 100, seed: 1 });
 */
export async function generateSyntheticDataset(options: SyntheticDatasetOptions): Promise<SyntheticDatasetResult> {
  const { count, testCount = 0, height = 256, width = 1600, seed = 0, quality = 90, onProgress } = options;
  checkInt('count', count, 0);
  checkInt('testCount', testCount, 0);
  checkInt('height', height, 8, 4096);
  checkInt('width', width, 8, 16384);
  checkInt('seed', seed, 0, 2 ** 32 - 1);
  checkInt('quality', quality, 1, 100);
  const dir = resolve(options.dir);
  const manifest = { kind: 'synthetic', version: SYNTHETIC_VERSION, classes: 4, height, width, seed, count, testCount, quality };
  const manifestFile = join(dir, MANIFEST_FILE);
  if (await exists(manifestFile)) {
    const old = withLegacyClasses(JSON.parse(await readFile(manifestFile, 'utf8'))) as Record<string, unknown>;
    const differs = Object.entries(manifest).filter(([k, v]) => old[k] !== v);
    if (differs.length > 0) {
      const [key, value] = differs[0]!;
      throw new DataError('INVALID_DATASET', `${manifestFile}: the folder holds a dataset with ${key} ${String(old[key])}, expected ${String(value)}; use another folder or delete it.`, { file: manifestFile, column: key, expected: String(value), found: String(old[key]) });
    }
    if (old.complete === true) return { dir, trainImages: count, testImages: testCount, rendered: 0 };
  }
  await mkdir(join(dir, 'train_images'), { recursive: true });
  if (testCount > 0) await mkdir(join(dir, 'test_images'), { recursive: true });
  await writeFileAtomic(manifestFile, `${JSON.stringify({ ...manifest, complete: false }, null, 2)}\n`);
  const total = count + testCount;
  let done = 0;
  let rendered = 0;
  const jobs = [
    ...Array.from({ length: count }, (_, index) => ({ index, split: 'train' as const, stream: 0 })),
    ...Array.from({ length: testCount }, (_, index) => ({ index, split: 'test' as const, stream: 1 })),
  ];
  const rows: { train: TrainRow[]; test: TrainRow[] } = { train: [], test: [] };
  // Encode with sharp (off-thread) while the next image renders; at most two encodes in flight.
  const writing = new Set<Promise<void>>();
  for (const job of jobs) {
    const id = syntheticImageId(job.index, job.split);
    const file = join(dir, job.split === 'train' ? 'train_images' : 'test_images', id);
    const present = await exists(file);
    const image = renderSyntheticImage({ seed, index: job.index, stream: job.stream, height, width, pixels: !present });
    for (const [classId, mask] of [...image.masks].sort((a, b) => a[0] - b[0])) rows[job.split].push({ imageId: id, classId, encodedPixels: encode(mask, { height, width }), line: 0 });
    if (present) {
      onProgress?.({ done: ++done, total });
      continue;
    }
    rendered++;
    const write = sharp(image.pixels, { raw: { width, height, channels: 1 } })
      .jpeg({ quality, chromaSubsampling: '4:4:4', optimiseCoding: true })
      .toBuffer()
      .then((jpeg) => writeFileAtomic(file, jpeg))
      .then(() => {
        writing.delete(write);
        onProgress?.({ done: ++done, total });
      });
    writing.add(write);
    if (writing.size >= 2) await Promise.race(writing);
  }
  await Promise.all(writing);
  await writeFileAtomic(join(dir, 'train.csv'), formatTrainCsv(rows.train));
  if (testCount > 0) {
    await writeFileAtomic(join(dir, 'test_ground_truth.csv'), formatTrainCsv(rows.test));
    const ids = jobs.filter((j) => j.split === 'test').map((j) => syntheticImageId(j.index, 'test'));
    await writeFileAtomic(join(dir, 'sample_submission.csv'), `ImageId,EncodedPixels,ClassId\n${ids.map((id) => `${id},1 ${height * width},0\n`).join('')}`);
  }
  await writeFileAtomic(manifestFile, `${JSON.stringify({ ...manifest, complete: true }, null, 2)}\n`);
  return { dir, trainImages: count, testImages: testCount, rendered };
}
