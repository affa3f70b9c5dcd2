// No option is silently ignored: a flag (or config key) that would have no effect is refused with exit code 2, naming it and why.
import { CONFIG_FLAGS } from './cli.ts';
import { readConfigFile, type TrainConfig } from './config.ts';
import { AppError } from './errors.ts';

/** The losses that take a positive weight per class. */
export const LOSSES_WITH_POS_WEIGHT: readonly string[] = ['bce', 'bce-weighted-dice'];

/** Config keys that make the train/validation split; split.json fixes them once a run has started. */
export const SPLIT_KEYS = ['valFraction', 'folds', 'fold', 'onlyDefective', 'hardNegatives', 'maxImages'] as const;

/** `--flag` of a config key (`posWeight` → `--pos-weight`). */
export function flagOf(key: string): string {
  const spec = CONFIG_FLAGS.find((f) => (f.key ?? f.flag) === key || f.key?.startsWith(`${key}.`));
  return `--${spec?.flag ?? key}`;
}

const refuse = (message: string) => new AppError('USAGE', message);

/** Config keys the user set, by flag or in the `--config` file (the preset's are not). */
export function explicitKeys(flags: Record<string, unknown>, configFile: string | undefined): Set<string> {
  return new Set([...Object.keys(flags), ...(configFile === undefined ? [] : Object.keys(readConfigFile(configFile)))]);
}

/**
 * Refuses options given for a new run (by flag or config file: `explicit` holds their config keys) that the rest of the
 * config would make ineffective.
 * @throws {AppError} USAGE naming the option and what would use it.
 */
export function checkNewRunOptions(config: TrainConfig, explicit: ReadonlySet<string>): void {
  const given = (key: string) => explicit.has(key);
  if (given('posWeight') && !LOSSES_WITH_POS_WEIGHT.includes(config.loss)) {
    throw refuse(`--pos-weight applies to --loss ${LOSSES_WITH_POS_WEIGHT.join(' or ')} only; --loss ${config.loss} does not use it. Drop --pos-weight or pick one of those losses.`);
  }
  for (const key of ['patience', 'factor'] as const) {
    if (given(key) && config.schedule !== 'plateau') {
      throw refuse(`${flagOf(key)} applies to --schedule plateau only; --schedule ${config.schedule} does not use it. Drop ${flagOf(key)} or use --schedule plateau.`);
    }
  }
  if (given('fold') && config.folds === undefined) {
    throw refuse('--fold picks a fold of --folds K; without --folds the split is a holdout. Add --folds or drop --fold.');
  }
  if (given('valFraction') && config.folds !== undefined) {
    throw refuse(`--val-fraction sets the holdout split; --folds ${config.folds} validates on one fold instead. Drop one of them.`);
  }
  if (given('hardNegatives') && !config.onlyDefective) {
    throw refuse('--hard-negatives adds defect-free images back after --only-defective; without it every image is trained on already. Add --only-defective or drop --hard-negatives.');
  }
  if (given('synthetic') && config.data !== 'synthetic') {
    throw refuse(`--synthetic-count and --synthetic-size apply to --data synthetic only; --data ${config.data} is read as it is. Drop them.`);
  }
  if (given('budgetMinutes') && given('steps')) {
    throw refuse('--budget-minutes sets the steps per epoch from a measured step; --steps sets them directly. Pass one of them.');
  }
}

/**
 * Refuses flags that `--resume` cannot honour: `--preset` and `--config` (the run's config.json is used), a different run
 * folder, split flags (split.json wins), a time budget or pretrained weights (both only shape the start of a run).
 * @throws {AppError} USAGE naming the flag.
 */
export function checkResumeOptions(saved: TrainConfig, overrides: Record<string, unknown>, values: Record<string, unknown>, runDir: string): void {
  for (const flag of ['preset', 'config'] as const) {
    if (values[flag] !== undefined) {
      throw refuse(`--${flag} cannot be combined with --resume: ${runDir}/config.json is the resumed run's config. Pass single flags to change what may change (e.g. --epochs, --lr).`);
    }
  }
  const changed = (key: string) => key in overrides && JSON.stringify(overrides[key]) !== JSON.stringify((saved as Record<string, unknown>)[key]);
  for (const key of SPLIT_KEYS) {
    if (changed(key)) {
      throw refuse(`${flagOf(key)} cannot change on --resume: the split of ${runDir} is fixed in its split.json. Start a new run for another split.`);
    }
  }
  for (const key of ['name', 'runsDir'] as const) {
    if (changed(key)) throw refuse(`${flagOf(key)} cannot change on --resume: the run folder is ${runDir}.`);
  }
  for (const key of ['budgetMinutes', 'pretrained'] as const) {
    if (changed(key)) {
      throw refuse(`${flagOf(key)} shapes the start of a run only; a resumed run continues from its checkpoint. Drop ${flagOf(key)}, or start a new run.`);
    }
  }
}

/** Refuses per-class options whose length is not the dataset's number of classes. */
export function checkPerClassOptions(config: Pick<TrainConfig, 'loss' | 'posWeight' | 'minArea'>, classes: number): void {
  const check = (flag: string, values: readonly number[]) => {
    if (values.length !== classes) {
      throw refuse(`${flag} needs one value per class: the dataset has ${classes} classes, found ${values.length} (${values.join(',')}). Pass ${classes} comma-separated values.`);
    }
  };
  if (LOSSES_WITH_POS_WEIGHT.includes(config.loss) && config.posWeight.length > 0) check('--pos-weight', config.posWeight);
  check('--min-area', config.minArea);
}
