import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeMask, type KaggleDataset } from '@steel/data';
import type { ParsedArgs } from '../cli.ts';
import { openDataset } from '../data.ts';
import { AppError } from '../errors.ts';
import { readTestTruth } from '../submission-file.ts';
import type { Member } from '../inference.ts';

/** Labelled images for evaluate and tune: the run's validation images by default. */
export async function labelledImages(
  args: ParsedArgs,
  dataDir: string,
  members: readonly Member[],
): Promise<{ dataset: KaggleDataset; images: { id: string; file: string }[]; truthOf: (id: string) => Uint8Array; split: string }> {
  const dataset = await openDataset(dataDir);
  const split = (args.values['split'] as string | undefined) ?? 'val';
  const shape = { height: dataset.height, width: dataset.width, classes: dataset.classes };
  const byId = new Map(dataset.images.map((e) => [e.id, e]));
  let images: { id: string; file: string }[];
  let truthOf = (id: string) => decodeMask(byId.get(id)!, shape);
  if (split === 'test') {
    const truth = readTestTruth(dataset);
    if (truth === undefined) throw new AppError('DATA_NOT_FOUND', `${dataDir} has no test ground truth (test_ground_truth.csv); use --split val.`);
    images = dataset.testImages.map((id) => ({ id, file: join(dataset.dir, 'test_images', id) }));
    truthOf = (id) => decodeMask({ rles: truth.get(id) ?? {} }, shape);
  } else if (split === 'all') {
    images = dataset.images.map((e) => ({ id: e.id, file: e.file }));
  } else if (split === 'val' || split === 'train') {
    // The run folder is the model path itself, or its parent for a best/ or checkpoint/ folder.
    const runDir = members.flatMap((m) => [m.path, join(m.path, '..')]).find((p) => existsSync(join(p, 'split.json')));
    if (runDir === undefined) throw new AppError('USAGE', `--split ${split} needs a run folder with split.json in --models; use --split all or test.`);
    const saved = JSON.parse(readFileSync(join(runDir, 'split.json'), 'utf8')) as { train: string[]; valid: string[] };
    const ids = split === 'val' ? saved.valid : saved.train;
    const missing = ids.find((id) => !byId.has(id));
    if (missing !== undefined) throw new AppError('DATA_NOT_FOUND', `Image ${missing} of ${runDir}/split.json is not in ${dataDir}; pass the run's --data.`);
    images = ids.map((id) => ({ id, file: byId.get(id)!.file }));
  } else {
    throw new AppError('USAGE', `--split expects val, train, all or test, got "${split.slice(0, 80)}".`);
  }
  const max = args.values['max-images'] as number | undefined;
  if (max !== undefined) images = images.slice(0, max);
  if (images.length === 0) throw new AppError('DATA_NOT_FOUND', `No labelled images for --split ${split} in ${dataDir}.`);
  return { dataset, images, truthOf, split };
}
