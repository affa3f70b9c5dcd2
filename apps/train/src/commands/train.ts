import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ParsedArgs } from '../cli.ts';
import { checkMultipleOf32, padTo32, parseTrainConfig, readRunConfig, resolveTrainConfig, type TrainConfig } from '../config.ts';
import { AppError } from '../errors.ts';
import { checkNewRunOptions, checkPerClassOptions, checkResumeOptions, explicitKeys } from '../options.ts';
import { createProgress } from '../progress.ts';
import { runPaths, timestampName, writeFileAtomic, writeJson, type RunPaths } from '../run-dir.ts';
import { initBackend } from '../backend.ts';
import type { ReplanHook, TrainingPlan } from '../budget.ts';
import { ensureDataset } from './generate.ts';

/** Identity keys that cannot change on --resume. */
const FIXED_ON_RESUME = ['architecture', 'encoder', 'inChannels', 'classificationHead', 'data', 'scale', 'crop', 'seed', 'batchSize', 'accumulate'] as const;

/** Resolves config + run folder for a new run or a resumed one. */
export function prepareRun(args: ParsedArgs): { config: TrainConfig; paths: RunPaths; resume: boolean } {
  const resumeDir = args.values['resume'] as string | undefined;
  if (resumeDir !== undefined) {
    const paths = runPaths(resolve(resumeDir));
    if (!existsSync(paths.config)) {
      throw new AppError('CHECKPOINT', `Cannot resume: ${paths.config} does not exist. Pass the folder of a run started with "train" (runs/<name>).`);
    }
    const saved = readRunConfig(paths.config, `config of ${resumeDir}`);
    const overrides = args.config;
    checkResumeOptions(saved, overrides, args.values, paths.root);
    for (const key of FIXED_ON_RESUME) {
      if (key in overrides && JSON.stringify(overrides[key]) !== JSON.stringify(saved[key])) {
        throw new AppError(
          'CHECKPOINT',
          `The checkpoint in ${resumeDir} was trained with ${key} ${JSON.stringify(saved[key])}, but ${JSON.stringify(overrides[key])} was asked for. ` +
            `Resume without changing ${key}, or start a new run.`,
        );
      }
    }
    const config = parseTrainConfig({ ...saved, ...overrides }, 'flags');
    return { config, paths, resume: true };
  }
  const resolved = resolveTrainConfig({
    preset: args.values['preset'] as string | undefined,
    configFile: args.values['config'] as string | undefined,
    flags: args.config,
  });
  // The default preset's time budget is the main job's (`start`); `train` honours one given by flag or config file, or by
  // another preset (neu-seg: a recipe for a budget) unless --steps sets the steps.
  const explicit = explicitKeys(args.config, args.values['config'] as string | undefined);
  const presetBudget = (args.values['preset'] ?? 'default') !== 'default' && !explicit.has('steps');
  const config = explicit.has('budgetMinutes') || presetBudget ? resolved : { ...resolved, budgetMinutes: undefined };
  checkNewRunOptions(config, explicit);
  if (config.crop) checkMultipleOf32('--crop', config.crop);
  const name = config.name ?? timestampName();
  const paths = runPaths(resolve(config.runsDir, name));
  if (existsSync(paths.log)) {
    throw new AppError('USAGE', `Run folder ${paths.root} already exists. Resume it with --resume ${paths.root}, or pick another --name.`);
  }
  return { config: { ...config, name }, paths, resume: false };
}

/** `train`: train a model, then write metrics, submission and report into the run folder. */
export async function runTrain(args: ParsedArgs): Promise<number> {
  const { config, paths, resume } = prepareRun(args);
  if (args.values['print-config']) {
    process.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
    return 0;
  }
  const result = await trainRun(config, paths, resume, { stopAfterSteps: args.values['stop-after-steps'] as number | undefined });
  return result.exitCode;
}

