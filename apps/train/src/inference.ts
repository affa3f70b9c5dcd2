// Loading trained models (run folders, model folders, .onnx files) and turning them into @steel/inference predictors.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { DecodedImage } from '@steel/data';
import { createPredictor, type InferenceEngine, type Normalization, type Predictor } from '@steel/inference';
import { loadModelWeights, readIdentity, type ModelIdentity } from './checkpoint.ts';
import { parseTrainConfig, readConfigFile, type TrainConfig } from './config.ts';
import { createEngine, type DeviceName, type EngineChoice } from './engines.ts';
import { AppError } from './errors.ts';
import { parseOnnxMetadata, STEEL_NORMALIZATION } from './onnx-metadata.ts';
import { resolveAtomicDir } from './run-dir.ts';
import { buildModel, checkModelNames } from './builders.ts';

/** A trained model ready to predict: a tfjs model (run or model folder) or the bytes of an .onnx file. */
export interface Member {
  path: string;
  /** The tfjs model; undefined for an .onnx file. */
  model: LayersModel | undefined;
  /** The .onnx file's bytes; undefined for a tfjs model (exported in memory when the onnxruntime engine needs it). */
  onnx: Uint8Array | undefined;
  identity: ModelIdentity;
  /** Image scale the model was trained at. */
  scale: number;
  normalization: Normalization;
  /** The run's config when the model came from a run folder. */
  config: TrainConfig | undefined;
}

/** Reads an .onnx file as a member (its metadata says how to feed it). */
async function loadOnnxMember(path: string, expect?: Partial<ModelIdentity>): Promise<Member> {
  const { describeOnnxModel } = await import('@steel/onnx');
  const bytes = new Uint8Array(readFileSync(path));
  let description: ReturnType<typeof describeOnnxModel>;
  try {
    description = describeOnnxModel(bytes);
  } catch (error) {
    throw new AppError('CHECKPOINT', `${path} is not a usable ONNX model: ${(error as Error).message}`, { cause: error });
  }
  const input = description.inputs[0]?.shape ?? [];
  const output = (description.outputs.find((o) => o.name === 'logits') ?? description.outputs[0])?.shape ?? [];
  const fixed = (d: unknown) => (typeof d === 'number' && d > 0 ? d : undefined);
  const meta = parseOnnxMetadata(description.metadata, { inChannels: fixed(input[1]), classes: fixed(output[1]) }, path);
  if (meta.inChannels === undefined || meta.classes === undefined) {
    throw new AppError('CHECKPOINT', `${path}: expected an ONNX model with input [N, C, H, W] and output [N, classes, H, W] (or steel metadata), got input [${input.join(', ')}] and output [${output.join(', ')}].`);
  }
  const identity: ModelIdentity = {
    architecture: meta.architecture ?? 'onnx',
    encoder: meta.encoder ?? 'onnx',
    inChannels: meta.inChannels,
    classes: meta.classes,
  };
  for (const key of ['inChannels', 'classes'] as const) {
    if (expect?.[key] !== undefined && expect[key] !== identity[key]) {
      throw new AppError('CHECKPOINT', `${path} has ${identity[key]} ${key === 'classes' ? 'classes' : 'input channels'}, expected ${expect[key]}.`);
    }
  }
  const config = parseTrainConfig(
    {
      inChannels: identity.inChannels === 3 ? 3 : 1,
      scale: Math.min(1, meta.scale),
      ...(meta.threshold === undefined ? {} : { threshold: meta.threshold }),
      ...(meta.minArea === undefined ? {} : { minArea: meta.minArea }),
    },
    `metadata of ${path}`,
  );
  return { path, model: undefined, onnx: bytes, identity, scale: meta.scale, normalization: meta.normalization, config };
}

/**
 * Loads a model from a run folder (its best/ model, else its last checkpoint), a model folder (weights.json) or an .onnx file.
 * @throws {AppError} CHECKPOINT when there is no model there, or the .onnx file is corrupt.
 */
export async function loadMember(path: string, expect?: Partial<ModelIdentity>): Promise<Member> {
  const root = resolve(path);
  if (!existsSync(root)) throw new AppError('CHECKPOINT', `Model path ${path} does not exist. Pass a run folder (runs/<name>), its best/ folder or an .onnx file.`);
  if (statSync(root).isFile()) {
    if (!/\.onnx$/i.test(root)) throw new AppError('CHECKPOINT', `Model path ${path} is a file but not an .onnx file. Pass a run folder (runs/<name>), its best/ folder or an .onnx file.`);
    return loadOnnxMember(path, expect);
  }
  let modelDir: string | undefined;
  let configPath: string | undefined;
  if (existsSync(join(root, 'config.json'))) {
    configPath = join(root, 'config.json');
    modelDir = resolveAtomicDir(join(root, 'best')) ?? resolveAtomicDir(join(root, 'checkpoint'));
  } else if (existsSync(join(root, 'weights.json'))) {
    modelDir = root;
    if (existsSync(join(root, '..', 'config.json'))) configPath = join(root, '..', 'config.json');
  }
  if (modelDir === undefined) {
    throw new AppError('CHECKPOINT', `No trained model in ${path}: expected a run folder with best/ or checkpoint/, or a folder with weights.json.`);
  }
  const identity = readIdentity(modelDir);
  if (identity === undefined) throw new AppError('CHECKPOINT', `No weights.json in ${modelDir}; the model folder is incomplete.`);
  const config = configPath ? parseTrainConfig(readConfigFile(configPath), configPath) : undefined;
  // The network asked for on the command line (if any) must be the one in the checkpoint.
  const wanted: ModelIdentity = { ...identity, ...(expect ?? {}) };
  const base = config ?? parseTrainConfig({});
  const modelConfig = {
    ...base,
    architecture: wanted.architecture,
    encoder: wanted.encoder,
    inChannels: wanted.inChannels as 1 | 3,
    classificationHead: wanted.classificationHead ?? false,
  };
  checkModelNames(modelConfig);
  const model = await buildModel(modelConfig, wanted.classes);
  try {
    loadModelWeights(model, modelDir, wanted);
  } catch (error) {
    model.dispose();
    throw error;
  }
  return { path, model, onnx: undefined, identity, scale: config?.scale ?? 1, normalization: STEEL_NORMALIZATION, config };
}

