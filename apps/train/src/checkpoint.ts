import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import type { Replan } from './budget.ts';
import { AppError } from './errors.ts';
import { faultPointSync } from './fault.ts';
import { writeDirAtomic } from './run-dir.ts';

type NamedTensor = { name: string; tensor: tf.Tensor };

/** What a model is, so a checkpoint is never loaded into a different network. */
export interface ModelIdentity {
  architecture: string;
  encoder: string;
  inChannels: number;
  classes: number;
  /** The model has a classification head (a second output); absent means none. */
  classificationHead?: boolean;
}

/** Training progress stored with a checkpoint. */
export interface TrainState {
  epoch: number;
  /** Optimizer updates done in the current epoch. */
  stepInEpoch: number;
  /** Global optimizer updates done. */
  step: number;
  lr: number;
  /** Random state: everything random derives from (seed, epoch, step), so this is the whole state. */
  rng: { seed: number; epoch: number; step: number };
  /** The schedule's state: the plateau's learning rate and counters, and the anchor of the last re-plan (`anchorSchedule`). */
  schedule: Record<string, number>;
  /**
   * The steps of each epoch when a time budget plans them again during the run: the finished epochs as they were trained,
   * the current and later ones as last planned (their sum is the schedule's total). Absent: every epoch runs the config's
   * steps per epoch. Epochs past its end (a resume with more `--epochs`) run the config's.
   */
  epochSteps?: number[];
  /** The time budget's re-plans so far, in order. */
  replans?: Replan[];
  best: { value: number; epoch: number; loss?: number } | null;
  history: EpochRecord[];
  /** Sum of step losses so far in the current epoch (the epoch's mean train loss survives a resume). */
  epochLossSum: number;
}

/** One epoch's summary (also a line of the run log). */
export interface EpochRecord {
  epoch: number;
  step: number;
  trainLoss: number;
  valLoss: number;
  valDice: number;
  valDicePerClass: number[];
  lr: number;
  seconds: number;
}

interface Manifest {
  identity: ModelIdentity;
  weights: { name: string; shape: number[] }[];
  /** Specs of the weight file, in the order of `model.weights`. */
  specs: tf.io.WeightsManifestEntry[];
  /** The weight file; default weights.bin. */
  file?: string;
}

const shape = z.array(z.number().int().nonnegative());
const manifestSchema = z.object({
  identity: z.object({
    architecture: z.string(),
    encoder: z.string(),
    inChannels: z.number().int().positive(),
    classes: z.number().int().positive(),
    classificationHead: z.boolean().optional(),
  }),
  weights: z.array(z.object({ name: z.string(), shape })),
  specs: z.array(z.looseObject({ name: z.string(), shape, dtype: z.enum(['float32', 'int32', 'bool']) })),
  file: z.string().regex(/^[\w.-]+$/, 'a file name in the same folder').optional(),
});

/**
 * Reads and checks the weights.json of a model folder, or undefined when there is none.
 * @throws {AppError} CHECKPOINT naming the file when it is not JSON or not a weights manifest.
 */
function readManifest(dir: string): Manifest | undefined {
  const path = join(dir, 'weights.json');
  if (!existsSync(path)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new AppError('CHECKPOINT', `${path} is not valid JSON (${(error as Error).message}); the model folder is damaged. Use the run's checkpoint/ or retrain.`, { cause: error });
  }
  const result = manifestSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new AppError('CHECKPOINT', `${path}: ${issue.path.join('.') || '(top level)'}: ${issue.message}; not a weights manifest written by steel.`);
  }
  return result.data as Manifest;
}

function encodeNamed(tensors: NamedTensor[]): Promise<{ data: ArrayBuffer; specs: tf.io.WeightsManifestEntry[] }> {
  return tf.io.encodeWeights(tensors) as Promise<{ data: ArrayBuffer; specs: tf.io.WeightsManifestEntry[] }>;
}

/** The model's weights (trainable and not, e.g. batch-norm statistics) in a fixed order, for saving. */
async function encodeModel(model: LayersModel, identity: ModelIdentity) {
  const weights = model.weights.map((w, i) => ({ name: `w${i}`, tensor: w.read(), original: w.originalName, shape: w.shape }));
  const { data, specs } = await encodeNamed(weights.map(({ name, tensor }) => ({ name, tensor })));
  const manifest: Manifest = { identity, weights: weights.map((w) => ({ name: w.original, shape: w.shape as number[] })), specs };
  return { data: new Uint8Array(data), manifest };
}

/** The shape of a model's weights, for the mismatch message. */
function describe(identity: ModelIdentity): string {
  return `${identity.architecture}-${identity.encoder} with ${identity.inChannels} input channel(s) and ${identity.classes} classes${identity.classificationHead ? ' and a classification head' : ''}`;
}

/**
 * Loads weights written by `saveCheckpoint` / `saveModelWeights` into a model built with `identity`.
 * @throws {AppError} CHECKPOINT when the files are missing, or were written by a different architecture.
 */
