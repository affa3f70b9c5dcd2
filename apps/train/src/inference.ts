// Loading trained models and predicting probability maps image by image (bounded memory), with TTA and ensembles.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { readImage } from '@steel/data';
import { createEnsemble, createInputAdapter, parseTtaTransforms, withTta, type PredictFn, type TtaTransform } from '@steel/ensemble';
import { loadModelWeights, readIdentity, type ModelIdentity } from './checkpoint.ts';
import { padTo32, parseTrainConfig, type TrainConfig } from './config.ts';
import { AppError } from './errors.ts';
import { resolveAtomicDir } from './run-dir.ts';
import { buildModel, checkModelNames } from './steel.ts';

/** A trained model ready to predict. */
export interface Member {
  path: string;
  model: LayersModel;
  identity: ModelIdentity;
  /** Image scale the model was trained at. */
  scale: number;
  /** The run's config when the model came from a run folder. */
  config: TrainConfig | undefined;
}

/**
 * Loads a model from a run folder (its best/ model, else its last checkpoint) or from a model folder (weights.json).
 * @throws {AppError} CHECKPOINT when there is no model there.
 */
export async function loadMember(path: string, expect?: Partial<ModelIdentity>): Promise<Member> {
  const root = resolve(path);
  if (!existsSync(root)) throw new AppError('CHECKPOINT', `Model path ${path} does not exist. Pass a run folder (runs/<name>) or its best/ folder.`);
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
  const config = configPath ? parseTrainConfig(JSON.parse(readFileSync(configPath, 'utf8')), configPath) : undefined;
  // The network asked for on the command line (if any) must be the one in the checkpoint.
  const wanted: ModelIdentity = { ...identity, ...(expect ?? {}) };
  const base = config ?? parseTrainConfig({});
  const modelConfig = { ...base, architecture: wanted.architecture, encoder: wanted.encoder, inChannels: wanted.inChannels as 1 | 3 };
  checkModelNames(modelConfig);
  const model = await buildModel(modelConfig, wanted.classes);
  try {
    loadModelWeights(model, modelDir, wanted);
  } catch (error) {
    model.dispose();
    throw error;
  }
  return { path, model, identity, scale: config?.scale ?? 1, config };
}

/** Options of {@link createPredictor}. */
export interface PredictorOptions {
  weights?: readonly number[] | undefined;
  tta?: readonly string[] | undefined;
}

/** Predicts `[H, W, classes]` probabilities at each image's stored size. */
export type ImagePredictor = (images: readonly DecodedImage[]) => Promise<Float32Array[]>;

/** A decoded image (HWC bytes). */
export interface DecodedImage {
  data: Uint8Array;
  height: number;
  width: number;
  channels: number;
}

/** Weights `[outLength, inLength]` of an area (box-filter) resize along one axis: each output pixel averages the input it covers. */
function areaWeights(inLength: number, outLength: number): tf.Tensor2D {
  const w = new Float32Array(outLength * inLength);
  const step = inLength / outLength;
  for (let o = 0; o < outLength; o++) {
    const start = o * step;
    const end = start + step;
    for (let j = Math.floor(start); j < Math.min(inLength, Math.ceil(end)); j++) {
      w[o * inLength + j] = (Math.min(end, j + 1) - Math.max(start, j)) / step;
    }
  }
  return tf.tensor2d(w, [outLength, inLength]);
}

/**
 * Area resize of an NHWC batch, the same box filter as the training images' `resize({ method: 'area' })` from
 * @steel/transforms (bilinear sampling would skip pixels when shrinking and give the model noisier images than it learned on).
 */
export function areaResize(x: tf.Tensor4D, height: number, width: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, w, c] = x.shape;
    // Columns: [B, H, W, C] -> [B*H, C, W] x [W, width]^T.
    const cols = tf.matMul(tf.reshape(tf.transpose(x, [0, 1, 3, 2]), [b * h * c, w]), areaWeights(w, width), false, true); // [B*H*C, width]
    // Rows: [H, B*C*width] from [B, H, C, width].
    const byRow = tf.reshape(tf.transpose(tf.reshape(cols, [b, h, c, width]), [1, 0, 2, 3]), [h, b * c * width]);
    const rows = tf.matMul(areaWeights(h, height), byRow); // [height, B*C*width]
    return tf.transpose(tf.reshape(rows, [height, b, c, width]), [1, 0, 3, 2]) as tf.Tensor4D;
  });
}

