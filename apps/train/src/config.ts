import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { AppError } from './errors.ts';
import { BACKEND_NAMES } from './names.ts';

/** Image height and width in pixels, written `HxW` on the command line (`224x512`). */
const size = z.object({ height: z.number().int().positive(), width: z.number().int().positive() });
export type Size = z.infer<typeof size>;

const schedule = z.enum(['constant', 'one-cycle', 'cosine', 'plateau']);
export const OPTIMIZERS = ['adam', 'sgd', 'rmsprop'] as const;
/** `--engine` values: what runs inference. */
export const ENGINES = ['auto', 'tfjs', 'onnxruntime'] as const;
/** `--device` values of the onnxruntime engine. */
export const DEVICES = ['cpu', 'cuda', 'tensorrt'] as const;

/**
 * The training configuration. Every optional key has a default, so `{}` is a valid config (the `default` preset fills
 * in the main job's values on top).
 */
export const trainConfigSchema = z
  .object({
    name: z.string().regex(/^[\w.-]+$/, 'letters, digits, ".", "-" and "_" only').optional(),
    runsDir: z.string().default('runs'),
    data: z.string().default('synthetic').describe('a Kaggle-layout folder, or "synthetic" for the cached synthetic dataset'),
    synthetic: z
      .object({
        count: z.number().int().positive().default(320),
        testCount: z.number().int().nonnegative().default(64),
        height: z.number().int().positive().default(64),
        width: z.number().int().positive().default(400),
        seed: z.number().int().default(1),
      })
      .prefault({}),
    architecture: z.string().default('unet'),
    encoder: z.string().default('resnet18'),
    inChannels: z.union([z.literal(1), z.literal(3)]).default(1),
    pretrained: z.string().optional().describe('a .safetensors file with encoder or full-model weights'),
    initFrom: z.string().optional().describe('a model folder (a run\'s best/) whose weights start the run (lovasz-finetune)'),
    headBias: z.number().finite().default(0).describe('initial bias of the segmentation head logits (e.g. -4: a 2% defect prior)'),
    bnRecalibration: z
      .number()
      .int()
      .nonnegative()
      .default(8)
      .describe('training batches that recompute the batch-norm statistics before each validation (0: off)'),
    classificationHead: z
      .boolean()
      .default(false)
      .describe('add a classification head (per-class "image holds this class" logits) for the empty-image gates'),
    classLossWeight: z.number().nonnegative().default(0.2).describe('weight of the classification head loss next to the segmentation loss'),
    loss: z.string().default('bce'),
    posWeight: z.array(z.number().positive()).default([2, 2, 1, 1.5]),
    optimizer: z.enum(OPTIMIZERS).default('adam'),
    lr: z.number().positive().default(3e-4),
    schedule: schedule.default('constant'),
    patience: z.number().int().positive().default(4),
    factor: z.number().positive().lt(1).default(0.5),
    epochs: z.number().int().positive().default(2),
    steps: z.number().int().positive().optional().describe('steps per epoch; default: one pass over the training images'),
    batchSize: z.number().int().positive().default(4),
    accumulate: z.number().int().positive().default(1),
    scale: z.number().positive().max(1).default(1),
    crop: size.nullable().default(null),
    augment: z.enum(['reference', 'flips', 'none']).default('reference'),
    onlyDefective: z.boolean().default(false),
    hardNegatives: z.string().optional(),
    maxImages: z.number().int().positive().optional(),
    valFraction: z.number().gt(0).lt(1).default(0.2),
    folds: z.number().int().min(2).optional(),
    fold: z.number().int().nonnegative().default(0),
    bestBy: z.enum(['loss', 'dice']).default('loss'),
    threshold: z.number().gt(0).lt(1).default(0.5),
    minArea: z.array(z.number().int().nonnegative()).default([0, 0, 0, 0]),
    tune: z.boolean().default(false).describe('tune post-processing on the validation images after training (tuned.json)'),
    budgetMinutes: z.number().positive().optional().describe('start: fit training into this wall-clock budget'),
    checkpointEvery: z.number().int().positive().default(10),
    backend: z.enum(BACKEND_NAMES).default('auto'),
    engine: z.enum(ENGINES).default('auto').describe('what runs inference: auto (onnxruntime when installed), tfjs or onnxruntime'),
    device: z.enum(DEVICES).default('cpu').describe('device of the onnxruntime engine: cpu, cuda or tensorrt'),
    threads: z.number().int().positive().optional(),
    seed: z.number().int().default(42),
    samples: z.number().int().nonnegative().default(6).describe('overlay images in report.html'),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.folds !== undefined && config.fold >= config.folds) {
      ctx.addIssue({ code: 'custom', path: ['fold'], message: `fold must be below folds (${config.folds}), got ${config.fold}` });
    }
  });

