import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { ImageEntry } from './dataset.ts';
import { DataError } from './errors.ts';
import { createRandom, hashSeed, shuffled } from './random.ts';

/** A train/validation split of image ids. */
export interface Split {
  readonly train: readonly string[];
  readonly valid: readonly string[];
}

/** Options of {@link holdoutSplit}. */
export interface HoldoutOptions {
  /** Fraction of ids in `valid`, in (0, 1). Default 0.2. */
  readonly validFraction?: number;
  readonly seed: number;
}

function checkFraction(validFraction: number): void {
  if (!(validFraction > 0 && validFraction < 1)) {
    throw new DataError('INVALID_ARGUMENT', `Expected validFraction in (0, 1), got ${validFraction}.`, { column: 'validFraction', expected: '(0, 1)', found: String(validFraction) });
  }
}

/**
 * Returns a seeded random holdout: `round(n * validFraction)` ids in `valid`, the rest in `train`, each in input order.
 * @throws {DataError} `INVALID_ARGUMENT` if `validFraction` is not in (0, 1).
 */
export function holdoutSplit(ids: readonly string[], options: HoldoutOptions): Split {
  const { validFraction = 0.2, seed } = options;
  checkFraction(validFraction);
  const order = shuffled(ids, createRandom(hashSeed(seed, 0x5b1)));
  const valid = new Set(order.slice(0, Math.round(ids.length * validFraction)));
  return { train: ids.filter((id) => !valid.has(id)), valid: ids.filter((id) => valid.has(id)) };
}

/** The stratum of an image: its sorted class ids joined by `+`, or `'0'` when it has none. */
export function classSetKey(classes: readonly number[]): string {
  return classes.length === 0 ? '0' : [...classes].sort((a, b) => a - b).join('+');
}

/**
 * Splits images into `folds` disjoint folds, stratified on the set of classes present in each image: within every class
 * set, fold sizes differ by at most one, and so do the total fold sizes. Each fold lists its ids in input order.
 * @throws {DataError} `INVALID_ARGUMENT` if `folds` is not an integer ≥ 2.
 */
export function stratifiedKFold(images: readonly Pick<ImageEntry, 'id' | 'classes'>[], options: { folds?: number; seed: number }): string[][] {
  const { folds = 5, seed } = options;
  if (!Number.isInteger(folds) || folds < 2) {
    throw new DataError('INVALID_ARGUMENT', `Expected folds to be an integer >= 2, got ${folds}.`, { column: 'folds', expected: 'integer >= 2', found: String(folds) });
  }
  const groups = new Map<string, string[]>();
  for (const image of images) {
    const key = classSetKey(image.classes);
    let group = groups.get(key);
    if (group === undefined) groups.set(key, (group = []));
    group.push(image.id);
  }
  const random = createRandom(hashSeed(seed, 0xf01d));
  const foldOf = new Map<string, number>();
  // Deal each stratum round-robin, continuing where the previous one stopped so total sizes stay balanced too.
  let cursor = 0;
  for (const key of [...groups.keys()].sort()) {
    for (const id of shuffled(groups.get(key)!, random)) {
      foldOf.set(id, cursor);
      cursor = (cursor + 1) % folds;
    }
  }
  const out: string[][] = Array.from({ length: folds }, () => []);
  for (const image of images) out[foldOf.get(image.id)!]!.push(image.id);
  return out;
}

/**
 * Returns the split that validates on fold `fold` and trains on the others.
 * @throws {DataError} `INVALID_ARGUMENT` if `fold` is out of range.
 */
export function foldSplit(folds: readonly (readonly string[])[], fold: number): Split {
  if (!Number.isInteger(fold) || fold < 0 || fold >= folds.length) {
    throw new DataError('INVALID_ARGUMENT', `Expected fold in 0..${folds.length - 1}, got ${fold}.`, { column: 'fold', expected: `0..${folds.length - 1}`, found: String(fold) });
  }
  return { train: folds.flatMap((ids, i) => (i === fold ? [] : ids)), valid: [...folds[fold]!] };
}

