// PyTorch state_dicts to and from models built by createModel. Layers carry PyTorch module names, so a state_dict key is
// `<layer name>.<param>`; only the layout changes: convolutions OIHW <-> HWIO, linear [out, in] <-> [in, out].
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel, LayerVariable } from '@tensorflow/tfjs-layers';
import { echo, ModelsError } from './errors.ts';
import { decodeSafetensors, type SafeTensor, type SafetensorsFile } from './safetensors.ts';

/** tfjs weight name (last path segment) → PyTorch parameter or buffer name. */
const PARAM_NAMES: Record<string, string> = {
  kernel: 'weight',
  bias: 'bias',
  gamma: 'weight',
  beta: 'bias',
  moving_mean: 'running_mean',
  moving_variance: 'running_var',
};

/** Which naming a state_dict uses. */
export type PytorchWeightsFormat = 'segmentation-models' | 'torchvision';

/** Options of {@link loadPytorchWeights}. */
export interface LoadPytorchWeightsOptions {
  /**
   * `'segmentation-models'`: full-model names (`encoder.*`, `decoder.*`, `segmentation_head.*`, `classification_head.*`);
   * every model weight must be present. `'torchvision'`: ResNet names (`conv1.weight`, `layer2.0.downsample.0.weight`)
   * for the encoder only; the decoder keeps its weights and `fc.*` is ignored. `'auto'` picks segmentation-models when a
   * key starts with `encoder.`. Default `'auto'`.
   */
  format?: PytorchWeightsFormat | 'auto';
  /** Throw on any missing, unexpected or mis-shaped tensor (before changing any weight). Default true. */
  strict?: boolean;
}

/** What {@link loadPytorchWeights} did. */
export interface PytorchWeightsReport {
  readonly format: PytorchWeightsFormat;
  /** PyTorch names written into the model. */
  readonly loaded: readonly string[];
  /** PyTorch names deliberately skipped (`num_batches_tracked`, torchvision's `fc.*`). */
  readonly ignored: readonly string[];
  /** Model weights with no tensor in the file (PyTorch names). */
  readonly missing: readonly string[];
  /** Tensors in the file that match no model weight. */
  readonly unexpected: readonly string[];
  /** Tensors whose shape (PyTorch layout) differs from the model's, or that are not floating point. */
  readonly mismatched: readonly { name: string; expected: readonly number[]; got: readonly number[]; dtype: string }[];
}

interface Target {
  variable: LayerVariable;
  /** PyTorch shape expected for this weight. */
  torchShape: number[];
}

function torchShapeOf(shape: readonly number[]): number[] {
  if (shape.length === 4) return [shape[3]!, shape[2]!, shape[0]!, shape[1]!]; // HWIO -> OIHW
  if (shape.length === 2) return [shape[1]!, shape[0]!]; // [in, out] -> [out, in]
  return [...shape];
}

/** PyTorch name → model variable, for every weight of every layer. */
function targets(model: LayersModel): Map<string, Target> {
  const out = new Map<string, Target>();
  for (const layer of model.layers) {
    for (const variable of layer.weights) {
      const suffix = variable.originalName.split('/').pop() ?? '';
      const param = PARAM_NAMES[suffix];
      if (!param) continue;
      out.set(`${layer.name}.${param}`, { variable, torchShape: torchShapeOf(variable.shape as number[]) });
    }
  }
  return out;
}

/** Reorders a PyTorch-layout array into the tfjs layout of `torchShape`'s counterpart. */
function toTfjsLayout(data: Float32Array, torchShape: readonly number[]): Float32Array {
  if (torchShape.length === 4) {
    const [o, i, h, w] = torchShape as [number, number, number, number];
    const out = new Float32Array(data.length);
    // out[y][x][c][k] = in[k][c][y][x]
    for (let k = 0; k < o; k++)
      for (let c = 0; c < i; c++)
        for (let y = 0; y < h; y++)
          for (let x = 0; x < w; x++) out[((y * w + x) * i + c) * o + k] = data[((k * i + c) * h + y) * w + x]!;
    return out;
  }
  if (torchShape.length === 2) {
    const [o, i] = torchShape as [number, number];
    const out = new Float32Array(data.length);
    for (let r = 0; r < o; r++) for (let c = 0; c < i; c++) out[c * o + r] = data[r * i + c]!;
    return out;
  }
  return data;
}

