import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  addHardNegatives,
  foldSplit,
  holdoutSplit,
  onlyDefective,
  readIdList,
  readSplit,
  stratifiedKFold,
  writeSplit,
  type ImageEntry,
  type KaggleDataset,
} from '@steel/data';
import type { TrainConfig } from './config.ts';
import { AppError } from './errors.ts';
import type { RunPaths } from './run-dir.ts';

/**
 * The run's train/validation split: seeded holdout or stratified K-fold, optionally only defective images plus hard
 * negatives, capped by maxImages. Written to split.json, and read back when `existing` is set (a resumed run, or a run
 * that continues another run's training on its split.json) so the run sees the same images.
 */
export async function makeSplit(
  config: TrainConfig,
  dataset: KaggleDataset,
  paths: RunPaths,
  existing: boolean,
  log: (line: string) => void = () => {},
): Promise<{ train: ImageEntry[]; val: ImageEntry[] }> {
  const byId = new Map(dataset.images.map((e) => [e.id, e]));
  const lookup = (ids: readonly string[]) =>
    ids.map((id) => {
      const entry = byId.get(id);
      if (!entry) throw new AppError('CHECKPOINT', `Image ${id} of ${paths.split} is not in ${dataset.dir}. Resume with the same --data.`);
      return entry;
    });
  if (existing && existsSync(paths.split)) {
    const split = await readSplit(paths.split);
    return { train: lookup(split.train), val: lookup(split.valid) };
  }
  let images: readonly ImageEntry[] = dataset.images;
  // An imported dataset's own split (train_imgids.txt / valid_imgids.txt) is used as is (capped by maxImages).
  if (config.maxImages !== undefined) images = images.slice(0, config.maxImages);
  if (images.length < 2) {
    throw new AppError('DATA_NOT_FOUND', `${dataset.dir} has ${images.length} training image(s); training needs at least 2 (one to validate).`);
  }
  let split = config.folds === undefined ? await predefinedSplit(dataset, byId, config) : undefined;
  if (split !== undefined && config.maxImages === undefined) {
    log(`Using the dataset's own split (train_imgids.txt, valid_imgids.txt): --val-fraction ${config.valFraction} is not used.`);
  }
  split ??=
    config.folds !== undefined
      ? foldSplit(stratifiedKFold(images, { folds: config.folds, seed: config.seed }), config.fold)
      : holdoutSplit(
          images.map((e) => e.id),
          { validFraction: config.valFraction, seed: config.seed },
        );
  if (config.onlyDefective) {
    const defective = new Set(onlyDefective(images).map((e) => e.id));
    split = { train: split.train.filter((id) => defective.has(id)), valid: split.valid };
  }
  if (config.hardNegatives !== undefined) {
    const ids = (await readIdList(config.hardNegatives)).filter((id) => byId.has(id));
    split = addHardNegatives(split, ids);
  }
  if (split.train.length === 0 || split.valid.length === 0) {
    throw new AppError('DATA_NOT_FOUND', `The split of ${dataset.dir} left ${split.train.length} training and ${split.valid.length} validation images; use more data or another --val-fraction.`);
  }
  await writeSplit(paths.split, split, { seed: config.seed, folds: config.folds ?? null, fold: config.fold });
  return { train: lookup(split.train), val: lookup(split.valid) };
}

/** The dataset's own split lists, when both exist and name only images of the dataset. */
async function predefinedSplit(
  dataset: KaggleDataset,
  byId: ReadonlyMap<string, ImageEntry>,
  config: TrainConfig,
): Promise<{ train: readonly string[]; valid: readonly string[] } | undefined> {
  const files = { train: join(dataset.dir, 'train_imgids.txt'), valid: join(dataset.dir, 'valid_imgids.txt') };
  if (!existsSync(files.train) || !existsSync(files.valid)) return undefined;
  const split = await readSplit(files);
  if (![...split.train, ...split.valid].every((id) => byId.has(id)) || split.train.length === 0 || split.valid.length === 0) return undefined;
  if (config.maxImages === undefined) return split;
  const valid = Math.max(1, Math.round(config.maxImages * config.valFraction));
  return { train: split.train.slice(0, Math.max(1, config.maxImages - valid)), valid: split.valid.slice(0, valid) };
}
