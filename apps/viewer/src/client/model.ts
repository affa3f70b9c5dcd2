// Loading a tfjs layers model in the browser and predicting probability maps for images of any size.
import { loadLayersModel, type LayersModel } from '@tensorflow/tfjs-layers';
import { countParameters, registerSteelLayers } from '@steel/models';
import type { ModelInfo } from '../shared/api.ts';
import { createOnnxEngine, createPredictor, createTfjsEngine, type InferenceEngine } from '@steel/inference';
import type { ProbabilityMap } from '../shared/analysis.ts';

/** A loaded model and how images are brought to it. */
export interface LoadedModel {
  readonly info: ModelInfo;
  readonly model: LayersModel;
  /** Input channels: 1 (grey) or 3 (RGB). */
  readonly inChannels: number;
  readonly classes: number;
  /** Fixed input height/width of the model, or null when it takes any multiple of 32. */
  readonly fixedHeight: number | null;
  readonly fixedWidth: number | null;
  /** Parameters as PyTorch counts them (batch-norm running statistics excluded). */
  readonly parameters: number;
  readonly loadMs: number;
}

/** A model that cannot be used, with the reason shown on the page. */
export class ModelLoadError extends Error {
  override readonly name = 'ModelLoadError';
}

/**
 * Loads the model served under `/models/<id>/model.json` and checks that it is an image segmentation model
 * (NHWC input with 1 or 3 channels, one `[batch, height, width, classes]` output).
 * @throws {ModelLoadError} naming the folder and what is wrong with it.
 */
export async function loadModel(info: ModelInfo): Promise<LoadedModel> {
  const where = `The model folder ${info.dir}`;
  if (!info.hasModelJson) {
    throw new ModelLoadError(`${where} is not a model: it has no model.json. Pick a training run's best/ folder, or a folder saved with model.save().`);
  }
  registerSteelLayers();
  const started = performance.now();
  let model: LayersModel;
  try {
    model = await loadLayersModel(`/models/${encodeURIComponent(info.id)}/model.json`);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new ModelLoadError(`${where} does not hold a loadable TensorFlow.js layers model: ${why.slice(0, 300)}`);
  }
  const input = model.inputs[0]?.shape ?? [];
  const output = model.outputs[0]?.shape ?? [];
  const inChannels = input[3];
  const classes = output[3];
  const fail = (what: string) => {
    model.dispose();
    return new ModelLoadError(`${where} is not a segmentation model: ${what}.`);
  };
  if (model.inputs.length !== 1 || input.length !== 4) throw fail(`expected one image input [batch, height, width, channels], got ${model.inputs.length} input(s) of shape [${input.join(', ')}]`);
  if (inChannels !== 1 && inChannels !== 3) throw fail(`expected 1 or 3 input channels, got ${String(inChannels)}`);
  if (output.length !== 4 || typeof classes !== 'number' || classes < 1) throw fail(`expected an output [batch, height, width, classes], got [${output.join(', ')}]`);
  return {
    info,
    model,
    inChannels,
    classes,
    fixedHeight: input[1] ?? null,
    fixedWidth: input[2] ?? null,
    parameters: countParameters(model),
    loadMs: performance.now() - started,
  };
}

/** How images are brought to a model: the height it works at and the widest tile. */
export interface InputPolicy {
  /** Height the model was trained at (stored height times the training scale); null: the image's own height. */
  readonly workHeight: number | null;
  /** Widest tile, in columns at the working height. */
  readonly tileWidth: number;
}

/** An engine the page can run a loaded model on. */
export interface PageEngine {
  /** `tfjs`, `onnxruntime` (WebAssembly) or `onnxruntime-webgpu`. */
  readonly id: 'tfjs' | 'onnxruntime' | 'onnxruntime-webgpu';
  /** Shown in the header, e.g. `tfjs (wasm)` or `onnxruntime-web (wasm)`. */
  readonly label: string;
  readonly engine: InferenceEngine;
}

/** A model of fixed input size as an engine for any smaller multiple of 32: pads with 0 and crops the logits back. */
function fixedSizeEngine(engine: InferenceEngine, height: number | null, width: number | null): InferenceEngine {
  if (height === null && width === null) return engine;
  return {
    ...engine,
    async run(batch) {
      const [n, h, w, c] = batch.shape;
      const H = height ?? h;
      const W = width ?? w;
      if (h > H || w > W) throw new ModelLoadError(`The model takes ${H} x ${W} inputs, got ${h} x ${w}.`);
      const padded = new Float32Array(n * H * W * c);
      for (let i = 0; i < n; i++) for (let r = 0; r < h; r++) padded.set(batch.data.subarray(((i * h + r) * w) * c, ((i * h + r) * w + w) * c), ((i * H + r) * W) * c);
      const out = await engine.run({ data: padded, shape: [n, H, W, c] });
      const k = out.shape[3];
      const cropped = new Float32Array(n * h * w * k);
      for (let i = 0; i < n; i++) for (let r = 0; r < h; r++) cropped.set(out.data.subarray(((i * H + r) * W) * k, ((i * H + r) * W + w) * k), ((i * h + r) * w) * k);
      return { data: cropped, shape: [n, h, w, k] };
    },
  };
}

