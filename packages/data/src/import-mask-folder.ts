import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { encode } from '@steel/rle';
import { formatTrainCsv, type TrainRow } from './csv.ts';
import { MANIFEST_FILE } from './dataset.ts';
import { DataError } from './errors.ts';
import { exists, type LinkMode, placeFile, writeFileAtomic } from './fs-util.ts';
import { readImageSize, readLabelMap } from './image.ts';
import { parseIdList } from './splits.ts';

export type { LinkMode } from './fs-util.ts';

/** Options of {@link importMaskFolder}. */
export interface ImportMaskFolderOptions {
  /** Folder with `images/<id>.jpg`, `masks/<id>.png` (label maps, 0 = background) and optional `train.txt`, `val.txt`. */
  readonly source: string;
  /** Kaggle-layout folder to write. */
  readonly target: string;
  /** How images get into `target/train_images`. Default `'symlink'`. */
  readonly link?: LinkMode;
  /** Import only these ids (e.g. a subset for tests); default every id of the split lists, or every image. */
  readonly ids?: readonly string[];
  readonly onProgress?: (progress: { done: number; total: number }) => void;
}

/** What {@link importMaskFolder} wrote. */
export interface ImportMaskFolderResult {
  readonly target: string;
  readonly images: number;
  /** Largest label value found: the number of classes. */
  readonly classes: number;
  readonly height: number;
  readonly width: number;
  /** Split files written (`train_imgids.txt`, `valid_imgids.txt`), if the source had split lists. */
  readonly splitFiles: readonly string[];
}

/**
 * Imports a folder of images and label-map masks (like NEU-Seg: `images/<id>.jpg`, `masks/<id>.png`, `train.txt`,
 * `val.txt`) into the Kaggle layout: `train.csv` with one RLE row per (image, label), `train_images/<id>.jpg` copied or
 * linked, `train_imgids.txt` / `valid_imgids.txt` from the split lists, and `dataset.json` with the number of classes
 * (the largest label found). Files are written atomically; a repeated call with the same options finishes or redoes the
 * work without harm.
 * @throws {DataError} `MISSING_FILE` if a folder, image or mask is missing; `INVALID_IMAGE` if a mask's size differs from its image's.
 * @example await importMaskFolder({ source: 'neu-seg', target: 'data/neu-kaggle' });
 */
export async function importMaskFolder(options: ImportMaskFolderOptions): Promise<ImportMaskFolderResult> {
  const source = resolve(options.source);
  const target = resolve(options.target);
  const link = options.link ?? 'symlink';
  const imageDir = join(source, 'images');
  const maskDir = join(source, 'masks');
  for (const dir of [imageDir, maskDir]) {
    if (!(await exists(dir))) throw new DataError('MISSING_FILE', `${dir} does not exist; expected images/<id>.jpg and masks/<id>.png in ${source}.`, { file: dir });
  }
  const readList = async (name: string): Promise<string[] | undefined> => {
    const file = join(source, name);
    return (await exists(file)) ? parseIdList(await readFile(file, 'utf8')) : undefined;
  };
  const trainList = await readList('train.txt');
  const validList = await readList('val.txt');
  const imageFiles = new Map((await readdir(imageDir)).filter((n) => /\.(jpg|jpeg|png)$/i.test(n)).map((n) => [n.replace(/\.[^.]+$/, ''), n]));
  let stems = options.ids?.map((id) => id.replace(/\.(jpg|jpeg|png)$/i, '')) ?? (trainList || validList ? [...(trainList ?? []), ...(validList ?? [])] : [...imageFiles.keys()].sort());
  stems = [...new Set(stems)];
  await mkdir(join(target, 'train_images'), { recursive: true });
  const rows: TrainRow[] = [];
  let classes = 0;
  let shape: { height: number; width: number } | undefined;
  const ids: string[] = [];
  let done = 0;
  for (const stem of stems) {
    const name = imageFiles.get(stem);
    if (name === undefined) throw new DataError('MISSING_FILE', `Image ${join(imageDir, `${stem}.jpg`)}, listed in ${source}, does not exist.`, { file: join(imageDir, `${stem}.jpg`) });
    const id = name;
    const maskFile = join(maskDir, `${stem}.png`);
    const size = await readImageSize(join(imageDir, name));
    const labels = await readLabelMap(maskFile, size ?? {});
    const { height, width } = labels;
    if (shape === undefined) shape = { height, width };
    else if (shape.height !== height || shape.width !== width) {
      throw new DataError('INVALID_IMAGE', `Mask ${maskFile}: expected ${shape.height}x${shape.width} like the first image, got ${height}x${width}; every image of a dataset must have one size.`, { file: maskFile, expected: `${shape.height}x${shape.width}`, found: `${height}x${width}` });
    }
    const present = new Set<number>();
    for (const v of labels.data) if (v !== 0) present.add(v);
    for (const label of [...present].sort((a, b) => a - b)) {
      classes = Math.max(classes, label);
      const mask = new Uint8Array(labels.data.length);
      for (let i = 0; i < mask.length; i++) mask[i] = labels.data[i] === label ? 1 : 0;
      rows.push({ imageId: id, classId: label, encodedPixels: encode(mask, { height, width }), line: 0 });
    }
    const placed = join(target, 'train_images', id);
    if (!(await exists(placed))) await placeFile(join(imageDir, name), placed, link);
    ids.push(id);
    options.onProgress?.({ done: ++done, total: stems.length });
  }
  const { height, width } = shape ?? { height: 0, width: 0 };
  await writeFileAtomic(join(target, 'train.csv'), formatTrainCsv(rows));
  const splitFiles: string[] = [];
  const chosen = new Set(stems);
  for (const [list, file] of [
    [trainList, 'train_imgids.txt'],
    [validList, 'valid_imgids.txt'],
  ] as const) {
    if (list === undefined) continue;
    const path = join(target, file);
    await writeFileAtomic(path, list.filter((s) => chosen.has(s)).map((s) => `${imageFiles.get(s) ?? `${s}.jpg`}\n`).join(''));
    splitFiles.push(path);
  }
  await writeFileAtomic(join(target, MANIFEST_FILE), `${JSON.stringify({ kind: 'mask-folder', source, classes: Math.max(1, classes), height, width, images: ids.length }, null, 2)}\n`);
  return { target, images: ids.length, classes: Math.max(1, classes), height, width, splitFiles };
}
