import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { decode } from '@steel/rle';
import { z } from 'zod';
import { parseTrainCsv, type TrainCsvFormat } from './csv.ts';
import { DataError, isDataError } from './errors.ts';
import { readImage, readImageSize } from './image.ts';

/** Number of defect classes of the Severstal competition. */
export const SEVERSTAL_CLASSES = 4;
/** Stored image size of the Severstal competition: height 256, width 1600. */
export const SEVERSTAL_IMAGE_SHAPE = { height: 256, width: 1600 } as const;
/** Name of the optional manifest file in a dataset folder. */
export const MANIFEST_FILE = 'dataset.json';

/** Contents of `dataset.json`, written by the importer and the synthetic generator. */
export interface DatasetManifest {
  readonly kind: string;
  readonly classes: number;
  readonly height: number;
  readonly width: number;
  readonly [key: string]: unknown;
}

/** One training image of the index: its file, the classes present and their RLE masks (decoded on demand). */
export interface ImageEntry {
  /** File name, also the competition's ImageId, e.g. `0002cc93b.jpg`. */
  readonly id: string;
  /** Absolute path of the image. */
  readonly file: string;
  /** Class ids present, ascending; empty for a defect-free image. */
  readonly classes: readonly number[];
  /** RLE mask per present class id. */
  readonly rles: Readonly<Record<number, string>>;
}

/** An image left out of the index, and why. */
export interface SkippedImage {
  readonly id: string;
  readonly file: string;
  readonly reason: string;
}

/** A dataset in the Kaggle layout, indexed. */
export interface KaggleDataset {
  readonly dir: string;
  readonly classes: number;
  readonly height: number;
  readonly width: number;
  readonly csvFormat: TrainCsvFormat;
  /** Every image in train_images/ (defect-free ones too), sorted by id. */
  readonly images: readonly ImageEntry[];
  /** File names in test_images/, sorted; empty if there is no such folder. */
  readonly testImages: readonly string[];
  /** Images left out because `skipInvalid` was set; empty otherwise. */
  readonly skipped: readonly SkippedImage[];
  readonly manifest: DatasetManifest | undefined;
}

/** Options of {@link openKaggleDataset}. */
export interface OpenKaggleDatasetOptions {
  /** Default: the manifest's, else 4. */
  readonly classes?: number;
  /** Default: the manifest's, else the first image's stored size. */
  readonly height?: number;
  readonly width?: number;
  /** `'none'` (default) trusts the files; `'header'` checks every size; `'full'` decodes every image. */
  readonly verifyImages?: 'none' | 'header' | 'full';
  /** Leave out missing, truncated or wrongly sized images (listed in `skipped`) instead of throwing. Default false. */
  readonly skipInvalid?: boolean;
}

const IMAGE_FILE = /\.(jpg|jpeg|png)$/i;

const manifestSchema = z.looseObject({
  kind: z.string(),
  classes: z.int().min(1).max(255),
  height: z.int().min(1),
  width: z.int().min(1),
});

/** Manifests written by @steel/data 0.1 name the class count `numClasses`; read it as `classes`. */
export function withLegacyClasses(json: unknown): unknown {
  if (json === null || typeof json !== 'object' || Array.isArray(json) || 'classes' in json || !('numClasses' in json)) return json;
  const { numClasses, ...rest } = json as Record<string, unknown>;
  return { ...rest, classes: numClasses };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Reads `dataset.json` of a dataset folder, or undefined if there is none. @throws {DataError} `INVALID_DATASET` if malformed. */
export async function readManifest(dir: string): Promise<DatasetManifest | undefined> {
  const file = join(dir, MANIFEST_FILE);
  if (!(await exists(file))) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (cause) {
    throw new DataError('INVALID_DATASET', `${file}: expected JSON, got unparsable text.`, { file }, { cause });
  }
  const result = manifestSchema.safeParse(withLegacyClasses(json));
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new DataError('INVALID_DATASET', `${file}: ${issue.path.join('.')}: ${issue.message}.`, { file, column: issue.path.join('.') });
  }
  return result.data as DatasetManifest;
}

async function listImages(dir: string): Promise<string[]> {
  if (!(await exists(dir))) return [];
  return (await readdir(dir)).filter((name) => IMAGE_FILE.test(name)).sort();
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const run = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  return out;
}

/**
 * Opens and indexes a dataset in the Kaggle layout: `train.csv` (either layout), `train_images/`, optionally
 * `test_images/`, `sample_submission.csv` and `dataset.json`. Masks stay RLE until {@link decodeMask}.
 * @throws {DataError} `MISSING_FILE` if train.csv, train_images/ or an image named in train.csv is missing;
 * `INVALID_CSV` for a bad row; `INVALID_IMAGE` for an unreadable or wrongly sized image when verifying;
 * `INVALID_DATASET` for a bad manifest. With `skipInvalid`, bad images are listed in `skipped` instead.
 * @example const dataset = await openKaggleDataset('data/severstal'); dataset.images.length; // 12568
 */