/**
 * A member as a function on stored-size batches (pixels in [0, 1]): scaled as the model was trained, padded to a multiple
 * of 32, predicted, cropped back and resized to the input size.
 */
export function memberPredictFn(member: Member): PredictFn {
  const scale = member.scale;
  return (x) =>
    tf.tidy(() => {
      const [, height, width] = x.shape;
      const sh = Math.max(1, Math.round(height * scale));
      const sw = Math.max(1, Math.round(width * scale));
      const scaled = scale === 1 ? x : areaResize(x, sh, sw);
      const padded = tf.pad(scaled, [[0, 0], [0, padTo32(sh) - sh], [0, padTo32(sw) - sw], [0, 0]]) as tf.Tensor4D;
      const out = member.model.predict(padded);
      const probs = tf.sigmoid(Array.isArray(out) ? out[0]! : out) as tf.Tensor4D;
      const cropped = tf.slice(probs, [0, 0, 0, 0], [-1, sh, sw, -1]) as tf.Tensor4D;
      return scale === 1 ? cropped : tf.image.resizeBilinear(cropped, [height, width]);
    });
}

/** Channels to read images with for these members (3 if any member takes 3). */
export function readChannels(members: readonly Member[]): 1 | 3 {
  return members.some((m) => m.identity.inChannels === 3) ? 3 : 1;
}

/** The input adapter of a member whose channels differ from the images read. */
export function adapterFor(member: Member, channels: 1 | 3) {
  return member.identity.inChannels !== channels ? createInputAdapter({ channels: member.identity.inChannels as 1 | 3 }) : undefined;
}

/**
 * The prediction function of an ensemble (weighted mean of the members, each with optional TTA) on stored-size batches,
 * plus the same as a function on decoded images.
 */
export function createPredictor(
  members: readonly Member[],
  options: PredictorOptions = {},
): { predictTensor: (x: tf.Tensor4D) => Promise<tf.Tensor4D>; predict: ImagePredictor; channels: 1 | 3; tta: TtaTransform[] } {
  checkMembers(members, options.weights);
  const channels = readChannels(members);
  const tta = parseTtaTransforms(options.tta ?? []);
  const predictTensor = createEnsemble(
    members.map((m) => {
      const raw = memberPredictFn(m);
      const adapt = adapterFor(m, channels);
      return { name: m.path, predict: tta.length > 0 ? withTta(raw, { transforms: tta }) : raw, ...(adapt ? { adapt } : {}) };
    }),
    options.weights === undefined ? {} : { weights: options.weights },
  );
  const predict: ImagePredictor = async (images) => {
    if (images.length === 0) return [];
    const x = toBatch(images);
    let probs: tf.Tensor4D;
    try {
      probs = await predictTensor(x);
    } finally {
      x.dispose();
    }
    return splitBatch(probs);
  };
  return { predictTensor, predict, channels, tta };
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

/** Stacks decoded images of one size into an NHWC batch scaled to [0, 1]. */
export function toBatch(images: readonly DecodedImage[]): tf.Tensor4D {
  const { height, width, channels } = images[0]!;
  const data = new Float32Array(images.length * height * width * channels);
  images.forEach((im, i) => {
    if (im.height !== height || im.width !== width || im.channels !== channels) {
      throw new AppError('BAD_IMAGE', `Images of one batch differ in size (${im.height}x${im.width} vs ${height}x${width}); predict them with --batch-size 1.`);
    }
    const o = i * height * width * channels;
    for (let k = 0; k < im.data.length; k++) data[o + k] = im.data[k]! / 255;
  });
  return tf.tensor4d(data, [images.length, height, width, channels]);
}

/** Splits (and disposes) an NHWC tensor into one typed array per image. */
export async function splitBatch(probs: tf.Tensor4D): Promise<Float32Array[]> {
  const [n, h, w, c] = probs.shape;
  const data = (await probs.data()) as Float32Array;
  probs.dispose();
  const per = h * w * c;
  return Array.from({ length: n }, (_, i) => data.slice(i * per, (i + 1) * per));
}

/** Reads images for prediction (channels as the predictor needs). */
export async function readImages(files: readonly string[], channels: 1 | 3) {
  return Promise.all(files.map((file) => readImage(file, { channels })));
}

/** Disposes the members' models. */
export function disposeMembers(members: readonly Member[]): void {
  for (const m of members) m.model.dispose();
}