export type TrainConfig = z.infer<typeof trainConfigSchema>;
export type TrainConfigInput = z.input<typeof trainConfigSchema>;

/** The original competition recipe shared by the two reference presets. */
const REFERENCE_RECIPE = {
  data: 'synthetic',
  synthetic: { count: 2000, testCount: 400, height: 256, width: 1600 },
  encoder: 'resnet34',
  inChannels: 3,
  posWeight: [2, 2, 1, 1.5],
  optimizer: 'adam',
  lr: 3e-4,
  schedule: 'plateau',
  patience: 4,
  epochs: 40,
  batchSize: 12,
  accumulate: 2,
  crop: { height: 224, width: 512 },
  bestBy: 'loss',
  threshold: 0.5,
  minArea: [600, 600, 900, 2000],
} satisfies TrainConfigInput;

/**
 * Presets. `default` is the main job scaled to a 2-core CPU: UNet-ResNet18 on 1-channel 64x400 synthetic images trained
 * at half scale (32x200, padded to 32x224), with the steps fitted into a 9-minute budget and post-processing tuned on the
 * validation images.
 * The reference presets are the original recipe (Adam 3e-4, batch 12 accumulated to 24, crops 224x512, plateau patience 4,
 * best model by validation loss, validation on full images).
 * `neu-seg` trains UNet-ResNet18 on a NEU-Seg folder converted by `import` (`--data` required): the 200x200 images at
 * 64x64, with a classification head for the empty-image gates, the steps fitted into a 14-minute budget (which `train`
 * honours for this preset), post-processing and gates tuned on the dataset's validation images.
 */
export const PRESETS = {
  default: {
    data: 'synthetic',
    architecture: 'unet',
    encoder: 'resnet18',
    inChannels: 1,
    // A 2% defect prior: the first steps learn features, not the bias.
    headBias: -3.9,
    loss: 'bce',
    lr: 3e-3,
    schedule: 'cosine',
    epochs: 4,
    batchSize: 16,
    scale: 0.5,
    // Crops of the 32x200 half-scale images, half of them centred on a defect: more defect pixels per step than whole images.
    crop: { height: 32, width: 96 },
    augment: 'flips',
    bnRecalibration: 8,
    bestBy: 'loss',
    threshold: 0.5,
    // The reference minimum areas [600, 600, 900, 2000] scaled from 256x1600 to the 64x400 synthetic images.
    minArea: [38, 38, 56, 125],
    tune: true,
    budgetMinutes: 9,
  },
  'reference-unet-r34': { ...REFERENCE_RECIPE, architecture: 'unet', loss: 'bce' },
  'reference-fpn-r34': { ...REFERENCE_RECIPE, architecture: 'fpn', loss: 'bce-weighted-dice' },
  'neu-seg': {
    // --data is required (PRESET_NEEDS): a NEU-Seg folder converted by `import`, 3 classes, 200x200 images.
    architecture: 'unet',
    encoder: 'resnet18',
    inChannels: 1,
    headBias: -2.5,
    // Per-class image-level logits for the empty-image gate that `tune` fits, and BCE + weighted Dice: in 100-step trials
    // (apps/train/README.md) the pair had the best tuned scores, and the Dice term the best raw pixel scores (thin
    // inclusions: the gate clears the false masks that the Dice term's recall brings).
    classificationHead: true,
    loss: 'bce-weighted-dice',
    posWeight: [1, 1, 1],
    lr: 3e-3,
    schedule: 'cosine',
    // One validation at the end: the steps an epoch's validation of the 894 images would cost go to training instead.
    epochs: 1,
    batchSize: 16,
    // 200x200 images area-resized to 64x64 and trained whole.
    scale: 0.32,
    crop: { height: 64, width: 64 },
    augment: 'flips',
    bnRecalibration: 8,
    bestBy: 'loss',
    threshold: 0.5,
    minArea: [0, 0, 0],
    tune: true,
    budgetMinutes: 14,
    // A checkpoint holds the model and Adam's moments (~164 MB): every 50 steps instead of 10 keeps the steps for training;
    // Ctrl-C still saves one.
    checkpointEvery: 50,
  },
} satisfies Record<string, TrainConfigInput>;
export type PresetName = keyof typeof PRESETS;

/**
 * Config keys a preset cannot do without, each with its flag and what it expects; {@link resolveTrainConfig} refuses the
 * preset when one is given neither by flag nor in the `--config` file.
 */