/** The ONNX bytes of a member: its file, or its tfjs model exported in memory (with the metadata `export` writes). */
export async function onnxBytesOf(member: Member): Promise<Uint8Array> {
  if (member.onnx !== undefined) return member.onnx;
  const { exportOnnx } = await import('@steel/onnx');
  const { onnxMetadata } = await import('./commands/export.ts');
  return exportOnnx(member.model!, { metadata: onnxMetadata(member) });
}

/** Options of {@link createAppPredictor}. */
export interface PredictorOptions {
  weights?: readonly number[] | undefined;
  tta?: readonly string[] | undefined;
  /** Classes of the data; every model must predict these. */
  classes?: number | undefined;
}

/** Engines of the members for a chosen engine kind (ONNX Runtime sessions are created here). */
export async function createEngines(members: readonly Member[], choice: EngineChoice, options: { device: DeviceName; threads: number | undefined }): Promise<InferenceEngine[]> {
  const engines: InferenceEngine[] = [];
  for (const m of members) {
    const bytes = choice.kind === 'onnxruntime' ? await onnxBytesOf(m) : undefined;
    engines.push(await createEngine(choice, { path: m.path, tfjs: m.model, onnx: () => bytes!, inChannels: m.identity.inChannels, classes: m.identity.classes }, options));
  }
  return engines;
}

/** The predictor of an ensemble (weighted mean of the members, each with optional TTA), on the engines given. */
export function createAppPredictor(members: readonly Member[], engines: readonly InferenceEngine[], options: PredictorOptions = {}): Predictor {
  checkMembers(members, options.weights);
  return createPredictor(
    members.map((m, i) => ({
      engine: engines[i]!,
      scale: m.scale,
      normalization: m.normalization,
      name: m.path,
      ...(options.weights === undefined ? {} : { weight: options.weights[i]! }),
    })),
    { tta: options.tta ?? [], ...(options.classes === undefined ? {} : { classes: options.classes }) },
  );
}

/** Predicts `[H, W, classes]` probabilities at each image's stored size. */
export type ImagePredictor = (images: readonly DecodedImage[]) => Promise<Float32Array[]>;

/** A predictor as a function on decoded images. */
export function imagePredictor(predictor: Predictor): ImagePredictor {
  return async (images) => (await predictor.predict(images)).map((m) => m.probs);
}

/** A predictor as a tensor function on NHWC byte batches (as {@link toBatch} makes them), for `predictSubmission`. */
export function tensorPredictor(predictor: Predictor): (x: tf.Tensor4D) => Promise<tf.Tensor4D> {
  return async (x) => {
    const [n, h, w, c] = x.shape;
    const bytes = Uint8Array.from(await x.data());
    const per = h * w * c;
    const maps = await predictor.predict(Array.from({ length: n }, (_, i) => ({ data: bytes.subarray(i * per, (i + 1) * per), height: h, width: w, channels: c })));
    const classes = maps[0]!.classes;
    const out = new Float32Array(n * h * w * classes);
    maps.forEach((m, i) => out.set(m.probs, i * h * w * classes));
    return tf.tensor4d(out, [n, h, w, classes]);
  };
}

/** Checks that members can form an ensemble. */
export function checkMembers(members: readonly Member[], weights?: readonly number[]): void {
  for (const m of members) {
    if (m.identity.classes !== members[0]!.identity.classes) {
      throw new AppError('CONFIG', `Ensemble members predict different numbers of classes (${members.map((x) => x.identity.classes).join(', ')}).`);
    }
  }
  if (weights !== undefined && weights.length !== members.length) {
    throw new AppError('USAGE', `--weights has ${weights.length} value(s) but --models has ${members.length}; give one weight per model.`);
  }
}

/** Channels to read images with for these members (3 if any member takes 3). */
export function readChannels(members: readonly Member[]): 1 | 3 {
  return members.some((m) => m.identity.inChannels === 3) ? 3 : 1;
}

/** Stacks decoded images of one size into an NHWC batch of their bytes (int32). */
export function toBatch(images: readonly DecodedImage[]): tf.Tensor4D {
  const { height, width, channels } = images[0]!;
  const data = new Int32Array(images.length * height * width * channels);
  images.forEach((im, i) => {
    if (im.height !== height || im.width !== width || im.channels !== channels) {
      throw new AppError('BAD_IMAGE', `Images of one batch differ in size (${im.height}x${im.width} vs ${height}x${width}); predict them with --batch-size 1.`);
    }
    data.set(im.data, i * height * width * channels);
  });
  return tf.tensor4d(data, [images.length, height, width, channels], 'int32');
}

/** Disposes the members' models and the engines' sessions. */
export async function disposeMembers(members: readonly Member[], engines: readonly InferenceEngine[] = []): Promise<void> {
  for (const e of engines) await e.dispose();
  for (const m of members) m.model?.dispose();
}
