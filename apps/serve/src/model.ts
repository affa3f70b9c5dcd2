// The one place the service touches models: loading trained runs (an ensemble, with TTA and post-processing) and turning an
// image's bytes into per-class probabilities through @steel/inference, on ONNX Runtime where it is installed, else tfjs.
// The HTTP routes and the queue worker only see `Predictor`.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { loadLayersModel, type LayersModel } from '@tensorflow/tfjs-layers';
import { parsePostprocessConfig, parseTtaTransforms, type PostprocessConfig } from '@steel/ensemble';
import { createOnnxEngine, createPredictor, createTfjsEngine, type InferenceEngine, type OnnxSessionLike, type OnnxTensorConstructor } from '@steel/inference';
import { createMemoryIOHandler, registerSteelLayers } from '@steel/models';
import { decodeImage as decodeImageBytes, isDataError, type DecodedImage } from '@steel/data';
import { clip, ServeError } from './errors.ts';

/** A decoded image: row-major HWC bytes. */
export type { DecodedImage };

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
  /** What runs the networks: `auto` (ONNX Runtime when onnxruntime-node loads, else tfjs), `tfjs` or `onnxruntime`. */
  engine?: EngineName | undefined;
  /** ONNX Runtime intra-op threads; default its own choice. */
  threads?: number | undefined;
}

/** Engines a predictor can run on. */
export const ENGINES = ['auto', 'tfjs', 'onnxruntime'] as const;
export type EngineName = (typeof ENGINES)[number];

/** What a loaded predictor is (GET /v1/models, job fingerprints). */
export interface PredictorInfo {
  members: { path: string; architecture: string; encoder: string; inChannels: number; classes: number; scale: number }[];
  classes: number;
  /** Channels images are decoded to. */
  channels: 1 | 3;
  tta: string[];
  weights: number[] | null;
  /** `tfjs` or `onnxruntime` (results differ in the last bits between them, so it is part of the fingerprint). */
  engine: 'tfjs' | 'onnxruntime';
  postprocess: PostprocessConfig;
  /** sha256 of the weights, engine, TTA, ensemble weights and post-processing: equal fingerprints predict equal CSVs. */
  fingerprint: string;
}

/** A loaded model: probabilities `[H, W, classes]` for one decoded image at its stored size. */
export interface Predictor {
  readonly info: PredictorInfo;
  predict(image: DecodedImage): Promise<Float32Array>;
  dispose(): void;
}

/**
 * Decodes JPEG or PNG bytes exactly as `train predict` reads image files (@steel/data's decoder).
 * @throws {ServeError} `BAD_IMAGE` when the bytes are not a complete JPEG or PNG.
 */
export async function decodeImage(bytes: Uint8Array, channels: 1 | 3, name = 'the image'): Promise<DecodedImage> {
  try {
    return await decodeImageBytes(bytes, { channels, name });
  } catch (cause) {
    if (!isDataError(cause)) throw cause;
    throw new ServeError('BAD_IMAGE', `${name} could not be decoded (${clip(cause.found ?? cause.message, 120)}); expected a complete JPEG or PNG.`, { cause });
  }
}

// ---- Loading runs: the layout apps/train writes (config.json; best/ with model.json, its weight shards and weights.json). ----

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
  artifacts: tf.io.ModelArtifacts;
  scale: number;
  config: { threshold?: number; minArea?: number[] } | undefined;
  digest: string;
}

/** The folder written atomically (`<dir>`), or its previous version (`<dir>.old`) after a crash between renames. */
function atomicDir(dir: string): string | undefined {
  if (existsSync(join(dir, 'model.json'))) return dir;
  return existsSync(join(`${dir}.old`, 'model.json')) ? `${dir}.old` : undefined;
}

/** Reads a run folder's (or model folder's) model files without building anything. */
function readMemberFiles(path: string): MemberFiles {
  const root = resolve(path);
  if (!existsSync(root)) throw new ServeError('CHECKPOINT', `Model path ${path} does not exist. Pass a run folder (runs/<name>) or its best/ folder.`);
  let modelDir: string | undefined;
  let configPath: string | undefined;
  if (existsSync(join(root, 'config.json'))) {
    configPath = join(root, 'config.json');
    modelDir = atomicDir(join(root, 'best'));
  } else if (existsSync(join(root, 'model.json'))) {
    modelDir = root;
    if (existsSync(join(root, '..', 'config.json'))) configPath = join(root, '..', 'config.json');
  }
  if (modelDir === undefined || !existsSync(join(modelDir, 'weights.json'))) {
    throw new ServeError('CHECKPOINT', `No trained model in ${path}: expected a run folder with best/ (model.json, weights.json), or such a folder itself.`);
  }
  const identity = (JSON.parse(readFileSync(join(modelDir, 'weights.json'), 'utf8')) as { identity: Identity }).identity;
  const modelText = readFileSync(join(modelDir, 'model.json'), 'utf8');
  const model = JSON.parse(modelText) as { modelTopology: object; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
  const hash = createHash('sha256').update(modelText);
  const shards = model.weightsManifest.flatMap((group) => group.paths.map((p) => readFileSync(join(modelDir, p))));
  for (const shard of shards) hash.update(shard);
  const weightData = Buffer.concat(shards);
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: model.modelTopology,
    weightSpecs: model.weightsManifest.flatMap((group) => group.weights),
    weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength) as ArrayBuffer,
  };
  const config = configPath ? (JSON.parse(readFileSync(configPath, 'utf8')) as MemberFiles['config'] & { scale?: number }) : undefined;
  return { path, modelDir, identity, artifacts, scale: config?.scale ?? 1, config, digest: hash.digest('hex') };
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