export function loadModelWeights(model: LayersModel, dir: string, identity: ModelIdentity): void {
  const manifest = readManifest(dir);
  if (manifest === undefined) {
    throw new AppError('CHECKPOINT', `No model weights in ${dir} (weights.json missing). Point to a run folder, its best/ or checkpoint/ folder.`);
  }
  const same =
    manifest.identity.architecture === identity.architecture &&
    manifest.identity.encoder === identity.encoder &&
    manifest.identity.inChannels === identity.inChannels &&
    manifest.identity.classes === identity.classes &&
    (manifest.identity.classificationHead ?? false) === (identity.classificationHead ?? false);
  const shapesMatch =
    manifest.weights.length === model.weights.length &&
    manifest.weights.every((w, i) => w.shape.join('x') === model.weights[i]!.shape.join('x'));
  if (!same || !shapesMatch) {
    throw new AppError(
      'CHECKPOINT',
      `The checkpoint in ${dir} holds a ${describe(manifest.identity)}, but the model asked for is a ${describe(identity)}` +
        (same ? ' with different weight shapes' : '') +
        `. Use the same --architecture/--encoder/--in-channels as the run that wrote it, or start a new run.`,
    );
  }
  const weightFile = join(dir, manifest.file ?? 'weights.bin');
  const specsMatch =
    manifest.specs.length === model.weights.length &&
    manifest.specs.every((spec, i) => spec.shape.join('x') === model.weights[i]!.shape.join('x')) &&
    new Set(manifest.specs.map((spec) => spec.name)).size === manifest.specs.length;
  if (!specsMatch) throw new AppError('CHECKPOINT', `${join(dir, 'weights.json')}: its specs do not describe the model's ${model.weights.length} weights; the model folder is damaged.`);
  if (!existsSync(weightFile)) throw new AppError('CHECKPOINT', `${weightFile} is missing; the model folder is incomplete.`);
  const buffer = readFileSync(weightFile);
  if (buffer.byteLength !== expectedBytes(manifest.specs)) {
    throw new AppError('CHECKPOINT', `${weightFile} holds ${buffer.byteLength} bytes, expected ${expectedBytes(manifest.specs)} from weights.json; the file is truncated or damaged.`);
  }
  const tensors = tf.io.decodeWeights(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength), manifest.specs);
  // Specs are in the order of model.weights, whatever their names.
  model.weights.forEach((w, i) => w.write(tensors[manifest.specs[i]!.name]!));
  tf.dispose(Object.values(tensors));
}

/** Reads the identity recorded with saved weights. @throws {AppError} CHECKPOINT when weights.json is damaged. */
export function readIdentity(dir: string): ModelIdentity | undefined {
  return readManifest(dir)?.identity;
}

/** Adam's private bias-correction accumulators; restoring them keeps a resumed run bit-identical. */
interface AdamInternals {
  accBeta1?: tf.Variable;
  accBeta2?: tf.Variable;
}

/**
 * Saves a model into `dir` atomically in the standard tfjs layers format (model.json + one weight shard, so a browser can
 * `tf.loadLayersModel` it), plus weights.json naming the network, and extra files.
 */
export async function saveModelDir(
  dir: string,
  model: LayersModel,
  identity: ModelIdentity,
  extra: Record<string, string | Uint8Array> = {},
): Promise<void> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (artifacts?.weightData === undefined || artifacts.weightSpecs === undefined) {
    throw new Error('tfjs returned no weights when saving the model');
  }
  const weightData = artifacts.weightData instanceof ArrayBuffer ? artifacts.weightData : tf.io.concatenateArrayBuffers(artifacts.weightData);
  const shard = 'group1-shard1of1.bin';
  const manifest: Manifest = {
    identity,
    weights: model.weights.map((w) => ({ name: w.originalName, shape: w.shape as number[] })),
    specs: artifacts.weightSpecs,
    file: shard,
  };
  writeDirAtomic(dir, {
    'model.json': JSON.stringify({
      format: 'layers-model',
      generatedBy: 'steel train',
      modelTopology: artifacts.modelTopology,
      weightsManifest: [{ paths: [shard], weights: artifacts.weightSpecs }],
    }),
    [shard]: new Uint8Array(weightData),
    'weights.json': JSON.stringify(manifest),
    ...extra,
  });
}

/** Saves a full training checkpoint: model, optimizer state, training state. Atomic. */
export async function saveCheckpoint(
  dir: string,
  model: LayersModel,
  optimizer: tf.Optimizer,
  identity: ModelIdentity,
  state: TrainState,
): Promise<void> {
  const optWeights = await optimizer.getWeights();
  const internals = optimizer as unknown as AdamInternals;
  const extraTensors: NamedTensor[] = [];
  if (internals.accBeta1 && internals.accBeta2) {
    extraTensors.push({ name: '__accBeta1', tensor: internals.accBeta1 }, { name: '__accBeta2', tensor: internals.accBeta2 });
  }
  const named = [...optWeights, ...extraTensors].map((w, i) => ({ name: `o${i}`, tensor: w.tensor }));
  // getWeights() makes a new scalar for the iteration count (the rest are the optimizer's own variables).
  const encoded = await encodeNamed(named).finally(() => tf.dispose(optWeights.filter((w) => w.name === 'iter').map((w) => w.tensor)));
  const { data, specs } = encoded;
  const optManifest: OptimizerManifest = {
    names: [...optWeights, ...extraTensors].map((w) => w.name),
    count: optWeights.length,
    specs,
  };
  const { data: modelData, manifest } = await encodeModel(model, identity);
  writeDirAtomic(
    dir,
    {
      'weights.json': JSON.stringify(manifest),
      'weights.bin': modelData,
      'optimizer.json': JSON.stringify(optManifest),
      'optimizer.bin': new Uint8Array(data),
      'state.json': JSON.stringify(state, null, 2),
    },
    (phase) => faultPointSync(`checkpoint-${phase}`, state.step),
  );
}

