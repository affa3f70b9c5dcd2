// The one place the service touches models: loading trained runs (an ensemble, with TTA and post-processing) and turning an
// image's bytes into per-class probabilities. The HTTP routes and the queue worker only see `Predictor`.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { createEnsemble, createInputAdapter, parsePostprocessConfig, parseTtaTransforms, withTta, type PostprocessConfig, type PredictFn, type TtaTransform } from '@steel/ensemble';
import { architectures, createModel, encoders, registerSteelLayers } from '@steel/models';
import sharp from 'sharp';
import { clip, ServeError } from './errors.ts';

/** A decoded image: row-major HWC bytes. */
export interface DecodedImage {
  readonly data: Uint8Array;
  readonly height: number;
  readonly width: number;
  readonly channels: 1 | 3;
}

/** Options of {@link loadPredictor}: the same choices as `train predict`. */
export interface PredictorOptions {
  /** Run folders (`runs/<name>`) or model folders (with weights.json); more than one is an ensemble. */
  models: readonly string[];
  /** Ensemble weights, one per model; default equal. */
  weights?: readonly number[] | undefined;
  /** Test-time augmentation: `hflip`, `vflip`, ... */
  tta?: readonly string[] | undefined;
  /** A post-processing JSON file (`train tune` writes one); else `threshold` / `minArea`, else the first run's. */
  postprocess?: string | undefined;
  threshold?: number | undefined;
  minArea?: readonly number[] | undefined;
}

/** What a loaded predictor is (GET /v1/models, job fingerprints). */
export interface PredictorInfo {
  members: { path: string; architecture: string; encoder: string; inChannels: number; classes: number; scale: number }[];
  classes: number;
  /** Channels images are decoded to. */
  channels: 1 | 3;
  tta: string[];
  weights: number[] | null;
  postprocess: PostprocessConfig;
  /** sha256 of the weights, TTA, ensemble weights and post-processing: equal fingerprints predict equal CSVs. */
  fingerprint: string;
}

/** A loaded model: probabilities `[H, W, classes]` for one decoded image at its stored size. */
export interface Predictor {
  readonly info: PredictorInfo;
  predict(image: DecodedImage): Promise<Float32Array>;
  dispose(): void;
}

/**
 * Decodes JPEG or PNG bytes exactly as `train predict` reads image files (sharp; the first channel for 1-channel models).
 * @throws {ServeError} `BAD_IMAGE` when the bytes are not a complete JPEG or PNG.
 */
export async function decodeImage(bytes: Uint8Array, channels: 1 | 3, name = 'the image'): Promise<DecodedImage> {
  let result: { data: Buffer; info: { height: number; width: number; channels: number } };
  try {
    let pipeline = sharp(bytes, { failOn: 'warning' });
    pipeline = channels === 1 ? pipeline.extractChannel(0) : pipeline.removeAlpha().toColourspace('srgb');
    result = await pipeline.raw().toBuffer({ resolveWithObject: true });
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new ServeError('BAD_IMAGE', `${name} could not be decoded (${clip(reason, 120)}); expected a complete JPEG or PNG.`, { cause });
  }
  const { info } = result;
  let data = new Uint8Array(result.data.buffer, result.data.byteOffset, result.data.byteLength);
  if (channels === 3 && info.channels !== 3) {
    const rgb = new Uint8Array(info.height * info.width * 3);
    for (let i = 0, j = 0; j < rgb.length; i += info.channels, j += 3) rgb[j] = rgb[j + 1] = rgb[j + 2] = data[i]!;
    data = rgb;
  }
  return { data, height: info.height, width: info.width, channels };
}

// ---- Loading runs: the layout apps/train writes (config.json, best/ or checkpoint/ with weights.json + weights.bin). ----

interface Identity {
  architecture: string;
  encoder: string;
  inChannels: number;
  classes: number;
}
interface MemberFiles {
  path: string;
  modelDir: string;
  identity: Identity;
  manifest: { weights: { shape: number[] }[]; specs: tf.io.WeightsManifestEntry[] };
  weights: Buffer;
  scale: number;
  config: { threshold?: number; minArea?: number[]; seed?: number } | undefined;
  digest: string;
}
interface Member extends MemberFiles {
  model: LayersModel;
}

/** The folder written atomically (`<dir>`), or its previous version (`<dir>.old`) after a crash between renames. */
function atomicDir(dir: string): string | undefined {
  if (existsSync(join(dir, 'weights.json'))) return dir;
  return existsSync(join(`${dir}.old`, 'weights.json')) ? `${dir}.old` : undefined;
}

