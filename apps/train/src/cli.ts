import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AppError } from './errors.ts';
import { ARCHITECTURE_NAMES, BACKEND_NAMES, choices, ENCODER_NAMES, LOSS_NAMES } from './names.ts';

type FlagType = 'string' | 'int' | 'number' | 'boolean' | 'numbers' | 'size' | 'list';

/** One command-line flag: its config key, the value type and a help line. */
export interface FlagSpec {
  flag: string;
  key?: string;
  type: FlagType;
  help: string;
  short?: string;
}

/** Flags that map onto the training config (shared by `train` and `start`). */
export const CONFIG_FLAGS: FlagSpec[] = [
  { flag: 'name', type: 'string', help: 'run name; the run is written to <runs-dir>/<name> (default: a timestamp)' },
  { flag: 'runs-dir', key: 'runsDir', type: 'string', help: 'where run folders go (default runs)' },
  { flag: 'data', type: 'string', help: 'a Kaggle-layout folder (train.csv, train_images/) or "synthetic" (default)' },
  { flag: 'synthetic-count', key: 'synthetic.count', type: 'int', help: 'synthetic training images to generate' },
  { flag: 'synthetic-size', key: 'synthetic', type: 'size', help: 'synthetic image size HxW (e.g. 64x400)' },
  { flag: 'architecture', type: 'string', help: choices(ARCHITECTURE_NAMES) },
  { flag: 'encoder', type: 'string', help: choices(ENCODER_NAMES) },
  { flag: 'in-channels', key: 'inChannels', type: 'int', help: 'input channels: 1 (grey) or 3' },
  { flag: 'pretrained', type: 'string', help: 'a .safetensors file with encoder (torchvision names) or full-model weights' },
  { flag: 'head-bias', key: 'headBias', type: 'number', help: 'initial bias of the segmentation head logits, e.g. -4 (a 2% defect prior)' },
  { flag: 'bn-recalibration', key: 'bnRecalibration', type: 'int', help: 'batches that recompute batch-norm statistics before each validation (0: off)' },
  { flag: 'classification-head', key: 'classificationHead', type: 'boolean', help: 'add a classification head; tune searches its per-class gates' },
  { flag: 'class-loss-weight', key: 'classLossWeight', type: 'number', help: 'weight of the classification head loss (default 0.2)' },
  { flag: 'loss', type: 'string', help: choices(LOSS_NAMES) },
  { flag: 'pos-weight', key: 'posWeight', type: 'numbers', help: 'BCE positive weight per class, e.g. 2,2,1,1.5' },
  { flag: 'optimizer', type: 'string', help: 'adam | sgd | rmsprop' },
  { flag: 'lr', type: 'number', help: 'learning rate' },
  { flag: 'schedule', type: 'string', help: 'constant | one-cycle | cosine | plateau' },
  { flag: 'patience', type: 'int', help: 'plateau schedule: epochs without improvement before the lr drops' },
  { flag: 'epochs', type: 'int', help: 'number of epochs' },
  { flag: 'steps', type: 'int', help: 'steps per epoch (default: one pass over the training images)' },
  { flag: 'batch-size', key: 'batchSize', type: 'int', help: 'images per step' },
  { flag: 'accumulate', type: 'int', help: 'gradient accumulation: steps per optimizer update' },
  { flag: 'scale', type: 'number', help: 'image scale before cropping, in (0, 1] (0.25: 1600x256 -> 400x64)' },
  { flag: 'crop', type: 'size', help: 'random training crop HxW, multiples of 32, or none for whole images (default preset: 32x96)' },
  { flag: 'augment', type: 'string', help: 'reference | flips | none' },
  { flag: 'only-defective', key: 'onlyDefective', type: 'boolean', help: 'train only on images with a defect' },
  { flag: 'hard-negatives', key: 'hardNegatives', type: 'string', help: 'file of defect-free image ids to add back' },
  { flag: 'max-images', key: 'maxImages', type: 'int', help: 'use at most this many images (quick runs)' },
  { flag: 'val-fraction', key: 'valFraction', type: 'number', help: 'holdout fraction for validation (default 0.2)' },
  { flag: 'folds', type: 'int', help: 'K for stratified K-fold validation (instead of a holdout)' },
  { flag: 'fold', type: 'int', help: 'which fold validates (0-based)' },
  { flag: 'best-by', key: 'bestBy', type: 'string', help: 'keep the best model by validation "loss" or "dice"' },
  { flag: 'threshold', type: 'number', help: 'probability threshold for masks' },
  { flag: 'min-area', key: 'minArea', type: 'numbers', help: 'per-class minimum component area in pixels, e.g. 600,600,900,2000' },
  { flag: 'tune', type: 'boolean', help: 'tune per-class threshold and minimum area on the validation images after training' },
  { flag: 'budget-minutes', key: 'budgetMinutes', type: 'number', help: 'fit the whole job into this many minutes: measure a step, then set the steps (start: 9 by default)' },
  { flag: 'checkpoint-every', key: 'checkpointEvery', type: 'int', help: 'steps between checkpoints' },
  { flag: 'backend', type: 'string', help: choices(BACKEND_NAMES) },
  { flag: 'threads', type: 'int', help: 'wasm threads (and onnxruntime intra-op threads)' },
  { flag: 'engine', type: 'string', help: 'inference engine: auto (onnxruntime when installed, else tfjs) | tfjs | onnxruntime' },
  { flag: 'device', type: 'string', help: 'onnxruntime device: cpu | cuda | tensorrt (needs the GPU execution providers, see README)' },
  { flag: 'seed', type: 'int', help: 'random seed (data order, augmentation, weights)' },
];

