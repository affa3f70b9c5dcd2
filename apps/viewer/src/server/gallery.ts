// The dataset behind the gallery: image lists per split and their ground truth, from a Kaggle-layout folder.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { edaPageData, isDataError, openKaggleDataset, parseTrainCsv, renderEdaPage } from '@steel/data';
import type { DatasetInfo, GalleryPage } from '../shared/api.ts';
import { ViewerError } from './errors.ts';

interface Split {
  readonly folder: string;
  readonly ids: readonly string[];
  /** Ground truth per image (class id -> RLE); null when the split has none. */
  readonly truth: ReadonlyMap<string, Readonly<Record<string, string>>> | null;
}

/** An opened dataset. */
export interface Gallery {
  readonly info: DatasetInfo;
  /** One page of a split's images with their ground truth. */
  page(split: string, offset: number, limit: number): GalleryPage | null;
  /** The file of an image, or null when `split`/`id` is not in the dataset. */
  file(split: string, id: string): string | null;
  /** The dataset page (`renderEdaPage` of @steel/data: counts, plots, examples), computed on the first call and kept. */
  edaPage(): Promise<string>;
}

const IMAGE_FILE = /\.(jpe?g|png)$/i;

/**
 * Opens a Kaggle-layout folder (train.csv, train_images/, optionally test_images/ with test_ground_truth.csv as the
 * synthetic generator writes it).
 * @throws {ViewerError} BAD_DATA naming the folder and what is missing or malformed.
 */
export async function openGallery(dir: string): Promise<Gallery> {
  let dataset;
  try {
    dataset = await openKaggleDataset(dir);
  } catch (error) {
    const why = isDataError(error) || error instanceof Error ? error.message : String(error);
    throw new ViewerError('BAD_DATA', `Cannot open the dataset in ${dir}: ${why}`, { cause: error });
  }
  const shape = { classes: dataset.classes, height: dataset.height, width: dataset.width };
  const splits = new Map<string, Split>();
  const testDir = join(dataset.dir, 'test_images');
  if (existsSync(testDir)) {
    const ids = readdirSync(testDir).filter((n) => IMAGE_FILE.test(n)).sort();
    const truthFile = join(dataset.dir, 'test_ground_truth.csv');
    let truth: Map<string, Record<string, string>> | null = null;
    if (existsSync(truthFile)) {
      try {
        const csv = parseTrainCsv(readFileSync(truthFile, 'utf8'), { file: truthFile, ...shape });
        truth = new Map(ids.map((id) => [id, {}]));
        for (const row of csv.rows) truth.get(row.imageId)![String(row.classId)] = row.encodedPixels;
      } catch (error) {
        throw new ViewerError('BAD_DATA', `Cannot read ${truthFile}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
    }
    if (ids.length > 0) splits.set('test', { folder: testDir, ids, truth });
  }
  const trainTruth = new Map<string, Record<string, string>>();
  for (const entry of dataset.images) {
    const rles: Record<string, string> = {};
    for (const [k, rle] of Object.entries(entry.rles)) rles[k] = rle;
    trainTruth.set(entry.id, rles);
  }
  splits.set('train', { folder: join(dataset.dir, 'train_images'), ids: dataset.images.map((e) => e.id), truth: trainTruth });
  const info: DatasetInfo = {
    dir: dataset.dir,
    name: basename(dataset.dir),
    height: dataset.height,
    width: dataset.width,
    classes: dataset.classes,
    splits: Object.fromEntries([...splits].map(([name, s]) => [name, { images: s.ids.length, hasTruth: s.truth !== null }])),
  };
  const opened = dataset;
  let edaPage: Promise<string> | undefined;
  return {
    info,
    page(split, offset, limit) {
      const s = splits.get(split);
      if (s === undefined) return null;
      const ids = s.ids.slice(offset, offset + limit);
      return { split, total: s.ids.length, offset, images: ids.map((id) => ({ id, rles: s.truth ? (s.truth.get(id) ?? {}) : null })) };
    },
    file(split, id) {
      const s = splits.get(split);
      if (s === undefined || !s.ids.includes(id)) return null;
      return join(s.folder, id);
    },
    edaPage() {
      // A failure (an unreadable example image) is not kept: the next request tries again.
      edaPage ??= renderEdaPage(opened, edaPageData(opened)).catch((error: unknown) => {
        edaPage = undefined;
        throw error;
      });
      return edaPage;
    },
  };
}