export async function openKaggleDataset(dir: string, options: OpenKaggleDatasetOptions = {}): Promise<KaggleDataset> {
  const root = resolve(dir);
  const { verifyImages = 'none', skipInvalid = false } = options;
  const manifest = await readManifest(root);
  const csvFile = join(root, 'train.csv');
  const imageDir = join(root, 'train_images');
  if (!(await exists(csvFile))) throw new DataError('MISSING_FILE', `${csvFile} does not exist; expected a Kaggle-layout folder with train.csv and train_images/.`, { file: csvFile });
  if (!(await exists(imageDir))) throw new DataError('MISSING_FILE', `${imageDir} does not exist; expected a folder of training images.`, { file: imageDir });
  const names = await listImages(imageDir);
  const classes = options.classes ?? manifest?.classes ?? SEVERSTAL_CLASSES;
  let height = options.height ?? manifest?.height;
  let width = options.width ?? manifest?.width;
  if (height === undefined || width === undefined) {
    const first = names[0] === undefined ? undefined : await readImageSize(join(imageDir, names[0]));
    height ??= first?.height ?? SEVERSTAL_IMAGE_SHAPE.height;
    width ??= first?.width ?? SEVERSTAL_IMAGE_SHAPE.width;
  }
  const csv = parseTrainCsv(await readFile(csvFile, 'utf8'), { file: csvFile, classes, height, width });

  const skipped: SkippedImage[] = [];
  const onFolder = new Set(names);
  for (const id of csv.imageIds) {
    if (onFolder.has(id)) continue;
    const file = join(imageDir, id);
    if (!skipInvalid) throw new DataError('MISSING_FILE', `Image ${file}, named in ${csvFile}, does not exist; restore it or pass skipInvalid.`, { file });
    skipped.push({ id, file, reason: 'missing' });
  }
  let kept = names;
  if (verifyImages !== 'none') {
    const problems = await mapLimit(names, 4, async (name): Promise<string | undefined> => {
      const file = join(imageDir, name);
      if (verifyImages === 'header') {
        const size = await readImageSize(file);
        if (size === undefined) return 'unreadable';
        if (size.height !== height || size.width !== width) return `size ${size.height}x${size.width}, expected ${height}x${width}`;
        return undefined;
      }
      try {
        await readImage(file, { height, width });
        return undefined;
      } catch (error) {
        if (isDataError(error)) return error.message;
        throw error;
      }
    });
    const bad = names.flatMap((name, i) => (problems[i] === undefined ? [] : [{ id: name, file: join(imageDir, name), reason: problems[i] as string }]));
    if (bad.length > 0 && !skipInvalid) {
      const first = bad[0]!;
      throw new DataError('INVALID_IMAGE', `Image ${first.file}: ${first.reason}${bad.length > 1 ? ` (and ${bad.length - 1} more)` : ''}; fix it or pass skipInvalid.`, { file: first.file, found: first.reason });
    }
    skipped.push(...bad);
    const badIds = new Set(bad.map((b) => b.id));
    kept = names.filter((name) => !badIds.has(name));
  }
  const byImage = new Map<string, Record<number, string>>();
  for (const row of csv.rows) {
    let rles = byImage.get(row.imageId);
    if (rles === undefined) byImage.set(row.imageId, (rles = {}));
    rles[row.classId] = row.encodedPixels;
  }
  const images: ImageEntry[] = kept.map((id) => {
    const rles = byImage.get(id) ?? {};
    const classes = Object.keys(rles).map(Number).sort((a, b) => a - b);
    return { id, file: join(imageDir, id), classes, rles };
  });
  const testImages = await listImages(join(root, 'test_images'));
  return { dir: root, classes, height, width, csvFormat: csv.format, images, testImages, skipped, manifest };
}

/**
 * Decodes the masks of one image into a row-major `[height, width, classes]` 0/1 array (channel = class id - 1).
 * @throws {RleError} from @steel/rle if an RLE string does not fit the shape.
 */
export function decodeMask(entry: Pick<ImageEntry, 'rles'>, shape: { height: number; width: number; classes: number }): Uint8Array {
  const { height, width, classes } = shape;
  const out = new Uint8Array(height * width * classes);
  for (const [key, rle] of Object.entries(entry.rles)) {
    const channel = Number(key) - 1;
    if (channel < 0 || channel >= classes) continue;
    const plane = decode(rle, { height, width });
    for (let p = 0, o = channel; p < plane.length; p++, o += classes) if (plane[p] === 1) out[o] = 1;
  }
  return out;
}