/** A command: its flags, a synopsis, a description and examples for --help. */
export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  flags: FlagSpec[];
  examples: string[];
  positionals?: boolean;
}

const HELP_FLAG: FlagSpec = { flag: 'help', type: 'boolean', help: 'show this help', short: 'h' };

/** Renders a command's --help text. */
export function helpText(command: CommandSpec): string {
  const width = Math.max(...[...command.flags, HELP_FLAG].map((f) => flagLabel(f).length)) + 2;
  const lines = [
    `${command.summary}`,
    '',
    `Usage: ${command.usage}`,
    '',
    'Options:',
    ...[...command.flags, HELP_FLAG].map((f) => `  ${flagLabel(f).padEnd(width)}${f.help}`),
    '',
    'Examples:',
    ...command.examples.map((e) => `  ${e}`),
  ];
  return lines.join('\n');
}

function flagLabel(f: FlagSpec): string {
  const value = { string: ' <s>', int: ' <n>', number: ' <x>', boolean: '', numbers: ' <x,x,..>', size: ' <HxW>', list: ' <a,b,..>' }[
    f.type
  ];
  return `${f.short ? `-${f.short}, ` : ''}--${f.flag}${value}`;
}

/** Parses `HxW` into a size. */
export function parseSize(flag: string, text: string): { height: number; width: number } {
  const m = /^(\d+)x(\d+)$/i.exec(text.trim());
  if (!m) throw new AppError('USAGE', `--${flag} expects HxW (e.g. 224x512), got "${text.slice(0, 80)}".`);
  return { height: Number(m[1]), width: Number(m[2]) };
}

function convert(spec: FlagSpec, raw: string | boolean): unknown {
  if (spec.type === 'boolean') return raw === true;
  const text = String(raw);
  const number = (t: string) => {
    const n = Number(t);
    if (t.trim() === '' || !Number.isFinite(n)) {
      throw new AppError('USAGE', `--${spec.flag} expects a number, got "${t.slice(0, 80)}".`);
    }
    return n;
  };
  switch (spec.type) {
    case 'string':
      return text;
    case 'int':
    case 'number': {
      const n = number(text);
      if (spec.type === 'int' && !Number.isInteger(n)) throw new AppError('USAGE', `--${spec.flag} expects a whole number, got "${text}".`);
      return n;
    }
    case 'numbers':
      return text.split(',').map(number);
    case 'list':
      return text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    case 'size':
      if (spec.flag === 'crop' && text === 'none') return null;
      return parseSize(spec.flag, text);
  }
}

function setPath(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== 'object' || next === null) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  const last = parts.at(-1)!;
  const prev = node[last];
  node[last] =
    typeof prev === 'object' && prev !== null && typeof value === 'object' && value !== null && !Array.isArray(value)
      ? { ...prev, ...value }
      : value;
}

/** Parsed command line: typed flag values by flag name, config overrides by config key, positionals. */
export interface ParsedArgs {
  values: Record<string, unknown>;
  config: Record<string, unknown>;
  positionals: string[];
  help: boolean;
}

/**
 * Parses argv for one command. Unknown flags, missing values and badly typed values are USAGE errors naming the flag.
 * Flags listed in CONFIG_FLAGS are also returned as nested config overrides.
 */
export function parseCommandArgs(command: CommandSpec, argv: string[]): ParsedArgs {
  const options: ParseArgsConfig['options'] = {};
  for (const f of [...command.flags, HELP_FLAG]) {
    options[f.flag] = { type: f.type === 'boolean' ? 'boolean' : 'string', ...(f.short ? { short: f.short } : {}) };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, '.');
    throw new AppError('USAGE', `${message} Run "${command.name} --help" for the options.`, { cause: error });
  }
  if (!command.positionals && parsed.positionals.length > 0) {
    throw new AppError('USAGE', `Unexpected argument "${parsed.positionals[0]}". Run "${command.name} --help" for the options.`);
  }
  const values: Record<string, unknown> = {};
  const config: Record<string, unknown> = {};
  for (const f of command.flags) {
    const raw = parsed.values[f.flag];
    if (raw === undefined || Array.isArray(raw)) continue;
    const value = convert(f, raw);
    values[f.flag] = value;
    if (CONFIG_FLAGS.includes(f)) setPath(config, f.key ?? f.flag, value);
  }
  return { values, config, positionals: parsed.positionals, help: parsed.values['help'] === true };
}