/** The images with at least one defect. */
export function onlyDefective<T extends Pick<ImageEntry, 'classes'>>(images: readonly T[]): T[] {
  return images.filter((image) => image.classes.length > 0);
}

/** Adds hard-negative ids (defect-free images models confuse with defects) to `train`, skipping ids already in either side. */
export function addHardNegatives(split: Split, ids: readonly string[]): Split {
  const seen = new Set([...split.train, ...split.valid]);
  const extra = ids.filter((id) => !seen.has(id) && (seen.add(id), true));
  return { train: [...split.train, ...extra], valid: split.valid };
}

/** Parses an id list: one id per line, surrounding spaces and empty lines ignored (as in `hard_negatives_patterns.txt`). */
export function parseIdList(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

/** Reads an id list file (see {@link parseIdList}). @throws {DataError} `MISSING_FILE` if it does not exist. */
export async function readIdList(file: string): Promise<string[]> {
  try {
    return parseIdList(await readFile(file, 'utf8'));
  } catch (cause) {
    throw new DataError('MISSING_FILE', `Could not read id list ${file}; expected a text file with one image id per line.`, { file }, { cause });
  }
}

async function writeAtomic(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}

/** Writes an id list, one id per line, atomically. */
export async function writeIdList(file: string, ids: readonly string[]): Promise<void> {
  await writeAtomic(file, ids.map((id) => `${id}\n`).join(''));
}

const splitSchema = z.object({ train: z.array(z.string().min(1)), valid: z.array(z.string().min(1)) });

/**
 * Writes a split atomically: a `.json` file gets `{ train, valid, ...meta }`; any other name is a pair of id lists
 * `<name>` → `<stem>_train.txt` and `<stem>_valid.txt` beside it. Returns the paths written.
 */
export async function writeSplit(file: string, split: Split, meta: Record<string, unknown> = {}): Promise<string[]> {
  if (file.endsWith('.json')) {
    await writeAtomic(file, `${JSON.stringify({ ...meta, train: split.train, valid: split.valid }, null, 1)}\n`);
    return [file];
  }
  const stem = file.replace(/\.txt$/, '');
  const files = [`${stem}_train.txt`, `${stem}_valid.txt`];
  await writeIdList(files[0]!, split.train);
  await writeIdList(files[1]!, split.valid);
  return files;
}

/**
 * Reads a split written by {@link writeSplit}, or a pair of id lists given as `{ train, valid }` file paths
 * (like `train_imgids.txt` and `valid_imgids.txt`).
 * @throws {DataError} `INVALID_SPLIT` if the JSON is malformed or an id is on both sides; `MISSING_FILE` if a file is missing.
 */
export async function readSplit(file: string | { train: string; valid: string }): Promise<Split> {
  let split: Split;
  let name: string;
  if (typeof file === 'string' && file.endsWith('.json')) {
    name = file;
    let json: unknown;
    try {
      json = JSON.parse(await readFile(file, 'utf8'));
    } catch (cause) {
      throw new DataError('INVALID_SPLIT', `${file}: expected a JSON split { train: string[], valid: string[] }.`, { file }, { cause });
    }
    const result = splitSchema.safeParse(json);
    if (!result.success) {
      const issue = result.error.issues[0]!;
      throw new DataError('INVALID_SPLIT', `${file}: ${issue.path.join('.')}: ${issue.message}.`, { file, column: issue.path.join('.'), expected: 'string[]' });
    }
    split = result.data;
  } else {
    const files = typeof file === 'string' ? { train: `${file.replace(/\.txt$/, '')}_train.txt`, valid: `${file.replace(/\.txt$/, '')}_valid.txt` } : file;
    name = files.valid;
    split = { train: await readIdList(files.train), valid: await readIdList(files.valid) };
  }
  const train = new Set(split.train);
  const both = split.valid.find((id) => train.has(id));
  if (both !== undefined) throw new DataError('INVALID_SPLIT', `${name}: id ${both} is in both train and valid; a split must be disjoint.`, { file: name, found: both });
  return split;
}