/** The part of an onnxruntime-web module the page uses (the wasm and the WebGPU builds are separate modules). */
type OrtModule = typeof import('onnxruntime-web/wasm');

/** An ONNX Runtime Web session on the model exported to ONNX by the viewer's server (/models/<id>/model.onnx). */
async function ortEngine(loaded: LoadedModel, ort: OrtModule, provider: 'wasm' | 'webgpu', description: string): Promise<InferenceEngine> {
  ort.env.wasm.wasmPaths = '/ort/';
  ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  const response = await fetch(`/models/${encodeURIComponent(loaded.info.id)}/model.onnx`);
  if (!response.ok) throw new Error(`/models/${loaded.info.id}/model.onnx: HTTP ${response.status} ${(await response.text()).slice(0, 200)}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const session = await ort.InferenceSession.create(bytes, { executionProviders: [provider], graphOptimizationLevel: 'all' });
  return createOnnxEngine(session, { Tensor: ort.Tensor, inChannels: loaded.inChannels, classes: loaded.classes, description });
}

/** Whether this browser offers a WebGPU adapter (none on CPU-only machines or with the GPU disabled). */
async function hasWebGpu(): Promise<string | null> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (gpu === undefined) return 'this browser has no WebGPU (navigator.gpu)';
  try {
    return (await gpu.requestAdapter()) === null ? 'no WebGPU adapter (no usable GPU)' : null;
  } catch (error) {
    return `WebGPU adapter request failed: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/**
 * The engines offered for a loaded model: tfjs on the page's backend, ONNX Runtime Web's WebAssembly build on the model
 * exported to ONNX by the viewer's server (its files served under /ort/), and, where the browser has a WebGPU adapter,
 * ONNX Runtime Web's WebGPU execution provider (not yet tried on real GPUs). An engine that fails to start is left out, with why.
 */
export async function createPageEngines(loaded: LoadedModel, backend: string): Promise<{ engines: PageEngine[]; skipped: string[] }> {
  const wrap = (engine: InferenceEngine) => fixedSizeEngine(engine, loaded.fixedHeight, loaded.fixedWidth);
  const engines: PageEngine[] = [{ id: 'tfjs', label: `tfjs (${backend})`, engine: wrap(createTfjsEngine(loaded.model)) }];
  const skipped: string[] = [];
  const why = (error: unknown) => (error instanceof Error ? error.message : String(error));
  try {
    const ort = await import('onnxruntime-web/wasm');
    const engine = await ortEngine(loaded, ort, 'wasm', 'onnxruntime-web (wasm)');
    engines.push({ id: 'onnxruntime', label: `onnxruntime-web (wasm, ${ort.env.wasm.numThreads} threads)`, engine: wrap(engine) });
  } catch (error) {
    skipped.push(`onnxruntime-web: ${why(error)}`);
  }
  const noGpu = await hasWebGpu();
  if (noGpu !== null) skipped.push(`onnxruntime-web (webgpu): ${noGpu}`);
  else {
    try {
      const ort = (await import('onnxruntime-web/webgpu')) as unknown as OrtModule;
      engines.push({ id: 'onnxruntime-webgpu', label: 'onnxruntime-web (webgpu)', engine: wrap(await ortEngine(loaded, ort, 'webgpu', 'onnxruntime-web (webgpu)')) });
    } catch (error) {
      skipped.push(`onnxruntime-web (webgpu): ${why(error)}`);
    }
  }
  return { engines, skipped };
}

/** Converts an RGBA `ImageData` to RGB bytes (a grey image keeps equal channels; the model's channels are made by the path). */
function rgbOf(image: ImageData): Uint8Array {
  const { data, width, height } = image;
  const out = new Uint8Array(width * height * 3);
  for (let p = 0, q = 0; p < out.length; p += 3, q += 4) {
    out[p] = data[q]!;
    out[p + 1] = data[q + 1]!;
    out[p + 2] = data[q + 2]!;
  }
  return out;
}

/**
 * Predicts the probabilities `[height, width, classes]` of an RGBA image (as `ImageData` gives it) at its own size with the
 * one inference path of @steel/inference: the model's channels, [0, 1] pixels, area resize to the working height, padding
 * to a multiple of 32, tiles, crop, resize back, sigmoid.
 */
export async function predictImage(loaded: LoadedModel, engine: PageEngine, image: ImageData, policy: InputPolicy): Promise<ProbabilityMap> {
  const workHeight = loaded.fixedHeight ?? policy.workHeight;
  const predictor = createPredictor([{ engine: engine.engine, ...(workHeight === null ? {} : { workHeight }) }], {
    tileWidth: loaded.fixedWidth ?? policy.tileWidth,
  });
  const [map] = await predictor.predict([{ data: rgbOf(image), height: image.height, width: image.width, channels: 3 }]);
  return map!;
}
