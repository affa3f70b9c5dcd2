import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { ParsedArgs } from '../cli.ts';
import { parseTrainConfig, readRunConfig, type TrainConfig } from '../config.ts';
import { AppError } from '../errors.ts';
import { resolveAtomicDir, runPaths } from '../run-dir.ts';
import { trainRun } from './train.ts';

/** Optimizer steps of `lovasz-finetune` when `--steps` is not given. */
export const DEFAULT_LOVASZ_STEPS = 100;

/**
 * The config of a fine-tuning run of `source` (a trained run's config): the same model, data, split keys, crops,
 * augmentation and seed; the Lovász hinge loss at a constant learning rate (default a tenth of the run's) for one epoch of
 * `steps` steps, starting from the weights in `initFrom`. The classification head, if the run has one, keeps its loss.
 */
export function lovaszConfig(
  source: TrainConfig,
  options: { name: string; runsDir: string; initFrom: string; steps: number; lr?: number | undefined; backend?: unknown; threads?: unknown },
): TrainConfig {
  const { pretrained: _pretrained, budgetMinutes: _budget, ...rest } = source;
  return parseTrainConfig(
    {
      ...rest,
      name: options.name,
      runsDir: options.runsDir,
      loss: 'lovasz-hinge',
      schedule: 'constant',
      lr: options.lr ?? Number((source.lr / 10).toPrecision(12)),
      epochs: 1,
      steps: options.steps,
      initFrom: options.initFrom,
      ...(options.backend === undefined ? {} : { backend: options.backend }),
      ...(options.threads === undefined ? {} : { threads: options.threads }),
    },
    'fine-tuning flags',
  );
}

/**
 * `lovasz-finetune`: continues a trained run for `--steps` optimizer steps with the Lovász hinge loss (a surrogate of the
 * IoU, what several top Severstal solutions trained last), from the run's best model, on the same images and split. Writes
 * a new run folder (config, log, checkpoints, best model, metrics, report), resumable with `train --resume` like any run.
 */
export async function runLovaszFinetune(args: ParsedArgs): Promise<number> {
  const from = args.values['from'] as string | undefined;
  if (from === undefined) throw new AppError('USAGE', 'lovasz-finetune needs --from with the folder of a trained run (runs/<name>).');
  const source = resolve(from);
  if (!existsSync(source) || !statSync(source).isDirectory()) {
    throw new AppError('CHECKPOINT', `--from ${from}: no such run folder. Pass the folder of a trained run (runs/<name>).`);
  }
  const sourcePaths = runPaths(source);
  if (!existsSync(sourcePaths.config)) {
    throw new AppError('CHECKPOINT', `--from ${from} is not a run folder (no config.json). Pass the folder of a trained run (runs/<name>).`);
  }
  const saved = readRunConfig(sourcePaths.config, `config of ${from}`);
  const best = resolveAtomicDir(sourcePaths.best);
  if (best === undefined) {
    throw new AppError(
      'CHECKPOINT',
      `--from ${from} has no best model yet (no best/: no epoch has finished). Finish its training first (train --resume ${from}).`,
    );
  }
  if (!existsSync(sourcePaths.split)) {
    throw new AppError('CHECKPOINT', `--from ${from} has no split.json, so its training images are unknown. Pass a run folder written by train or start.`);
  }
  const name = (args.values['name'] as string | undefined) ?? `${basename(source)}-lovasz`;
  const config = lovaszConfig(saved, {
    name,
    runsDir: (args.values['runs-dir'] as string | undefined) ?? dirname(source),
    initFrom: best,
    steps: (args.values['steps'] as number | undefined) ?? DEFAULT_LOVASZ_STEPS,
    lr: args.values['lr'] as number | undefined,
    backend: args.values['backend'],
    threads: args.values['threads'],
  });
  const paths = runPaths(resolve(config.runsDir, name));
  if (existsSync(paths.config) || existsSync(paths.log)) {
    throw new AppError('USAGE', `Run folder ${paths.root} already exists. Continue it with "train --resume ${paths.root}", or pick another --name.`);
  }
  process.stdout.write(`Fine-tuning ${from} (best model of epoch ${epochOf(best)}) with the Lovász hinge loss for ${config.steps} steps at lr ${config.lr}.\n`);
  const { exitCode } = await trainRun(config, paths, false, {
    stopAfterSteps: args.values['stop-after-steps'] as number | undefined,
    splitFile: sourcePaths.split,
  });
  return exitCode;
}

/** The epoch a best/ folder was saved at (its best.json), or "?" when it does not say. */
function epochOf(best: string): string {
  try {
    return String((JSON.parse(readFileSync(join(best, 'best.json'), 'utf8')) as { epoch?: number }).epoch ?? '?');
  } catch {
    return '?';
  }
}