export const PRESET_NEEDS: Partial<Record<PresetName, readonly { key: keyof TrainConfigInput; flag: string; expected: string }[]>> = {
  'neu-seg': [
    {
      key: 'data',
      flag: '--data',
      expected: 'the folder of a NEU-Seg dataset converted by "import --from <NEU-Seg folder> --out <folder>"',
    },
  ],
};

/** Looks a preset up by name; the error lists the valid names. */
export function getPreset(name: string): TrainConfigInput {
  if (!Object.hasOwn(PRESETS, name)) {
    throw new AppError(
      'UNKNOWN_NAME',
      `Unknown preset "${name.slice(0, 80)}". Expected one of: ${Object.keys(PRESETS).join(', ')}.`,
    );
  }
  return PRESETS[name as PresetName];
}

/** Reads a JSON config file; the error names the file and what is wrong. */
export function readConfigFile(path: string): Record<string, unknown> {
  if (!existsSync(path)) throw new AppError('CONFIG', `Config file ${path} does not exist. Check the --config path.`);
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new AppError('CONFIG', `Config file ${path} is not valid JSON: ${(error as Error).message}. Fix the file.`, {
      cause: error,
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AppError('CONFIG', `Config file ${path} must hold a JSON object, got ${Array.isArray(value) ? 'an array' : typeof value}.`);
  }
  return value as Record<string, unknown>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep-merges plain objects; later sources win, arrays and scalars are replaced. */
export function mergeConfig(...sources: Record<string, unknown>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const source of sources) {
    for (const [key, value] of Object.entries(source)) {
      if (value === undefined) continue;
      const prev = Object.hasOwn(out, key) ? out[key] : undefined;
      // Defined, not assigned: a "__proto__" key stays a key (which the schema rejects) instead of setting the prototype.
      const merged = isPlainObject(prev) && isPlainObject(value) ? mergeConfig(prev, value) : value;
      Object.defineProperty(out, key, { value: merged, enumerable: true, writable: true, configurable: true });
    }
  }
  return out;
}

/**
 * Validates a config object with the schema; on failure throws a CONFIG error whose message is `z.prettifyError`'s
 * listing (exit code 2).
 */
export function parseTrainConfig(input: unknown, source = 'configuration'): TrainConfig {
  const result = trainConfigSchema.safeParse(input);
  if (!result.success) {
    throw new AppError('CONFIG', `Invalid ${source}:\n${z.prettifyError(result.error)}`);
  }
  return result.data;
}

/**
 * Reads and validates a run folder's `config.json`.
 * @throws {AppError} CHECKPOINT when the file is not valid JSON; CONFIG when a value is invalid.
 */
export function readRunConfig(path: string, label: string): TrainConfig {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new AppError('CHECKPOINT', `${path} is not valid JSON (${(error as Error).message}); the run folder is damaged. Start a new run.`, { cause: error });
  }
  return parseTrainConfig(value, label);
}

/**
 * Preset, then config file, then flags, validated.
 * @throws {AppError} USAGE when a key the preset needs ({@link PRESET_NEEDS}) is missing; CONFIG when a value is invalid.
 */
export function resolveTrainConfig(options: {
  preset?: string | undefined;
  configFile?: string | undefined;
  flags?: Record<string, unknown>;
}): TrainConfig {
  const presetName = options.preset ?? 'default';
  const preset = getPreset(presetName);
  const file = options.configFile === undefined ? {} : readConfigFile(options.configFile);
  for (const need of PRESET_NEEDS[presetName as PresetName] ?? []) {
    if (options.flags?.[need.key] === undefined && file[need.key] === undefined) {
      const where = options.configFile === undefined ? '' : ` (or "${need.key}" in ${options.configFile})`;
      throw new AppError('USAGE', `--preset ${presetName} needs ${need.flag}${where}: ${need.expected}.`);
    }
  }
  const source = options.configFile === undefined ? 'configuration' : `configuration (${options.configFile} over the preset, then the flags)`;
  return parseTrainConfig(mergeConfig(preset, file, options.flags ?? {}), source);
}

/** Checks that a model input size is a multiple of 32, naming the nearest valid sizes. */
export function checkMultipleOf32(what: string, value: Size): void {
  const bad = (n: number) => n % 32 !== 0;
  if (bad(value.height) || bad(value.width)) {
    const near = (n: number) => Math.max(32, Math.round(n / 32) * 32);
    throw new AppError(
      'BAD_SIZE',
      `${what} must have height and width divisible by 32, got ${value.height}x${value.width}. ` +
        `Use ${near(value.height)}x${near(value.width)} instead.`,
    );
  }
}

/** Rounds up to the next multiple of 32 (model inputs are padded to this). */
export const padTo32 = (n: number): number => Math.ceil(n / 32) * 32;