/** Reads a run folder's (or model folder's) files without building anything. */
function readMemberFiles(path: string): MemberFiles {
  const root = resolve(path);
  if (!existsSync(root)) throw new ServeError('CHECKPOINT', `Model path ${path} does not exist. Pass a run folder (runs/<name>) or its best/ folder.`);
  let modelDir: string | undefined;
  let configPath: string | undefined;
  if (existsSync(join(root, 'config.json'))) {
    configPath = join(root, 'config.json');
    modelDir = atomicDir(join(root, 'best')) ?? atomicDir(join(root, 'checkpoint'));
  } else if (existsSync(join(root, 'weights.json'))) {
    modelDir = root;
    if (existsSync(join(root, '..', 'config.json'))) configPath = join(root, '..', 'config.json');
  }
  if (modelDir === undefined) {
    throw new ServeError('CHECKPOINT', `No trained model in ${path}: expected a run folder with best/ or checkpoint/, or a folder with weights.json.`);
  }
  const manifestText = readFileSync(join(modelDir, 'weights.json'), 'utf8');
  const manifest = JSON.parse(manifestText) as MemberFiles['manifest'] & { identity: Identity; file?: string };
  const config = configPath ? (JSON.parse(readFileSync(configPath, 'utf8')) as MemberFiles['config'] & { scale?: number }) : undefined;
  const weights = readFileSync(join(modelDir, manifest.file ?? 'weights.bin'));
  const digest = createHash('sha256').update(manifestText).update(weights).digest('hex');
  return { path, modelDir, identity: manifest.identity, manifest, weights, scale: config?.scale ?? 1, config, digest };
}

function buildMember(files: MemberFiles): Member {
  const { identity, manifest, modelDir, weights } = files;
  if (!Object.hasOwn(architectures, identity.architecture) || !Object.hasOwn(encoders, identity.encoder)) {
    throw new ServeError('CHECKPOINT', `${modelDir} holds a ${identity.architecture}-${identity.encoder}, which this version cannot build. Expected one of: ${Object.keys(architectures).join(', ')} with ${Object.keys(encoders).join(', ')}.`);
  }
  registerSteelLayers();
  const model = createModel({
    architecture: identity.architecture as keyof typeof architectures,
    encoder: identity.encoder as keyof typeof encoders,
    inChannels: identity.inChannels as 1 | 3,
    classes: identity.classes,
    seed: files.config?.seed ?? 42,
  });
  try {
    if (manifest.weights.length !== model.weights.length || manifest.weights.some((w, i) => w.shape.join('x') !== model.weights[i]!.shape.join('x'))) {
      throw new ServeError('CHECKPOINT', `The weights in ${modelDir} do not fit a ${identity.architecture}-${identity.encoder}; the folder is from another version or incomplete.`);
    }
    const tensors = tf.io.decodeWeights(weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer, manifest.specs);
    model.weights.forEach((w, i) => w.write(tensors[manifest.specs[i]!.name]!));
    tf.dispose(Object.values(tensors));
  } catch (error) {
    model.dispose();
    throw error;
  }
  return { ...files, model };
}

/** Weights `[outLength, inLength]` of an area (box-filter) resize along one axis. */
function areaWeights(inLength: number, outLength: number): tf.Tensor2D {
  const w = new Float32Array(outLength * inLength);
  const step = inLength / outLength;
  for (let o = 0; o < outLength; o++) {
    const start = o * step;
    const end = start + step;
    for (let j = Math.floor(start); j < Math.min(inLength, Math.ceil(end)); j++) w[o * inLength + j] = (Math.min(end, j + 1) - Math.max(start, j)) / step;
  }
  return tf.tensor2d(w, [outLength, inLength]);
}

/** Area resize of an NHWC batch (the filter the training images were shrunk with). */
function areaResize(x: tf.Tensor4D, height: number, width: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, w, c] = x.shape;
    const cols = tf.matMul(tf.reshape(tf.transpose(x, [0, 1, 3, 2]), [b * h * c, w]), areaWeights(w, width), false, true);
    const byRow = tf.reshape(tf.transpose(tf.reshape(cols, [b, h, c, width]), [1, 0, 2, 3]), [h, b * c * width]);
    const rows = tf.matMul(areaWeights(h, height), byRow);
    return tf.transpose(tf.reshape(rows, [height, b, c, width]), [1, 0, 3, 2]) as tf.Tensor4D;
  });
}

const padTo32 = (n: number): number => Math.ceil(n / 32) * 32;