/** The part of onnxruntime-node used here. */
interface OnnxRuntime {
  InferenceSession: { create(bytes: Uint8Array, options?: Record<string, unknown>): Promise<OnnxSessionLike & { release?: () => Promise<void> }> };
  Tensor: OnnxTensorConstructor;
}

/** onnxruntime-node, or the reason it does not load. */
async function loadOnnxRuntime(): Promise<OnnxRuntime | Error> {
  try {
    const mod = (await import('onnxruntime-node')) as unknown as OnnxRuntime & { default?: OnnxRuntime };
    return mod.InferenceSession ? mod : mod.default!;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/**
 * The engine `auto` means here: onnxruntime when onnxruntime-node loads, else tfjs.
 * @throws {ServeError} `BACKEND` for `onnxruntime` when onnxruntime-node does not load; `USAGE` for an unknown name.
 */
export async function resolveEngine(engine: EngineName = 'auto'): Promise<'tfjs' | 'onnxruntime'> {
  if (!ENGINES.includes(engine)) throw new ServeError('USAGE', `--engine expects one of ${ENGINES.join(', ')}, got "${clip(String(engine))}".`);
  if (engine === 'tfjs') return 'tfjs';
  const ort = await loadOnnxRuntime();
  if (ort instanceof Error) {
    if (engine === 'onnxruntime') throw new ServeError('BACKEND', `--engine onnxruntime: onnxruntime-node does not load (${clip(ort.message.split('\n')[0]!, 160)}); use --engine tfjs.`);
    return 'tfjs';
  }
  return 'onnxruntime';
}

/**
 * What the options select, from the files alone (no model is built): members, classes, channels, engine, TTA,
 * post-processing and the fingerprint. `serve batch` names its queue and job ids with it; workers compute the same from the
 * same files.
 * @throws {ServeError} `CHECKPOINT` when a model folder is missing; `CONFIG`/`USAGE` for bad options.
 */
export async function describeModels(options: PredictorOptions): Promise<PredictorInfo> {
  return describe(options, options.models.map(readMemberFiles), await resolveEngine(options.engine));
}

function describe(options: PredictorOptions, members: readonly MemberFiles[], engine: 'tfjs' | 'onnxruntime'): PredictorInfo {
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
    .update(JSON.stringify({ members: members.map((m) => [m.digest, m.scale]), engine, tta, weights: options.weights ?? null, postprocess }))
    .digest('hex');
  return {
    members: members.map((m) => ({ path: m.path, ...m.identity, scale: m.scale })),
    classes,
    channels: members.some((m) => m.identity.inChannels === 3) ? 3 : 1,
    tta: [...tta],
    weights: options.weights === undefined ? null : [...options.weights],
    engine,
    postprocess,
    fingerprint,
  };
}

/** An engine for one loaded model: the tfjs model itself, or an ONNX Runtime session on its in-memory ONNX export. */
async function createEngine(kind: 'tfjs' | 'onnxruntime', model: LayersModel, identity: Identity, threads: number | undefined): Promise<{ engine: InferenceEngine; release: () => Promise<void> }> {
  if (kind === 'tfjs') return { engine: createTfjsEngine(model), release: async () => undefined };
  const ort = (await loadOnnxRuntime()) as OnnxRuntime;
  const { exportOnnx } = await import('@steel/onnx');
  // The session options of `train predict --engine onnxruntime`, so both write the same CSV.
  const session = await ort.InferenceSession.create(exportOnnx(model), {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    interOpNumThreads: 1,
    ...(threads === undefined ? {} : { intraOpNumThreads: threads }),
  });
  return {
    engine: createOnnxEngine(session, { Tensor: ort.Tensor, inChannels: identity.inChannels, classes: identity.classes, description: 'onnxruntime (cpu)' }),
    release: async () => void (await session.release?.()),
  };
}

/**
 * Loads the models of a run (or several, as an ensemble) with the engine, TTA and post-processing `train predict` would
 * use. The tfjs backend must be set up first (`@steel/backend`): tfjs loads the models even when ONNX Runtime runs them.
 * @throws {ServeError} `CHECKPOINT` when a model folder is missing or does not load; `CONFIG` for bad post-processing.
 */
export async function loadPredictor(options: PredictorOptions): Promise<Predictor> {
  const files = options.models.map(readMemberFiles);
  const info = describe(options, files, await resolveEngine(options.engine));
  registerSteelLayers();
  const models: LayersModel[] = [];
  const releases: (() => Promise<void>)[] = [];
  const dispose = () => {
    for (const release of releases) void release();
    for (const m of models) m.dispose();
  };
  try {
    const members = [];
    for (const f of files) {
      let model: LayersModel;
      try {
        model = await loadLayersModel(createMemoryIOHandler(f.artifacts));
      } catch (error) {
        throw new ServeError('CHECKPOINT', `The model in ${f.modelDir} does not load (${clip((error as Error).message, 160)}); the folder is incomplete or from another version.`, { cause: error });
      }
      models.push(model);
      const { engine, release } = await createEngine(info.engine, model, f.identity, options.threads);
      releases.push(release);
      members.push({ engine, scale: f.scale, name: f.path, ...(options.weights === undefined ? {} : { weight: options.weights[members.length]! }) });
    }
    const predictor = createPredictor(members, { tta: info.tta, classes: info.classes });
    return {
      info,
      async predict(image) {
        if (image.channels !== info.channels) throw new ServeError('BAD_IMAGE', `Expected an image decoded to ${info.channels} channel(s), got ${image.channels}.`);
        const [map] = await predictor.predict([image]);
        return map!.probs;
      },
      dispose,
    };
  } catch (error) {
    dispose();
    throw error;
  }
}