function toTorchLayout(data: Float32Array, tfShape: readonly number[]): Float32Array {
  if (tfShape.length === 4) {
    const [h, w, i, o] = tfShape as [number, number, number, number];
    const out = new Float32Array(data.length);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let c = 0; c < i; c++) for (let k = 0; k < o; k++) out[((k * i + c) * h + y) * w + x] = data[((y * w + x) * i + c) * o + k]!;
    return out;
  }
  if (tfShape.length === 2) {
    const [i, o] = tfShape as [number, number];
    const out = new Float32Array(data.length);
    for (let c = 0; c < i; c++) for (let r = 0; r < o; r++) out[r * i + c] = data[c * o + r]!;
    return out;
  }
  return data.slice();
}

/**
 * segmentation_models' `patch_first_conv`: a 3-channel stem into a 1-channel model sums over input channels; into n
 * channels it repeats channels cyclically scaled by 3/n.
 */
function adaptStem(t: SafeTensor, inChannels: number): SafeTensor {
  const [o, i, h, w] = t.shape as [number, number, number, number];
  const src = t.data as Float32Array;
  const out = new Float32Array(o * inChannels * h * w);
  for (let k = 0; k < o; k++)
    for (let c = 0; c < inChannels; c++)
      for (let p = 0; p < h * w; p++) {
        let v = 0;
        if (inChannels === 1) for (let s = 0; s < i; s++) v += src[(k * i + s) * h * w + p]!;
        else v = (src[(k * i + (c % i)) * h * w + p]! * i) / inChannels;
        out[(k * inChannels + c) * h * w + p] = v;
      }
  return { dtype: 'F32', shape: [o, inChannels, h, w], data: out };
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

function list(items: readonly string[], max = 12): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

/**
 * Copies PyTorch weights into a model from {@link createModel} (or one loaded from its saved files): convolution
 * weights OIHW → HWIO, linear [out, in] → [in, out], batch-norm `weight`/`bias`/`running_mean`/`running_var` →
 * gamma/beta/moving mean/moving variance. Accepts segmentation_models full-model names or torchvision ResNet names
 * (encoder only). An ImageNet 3-channel stem loads into a 1-channel model by summing over the input channels.
 * `num_batches_tracked` is skipped. With `strict` (default), nothing is written unless every tensor matches.
 * @throws {ModelsError} `WEIGHTS_MISMATCH` listing missing, unexpected and mis-shaped tensors; `INVALID_SAFETENSORS`
 *   when given bytes that do not decode.
 * @example
 * const report = loadPytorchWeights(model, new Uint8Array(await readFile('resnet34.safetensors')), { format: 'torchvision' });
 */
export function loadPytorchWeights(
  model: LayersModel,
  weights: Uint8Array | SafetensorsFile,
  { format = 'auto', strict = true }: LoadPytorchWeightsOptions = {},
): PytorchWeightsReport {
  if (format !== 'auto' && format !== 'segmentation-models' && format !== 'torchvision') {
    throw new ModelsError('INVALID_OPTION', `Unknown format ${echo(format)}; expected one of: auto, segmentation-models, torchvision.`);
  }
  const file = weights instanceof Uint8Array ? decodeSafetensors(weights) : weights;
  const names = [...file.tensors.keys()];
  const chosen: PytorchWeightsFormat =
    format !== 'auto' ? format : names.some((n) => n.startsWith('encoder.')) ? 'segmentation-models' : 'torchvision';

  const all = targets(model);
  const expected = new Map<string, Target>();
  for (const [name, target] of all) {
    if (chosen === 'segmentation-models') expected.set(name, target);
    else if (name.startsWith('encoder.')) expected.set(name.slice('encoder.'.length), target);
  }
  const stemName = chosen === 'segmentation-models' ? 'encoder.conv1.weight' : 'conv1.weight';

  const ignored: string[] = [];
  const unexpected: string[] = [];
  const mismatched: { name: string; expected: number[]; got: number[]; dtype: string }[] = [];
  const writes: [Target, SafeTensor, string][] = [];
  for (const [name, tensor] of file.tensors) {
    if (name.endsWith('num_batches_tracked') || (chosen === 'torchvision' && /^fc\./.test(name))) {
      ignored.push(name);
      continue;
    }
    const target = expected.get(name);
    if (!target) {
      unexpected.push(name);
      continue;
    }
    let t = tensor;
    const isFloat = t.data instanceof Float32Array;
    const wantIn = target.torchShape[1];
    if (isFloat && name === stemName && t.shape.length === 4 && wantIn !== undefined && t.shape[1] === 3 && wantIn !== 3 && sameShape(
      [t.shape[0]!, t.shape[2]!, t.shape[3]!],
      [target.torchShape[0]!, target.torchShape[2]!, target.torchShape[3]!],
    )) {
      t = adaptStem(t, wantIn);
    }
    if (!isFloat || !sameShape(t.shape, target.torchShape)) {
      mismatched.push({ name, expected: target.torchShape, got: [...tensor.shape], dtype: tensor.dtype });
      continue;
    }
    writes.push([target, t, name]);
  }
  const present = new Set(file.tensors.keys());
  const missing = [...expected.keys()].filter((n) => !present.has(n));

  if (strict && (missing.length > 0 || unexpected.length > 0 || mismatched.length > 0)) {
    const parts: string[] = [];
    if (missing.length > 0) parts.push(`${missing.length} missing: ${list(missing)}`);
    if (unexpected.length > 0) parts.push(`${unexpected.length} unexpected: ${list(unexpected)}`);
    if (mismatched.length > 0) {
      const shown = mismatched.map((m) => `${m.name} expected [${m.expected.join(', ')}] got ${m.dtype} [${m.got.join(', ')}]`);
      parts.push(`${mismatched.length} mis-shaped: ${list(shown, 6)}`);
    }
    throw new ModelsError(
      'WEIGHTS_MISMATCH',
      `PyTorch weights (${chosen} names) do not fit model ${model.name}: ${parts.join('; ')}. Check architecture, encoder, inChannels and classes, or pass { strict: false }.`,
    );
  }

  for (const [target, t] of writes) {
    const shape = target.variable.shape as number[];
    const value = tf.tensor(toTfjsLayout(t.data as Float32Array, target.torchShape), shape, 'float32');
    target.variable.write(value);
    value.dispose();
  }
  return { format: chosen, loaded: writes.map(([, , n]) => n), ignored, missing, unexpected, mismatched };
}

/**
 * The model's weights as a PyTorch state_dict in segmentation_models naming and layout (OIHW convolutions, [out, in]
 * linear), plus `num_batches_tracked = 0` for each batch norm: pass it to {@link encodeSafetensors} to bring a tfjs model
 * to PyTorch (`model.load_state_dict(safetensors.torch.load_file(path))`).
 * @example await writeFile('unet.safetensors', encodeSafetensors(toPytorchWeights(model)));
 */
export function toPytorchWeights(model: LayersModel): Map<string, { shape: number[]; data: Float32Array | BigInt64Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array | BigInt64Array }>();
  for (const [name, target] of targets(model)) {
    const shape = target.variable.shape as number[];
    const data = target.variable.read().dataSync() as Float32Array;
    out.set(name, { shape: target.torchShape, data: toTorchLayout(data, shape) });
    if (name.endsWith('.running_var')) {
      out.set(name.replace(/running_var$/, 'num_batches_tracked'), { shape: [], data: new BigInt64Array(1) });
    }
  }
  return out;
}