/** A member on stored-size batches in [0, 1]: scaled as trained, padded to 32, predicted, cropped and resized back. */
function memberPredictFn(member: Member): PredictFn {
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

function readPostprocess(options: PredictorOptions, members: readonly MemberFiles[], classes: number): PostprocessConfig {
  if (options.postprocess !== undefined) {
    const file = options.postprocess;
    if (!existsSync(file)) throw new ServeError('CONFIG', `Post-processing file ${file} does not exist. Make one with "train tune", or drop --postprocess.`);
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new ServeError('CONFIG', `Post-processing file ${file} is not valid JSON (${(error as Error).message}).`);
    }
    return parsePostprocessConfig(json, { classes });
  }
  const config = members.find((m) => m.config !== undefined)?.config;
  const threshold = options.threshold ?? config?.threshold ?? 0.5;
  const minArea = options.minArea ?? config?.minArea ?? [0, 0, 0, 0];
  return { classes: Array.from({ length: classes }, (_, k) => ({ threshold, minArea: minArea[k] ?? 0 })), connectivity: 8 };
}

/**
 * What the options select, from the files alone (no model is built): members, classes, channels, TTA, post-processing and
 * the fingerprint. `serve batch` names its queue and job ids with it; workers compute the same from the same files.
 * @throws {ServeError} `CHECKPOINT` when a model folder is missing; `CONFIG`/`USAGE` for bad options.
 */
export function describeModels(options: PredictorOptions): PredictorInfo {
  return describe(options, options.models.map(readMemberFiles));
}

function describe(options: PredictorOptions, members: readonly MemberFiles[]): PredictorInfo {
  if (members.length === 0) throw new ServeError('USAGE', 'Pass --models with one or more run folders (runs/<name>) or model folders, comma-separated.');
  const classes = members[0]!.identity.classes;
  if (members.some((m) => m.identity.classes !== classes)) {
    throw new ServeError('CONFIG', `Ensemble members predict different numbers of classes (${members.map((m) => m.identity.classes).join(', ')}).`);
  }
  if (options.weights !== undefined && options.weights.length !== members.length) {
    throw new ServeError('USAGE', `--weights has ${options.weights.length} value(s) but --models has ${members.length}; give one weight per model.`);
  }
  const tta = parseTtaTransforms(options.tta ?? []);
  const postprocess = readPostprocess(options, members, classes);
  const fingerprint = createHash('sha256')
    .update(JSON.stringify({ members: members.map((m) => [m.digest, m.scale]), tta, weights: options.weights ?? null, postprocess }))
    .digest('hex');
  return {
    members: members.map((m) => ({ path: m.path, ...m.identity, scale: m.scale })),
    classes,
    channels: members.some((m) => m.identity.inChannels === 3) ? 3 : 1,
    tta: [...tta],
    weights: options.weights === undefined ? null : [...options.weights],
    postprocess,
    fingerprint,
  };
}

/**
 * Loads the models of a run (or several, as an ensemble) with the TTA and post-processing `train predict` would use.
 * The tfjs backend must be set up first (`@steel/backend`).
 * @throws {ServeError} `CHECKPOINT` when a model folder is missing or does not fit; `CONFIG` for bad post-processing.
 */
export async function loadPredictor(options: PredictorOptions): Promise<Predictor> {
  const files = options.models.map(readMemberFiles);
  const info = describe(options, files);
  const members: Member[] = [];
  try {
    for (const f of files) members.push(buildMember(f));
    const { channels } = info;
    const predictTensor = createEnsemble(
      members.map((m) => {
        const raw = memberPredictFn(m);
        const adapt = m.identity.inChannels !== channels ? createInputAdapter({ channels: m.identity.inChannels as 1 | 3 }) : undefined;
        return { name: m.path, predict: info.tta.length > 0 ? withTta(raw, { transforms: info.tta as TtaTransform[] }) : raw, ...(adapt ? { adapt } : {}) };
      }),
      options.weights === undefined ? {} : { weights: options.weights },
    );
    return {
      info,
      async predict(image) {
        if (image.channels !== channels) throw new ServeError('BAD_IMAGE', `Expected an image decoded to ${channels} channel(s), got ${image.channels}.`);
        // Pixels scaled to [0, 1] in float64, then stored as float32: what train predict feeds the model.
        const pixels = new Float32Array(image.data.length);
        for (let k = 0; k < pixels.length; k++) pixels[k] = image.data[k]! / 255;
        const x = tf.tensor4d(pixels, [1, image.height, image.width, channels]);
        let probs: tf.Tensor4D;
        try {
          probs = await predictTensor(x);
        } finally {
          x.dispose();
        }
        const data = (await probs.data()) as Float32Array;
        probs.dispose();
        return data;
      },
      dispose() {
        for (const m of members) m.model.dispose();
      },
    };
  } catch (error) {
    for (const m of members) m.model.dispose();
    throw error;
  }
}