interface OptimizerManifest {
  names: string[];
  count: number;
  specs: tf.io.WeightsManifestEntry[];
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

/** Bytes a weight file described by `specs` must hold. */
function expectedBytes(specs: readonly tf.io.WeightsManifestEntry[]): number {
  return specs.reduce((sum, s) => sum + s.shape.reduce((a, b) => a * b, 1) * (DTYPE_BYTES[s.dtype] ?? 4), 0);
}

/** Reads a JSON file of a checkpoint; undefined when it is missing or not JSON. */
function readJsonFile<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** What is wrong with a checkpoint folder (a missing, unreadable or short file), or undefined when it is complete. */
export function checkpointProblem(dir: string): string | undefined {
  if (!existsSync(dir)) return 'is missing';
  for (const file of ['state.json', 'weights.json', 'optimizer.json']) {
    if (readJsonFile(join(dir, file)) === undefined) return `has no readable ${file}`;
  }
  const pairs: [string, string][] = [
    ['weights.json', (readJsonFile<Manifest>(join(dir, 'weights.json'))!.file ?? 'weights.bin')],
    ['optimizer.json', 'optimizer.bin'],
  ];
  for (const [manifestFile, binFile] of pairs) {
    const specs = readJsonFile<{ specs?: tf.io.WeightsManifestEntry[] }>(join(dir, manifestFile))!.specs ?? [];
    const bin = join(dir, binFile);
    const want = expectedBytes(specs);
    const have = existsSync(bin) ? statSync(bin).size : -1;
    if (have !== want) return have < 0 ? `has no ${binFile}` : `has a ${binFile} of ${have} bytes where ${want} were written`;
  }
  return undefined;
}

/**
 * The checkpoint folder to resume from: `dir`, or `<dir>.old` when a crash during a save left `dir` missing or incomplete
 * (the user is told through `log`).
 * @throws {AppError} CHECKPOINT when neither is complete.
 */
export function findCheckpoint(dir: string, log: (line: string) => void = () => {}): string {
  if (existsSync(`${dir}.tmp`)) log(`Ignoring ${dir}.tmp: a save was interrupted before it finished.`);
  const problem = checkpointProblem(dir);
  if (problem === undefined) return dir;
  const old = `${dir}.old`;
  const oldProblem = existsSync(old) ? checkpointProblem(old) : 'is missing';
  if (oldProblem === undefined) {
    log(`The checkpoint in ${dir} ${problem} (a crash interrupted its save); resuming from the previous one in ${old}.`);
    return old;
  }
  if (problem === 'is missing' && !existsSync(old)) {
    throw new AppError('CHECKPOINT', `No checkpoint in ${dir}. The run has not saved one yet; start it again without --resume.`);
  }
  throw new AppError(
    'CHECKPOINT',
    `The checkpoint in ${dir} ${problem}, and ${old} ${oldProblem}. Nothing complete is left to resume from; start a new run.`,
  );
}

/**
 * Restores model, optimizer and state from a checkpoint folder, or from its `.old` twin when a crash interrupted the last
 * save (said through `log`).
 */
export async function loadCheckpoint(
  dir: string,
  model: LayersModel,
  optimizer: tf.Optimizer,
  identity: ModelIdentity,
  log?: (line: string) => void,
): Promise<TrainState> {
  const found = findCheckpoint(dir, log);
  loadModelWeights(model, found, identity);
  const optManifest = JSON.parse(readFileSync(join(found, 'optimizer.json'), 'utf8')) as OptimizerManifest;
  const buffer = readFileSync(join(found, 'optimizer.bin'));
  const decoded = tf.io.decodeWeights(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength), optManifest.specs);
  const list = optManifest.names.map((name, i) => ({ name, tensor: decoded[`o${i}`]! }));
  if (optManifest.count > 0) await optimizer.setWeights(list.slice(0, optManifest.count));
  const internals = optimizer as unknown as AdamInternals;
  for (const extra of list.slice(optManifest.count)) {
    if (extra.name === '__accBeta1') internals.accBeta1?.assign(extra.tensor);
    if (extra.name === '__accBeta2') internals.accBeta2?.assign(extra.tensor);
  }
  // setWeights copied the moment tensors into new variables; the decoded ones can go.
  tf.dispose(list.map((w) => w.tensor));
  return JSON.parse(readFileSync(join(found, 'state.json'), 'utf8')) as TrainState;
}