/** Runs training (new or resumed) and the post-training steps; returns the exit code. */
export async function trainRun(
  initialConfig: TrainConfig,
  paths: RunPaths,
  resume: boolean,
  options: {
    stopAfterSteps?: number | undefined;
    finish?: boolean;
    /** A split.json to train on instead of making a split (a new run that continues another run's training). */
    splitFile?: string;
  } = {},
): Promise<{ exitCode: number; dataDir: string; plan?: TrainingPlan }> {
  let config = initialConfig;
  let budget: TrainingPlan | undefined;
  let replan: ReplanHook | undefined;
  const progress = createProgress(process.stderr);
  const { checkNames } = await import('../builders.ts');
  checkNames(config);
  const backend = await initBackend(config);
  const dataDir = await ensureDataset(config, progress);
  const [{ openDataset }, { runTraining }, { makeSplit }, { finishRun }] = await Promise.all([
    import('../data.ts'),
    import('../trainer.ts'),
    import('../split.ts'),
    import('../finish.ts'),
  ]);
  const dataset = await openDataset(dataDir, { verify: true });
  checkPerClassOptions(config, dataset.classes);
  mkdirSync(paths.root, { recursive: true });
  progress.log(`Backend: ${backend.backend}${backend.detail ? ` (${backend.detail})` : ''}`);
  if (!resume && options.splitFile !== undefined) writeFileAtomic(paths.split, readFileSync(options.splitFile));
  const split = await makeSplit(config, dataset, paths, resume || options.splitFile !== undefined, (line) => progress.log(line));
  progress.log(`Data: ${dataDir} — ${split.train.length} training and ${split.val.length} validation images, ${dataset.classes} classes, ${dataset.height}x${dataset.width}`);
  const budgetMinutes = config.budgetMinutes;
  if (!resume && budgetMinutes !== undefined && config.steps === undefined) {
    const { planBudget, replanHook } = await import('../budget.ts');
    const { scaledSize } = await import('../data.ts');
    const size = scaledSize(dataset, config.scale);
    const full = { height: padTo32(size.height), width: padTo32(size.width) };
    const counts = { train: split.train.length, val: split.val.length, test: dataset.testImages.length };
    const sizes = { train: config.crop ?? full, eval: full };
    const plan = await planBudget(config, dataset.classes, counts, sizes, (line) => progress.log(line));
    if (plan !== undefined) {
      config = { ...config, epochs: plan.epochs, steps: plan.steps };
      budget = { ...plan, budgetMinutes };
      const hook = replanHook({ ...config, budgetMinutes }, counts, sizes, plan);
      // Each new plan's steps per epoch go into config.json at once: the checkpoint holds every epoch's length, and epochs
      // that a resume adds with --epochs run the latest plan's steps.
      replan = hook && {
        ...hook,
        plan: (stepSeconds, progress) => {
          const steps = hook.plan(stepSeconds, progress);
          config = { ...config, steps };
          writeJson(paths.config, config);
          return steps;
        },
      };
    }
  }
  if (!resume) writeJson(paths.config, config);
  process.stdout.write(`Run folder: ${paths.root}\nResolved config:\n${JSON.stringify(config)}\n`);

  const stop = { requested: false };
  const onSigint = () => {
    if (stop.requested) process.exit(130);
    stop.requested = true;
    progress.log('Interrupted: saving a checkpoint after this step (Ctrl-C again quits without saving).');
  };
  process.on('SIGINT', onSigint);
  let result;
  try {
    result = await runTraining({
      config,
      data: { dataset, train: split.train, val: split.val },
      paths,
      resume,
      progress,
      stop,
      stopAfterSteps: options.stopAfterSteps,
      replan,
    });
  } finally {
    process.off('SIGINT', onSigint);
  }
  if (budget && result.replans) budget = { ...budget, replans: result.replans };
  if (result.stopped === 'interrupted') {
    progress.log(`Checkpoint saved at epoch ${result.state.epoch + 1}, step ${result.state.stepInEpoch}. Continue with: train --resume ${paths.root}`);
    return { exitCode: stop.requested ? 130 : 0, dataDir, ...(budget ? { plan: budget } : {}) };
  }
  if (options.finish !== false) await finishRun({ config, paths, dataset, val: split.val, backend: backend.backend, progress });
  return { exitCode: 0, dataDir, ...(budget ? { plan: budget } : {}) };
}
