// tfjs-layers layer classes → ONNX nodes, in NCHW: rank-4 values are [N, C, H, W] throughout the graph, so no Transpose
// sits between layers. Converters are looked up by class name; a model of any depth (any encoder built from these
// layers) exports without changes here.
import type { layers } from '@tensorflow/tfjs-layers';
import { echo, OnnxError } from './errors.ts';
import type { GraphBuilder, Value } from './graph.ts';
import { attr, type Attribute } from './proto.ts';

type Layer = layers.Layer;
type Config = Record<string, unknown>;

/** What a converter receives for one application of a layer. */
export interface LayerContext {
  readonly g: GraphBuilder;
  readonly layer: Layer;
  readonly config: Config;
  readonly inputs: readonly Value[];
  /** A BatchNormalization layer that alone consumes this layer's output, to be folded into it (Conv2D only). */
  readonly fold: Layer | null;
}

/** Converts one layer application; returns its outputs. */
export type LayerConverter = (ctx: LayerContext) => Value[];

// ---- helpers ----------------------------------------------------------------------------------------------------

function unsupported(layer: Layer, what: string): never {
  throw new OnnxError('UNSUPPORTED_LAYER', `Cannot export layer "${layer.name}" (${layer.getClassName()}): ${what}.`);
}

/** The weight of `layer` called `key` (`kernel`, `bias`, `gamma`...), as float32 values, or null when absent. */
function weight(layer: Layer, key: string): Float32Array | null {
  const pattern = new RegExp(`(^|/)${key}(_\\d+)?$`);
  const variable = layer.weights.find((w) => pattern.test(w.originalName) || pattern.test(w.name));
  return variable ? (variable.read().dataSync() as Float32Array) : null;
}

function pair(value: unknown, layer: Layer, what: string): [number, number] {
  const v = Array.isArray(value) ? value : [value, value];
  if (v.length !== 2 || !v.every((n) => Number.isInteger(n))) unsupported(layer, `${what} ${echo(value)} is not two integers`);
  return v as [number, number];
}

function channelsLast(layer: Layer, config: Config): void {
  if (config['dataFormat'] != null && config['dataFormat'] !== 'channelsLast') {
    unsupported(layer, `dataFormat ${echo(config['dataFormat'])}; only channelsLast models are supported`);
  }
}

/** NHWC axis of a rank-`rank` tfjs tensor → the same axis of the NCHW ONNX value. */
function toOnnxAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (rank !== 4) return a;
  return [0, 2, 3, 1][a]!;
}

const value = (name: string, rank: number, nonNegative = false): Value => ({ name, rank, nonNegative });

/** Applies a Keras activation by name to `x`. */
function activation(g: GraphBuilder, layer: Layer, x: Value, name: unknown): Value {
  const base = layer.name;
  const one = (op: string, attributes: Attribute[] = [], nonNegative = false) =>
    value(g.node(op, base, [x.name], attributes)[0]!, x.rank, nonNegative);
  switch (name ?? 'linear') {
    case 'linear':
      return x;
    case 'relu':
      return one('Relu', [], true);
    case 'relu6':
      return value(g.node('Clip', base, [x.name, g.float(`${base}.min`, [], Float32Array.of(0)), g.float(`${base}.max`, [], Float32Array.of(6))])[0]!, x.rank, true);
    case 'sigmoid':
      return one('Sigmoid', [], true);
    case 'tanh':
      return one('Tanh');
    case 'elu':
      return one('Elu', [attr.float('alpha', 1)]);
    case 'selu':
      return one('Selu');
    case 'softplus':
      return one('Softplus', [], true);
    case 'softsign':
      return one('Softsign');
    case 'softmax':
      return one('Softmax', [attr.int('axis', x.rank === 4 ? 1 : -1)], true);
    case 'swish': {
      const [s] = g.node('Sigmoid', base, [x.name]);
      return value(g.node('Mul', base, [x.name, s!])[0]!, x.rank);
    }
    default:
      return unsupported(layer, `activation ${echo(name)}`);
  }
}

/** Batch-norm scale and shift per channel: y = x * scale + shift (float64). */
function batchNormAffine(bn: Layer, config: Config): { scale: Float64Array; shift: Float64Array } {
  const mean = weight(bn, 'moving_mean');
  const variance = weight(bn, 'moving_variance');
  if (!mean || !variance) unsupported(bn, 'moving statistics not found');
  const gamma = weight(bn, 'gamma');
  const beta = weight(bn, 'beta');
  const eps = Number(config['epsilon'] ?? 1e-3);
  const scale = new Float64Array(mean.length);
  const shift = new Float64Array(mean.length);
  for (let c = 0; c < mean.length; c++) {
    scale[c] = (gamma ? gamma[c]! : 1) / Math.sqrt(variance[c]! + eps);
    shift[c] = (beta ? beta[c]! : 0) - mean[c]! * scale[c]!;
  }
  return { scale, shift };
}

function isChannelAxis(axis: unknown, rank: number): boolean {
  const a = Array.isArray(axis) ? axis : [axis ?? -1];
  return a.length === 1 && (a[0] === -1 || a[0] === rank - 1);
}

// ---- converters -------------------------------------------------------------------------------------------------

const identity: LayerConverter = ({ inputs }) => [inputs[0]!];

const conv2d: LayerConverter = ({ g, layer, config, inputs, fold }) => {
  channelsLast(layer, config);
  const x = inputs[0]!;
  const [kh, kw] = pair(config['kernelSize'], layer, 'kernelSize');
  const strides = pair(config['strides'] ?? 1, layer, 'strides');
  const dilations = pair(config['dilationRate'] ?? 1, layer, 'dilationRate');
  const kernel = weight(layer, 'kernel');
  if (!kernel) unsupported(layer, 'kernel not found');
  const co = Number(config['filters']);
  const ci = kernel.length / (kh * kw * co);
  const bias = config['useBias'] === false ? null : weight(layer, 'bias');
  const affine = fold ? batchNormAffine(fold, fold.getConfig()) : null;
  // HWIO → OIHW, with the folded batch norm's scale per output channel.
  const w = new Float32Array(kernel.length);
  for (let o = 0; o < co; o++) {
    const s = affine ? affine.scale[o]! : 1;
    for (let i = 0; i < ci; i++) {
      for (let y = 0; y < kh; y++) {
        for (let xx = 0; xx < kw; xx++) w[((o * ci + i) * kh + y) * kw + xx] = kernel[((y * kw + xx) * ci + i) * co + o]! * s;
      }
    }
  }
  let b: Float32Array | null = null;
  if (bias || affine) {
    b = new Float32Array(co);
    for (let o = 0; o < co; o++) b[o] = (bias ? bias[o]! : 0) * (affine ? affine.scale[o]! : 1) + (affine ? affine.shift[o]! : 0);
  }
  const attributes = [attr.ints('kernel_shape', [kh, kw]), attr.ints('strides', strides), attr.ints('dilations', dilations)];
  let input = x.name;
  if (config['padding'] === 'valid') {
    // Pending zero padding becomes the convolution's own padding.
    const [top, left, bottom, right] = x.pad ?? [0, 0, 0, 0];
    attributes.push(attr.ints('pads', [top, left, bottom, right]));
  } else if (config['padding'] === 'same') {
    input = g.materialize(x);
    if (strides[0] === 1 && strides[1] === 1) {
      // TF's 'same' at stride 1: total (k-1)·d, the smaller half first.
      const th = (kh - 1) * dilations[0];
      const tw = (kw - 1) * dilations[1];
      attributes.push(attr.ints('pads', [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)]));
    } else {
      attributes.push(attr.string('auto_pad', 'SAME_UPPER'));
    }
  } else {
    unsupported(layer, `padding ${echo(config['padding'])}`);
  }
  const inputsOfConv = [input, g.float(`${layer.name}.weight`, [co, ci, kh, kw], w)];
  if (b) inputsOfConv.push(g.float(`${layer.name}.bias`, [co], b));
  const [out] = g.node('Conv', fold ? fold.name : layer.name, inputsOfConv, attributes);
  return [activation(g, layer, value(out!, 4), config['activation'])];
};

const batchNormalization: LayerConverter = ({ g, layer, config, inputs }) => {
  const x = inputs[0]!;
  if (!isChannelAxis(config['axis'], x.rank)) unsupported(layer, `axis ${echo(config['axis'])}; only the channel axis is supported`);
  const { scale, shift } = batchNormAffine(layer, config);
  const shape = x.rank === 4 ? [scale.length, 1, 1] : [scale.length];
  const s = g.float(`${layer.name}.scale`, shape, Float32Array.from(scale));
  const t = g.float(`${layer.name}.shift`, shape, Float32Array.from(shift));
  const [m] = g.node('Mul', layer.name, [g.materialize(x), s]);
  return [value(g.node('Add', layer.name, [m!, t])[0]!, x.rank)];
};

const groupNormalization: LayerConverter = ({ g, layer, config, inputs }) => {
  // GroupNorm = InstanceNormalization over [N, groups, C/groups·H·W], then the per-channel affine.
  const x = inputs[0]!;
  const groups = Number(config['groups']);
  const gamma = weight(layer, 'gamma');
  const beta = weight(layer, 'beta');
  if (!gamma || !beta) unsupported(layer, 'gamma or beta not found');
  const n = layer.name;
  const xs = g.materialize(x);
  const [grouped] = g.node('Reshape', `${n}.group`, [xs, g.int64(`${n}.groups_shape`, [0, groups, -1])]);
  const [normed] = g.node('InstanceNormalization', n, [grouped!, g.float(`${n}.ones`, [groups], new Float32Array(groups).fill(1)), g.float(`${n}.zeros`, [groups], new Float32Array(groups))], [
    attr.float('epsilon', Number(config['epsilon'] ?? 1e-5)),
  ]);
  const [shape] = g.node('Shape', `${n}.shape`, [xs]);
  const [back] = g.node('Reshape', `${n}.ungroup`, [normed!, shape!]);
  const [scaled] = g.node('Mul', n, [back!, g.float(`${n}.gamma`, [gamma.length, 1, 1], gamma)]);
  return [value(g.node('Add', n, [scaled!, g.float(`${n}.beta`, [beta.length, 1, 1], beta)])[0]!, 4)];
};

const relu: LayerConverter = ({ g, layer, config, inputs }) => {
  const x = inputs[0]!;
  const max = config['maxValue'];
  const threshold = Number(config['threshold'] ?? 0);
  const slope = Number(config['negativeSlope'] ?? 0);
  if (threshold !== 0 || slope !== 0) unsupported(layer, 'ReLU with threshold or negativeSlope');
  if (max == null) return [value(g.node('Relu', layer.name, [g.materialize(x)])[0]!, x.rank, true)];
  const lo = g.float(`${layer.name}.min`, [], Float32Array.of(0));
  const hi = g.float(`${layer.name}.max`, [], Float32Array.of(Number(max)));
  return [value(g.node('Clip', layer.name, [g.materialize(x), lo, hi])[0]!, x.rank, true)];
};

const leakyRelu: LayerConverter = ({ g, layer, config, inputs }) => {
  const x = inputs[0]!;
  return [value(g.node('LeakyRelu', layer.name, [g.materialize(x)], [attr.float('alpha', Number(config['alpha'] ?? 0.3))])[0]!, x.rank)];
};

const activationLayer: LayerConverter = ({ g, layer, config, inputs }) => {
  const x = inputs[0]!;
  return [activation(g, layer, { ...x, name: g.materialize(x), pad: [0, 0, 0, 0] }, config['activation'])];
};

const zeroPadding2d: LayerConverter = ({ layer, config, inputs }) => {
  channelsLast(layer, config);
  const x = inputs[0]!;
  const p = config['padding'];
  const [[top, bottom], [left, right]] = (
    typeof p === 'number' ? [[p, p], [p, p]] : Array.isArray(p) && typeof p[0] === 'number' ? [[p[0], p[0]], [p[1], p[1]]] : p
  ) as [[number, number], [number, number]];
  const [t0, l0, b0, r0] = x.pad ?? [0, 0, 0, 0];
  return [{ ...x, pad: [t0 + top, l0 + left, b0 + bottom, r0 + right] }];
};

function pooling(op: 'MaxPool' | 'AveragePool'): LayerConverter {
  return ({ g, layer, config, inputs }) => {
    channelsLast(layer, config);
    const x = inputs[0]!;
    const kernel = pair(config['poolSize'], layer, 'poolSize');
    const strides = pair(config['strides'] ?? config['poolSize'], layer, 'strides');
    const attributes = [attr.ints('kernel_shape', kernel), attr.ints('strides', strides)];
    let input: string;
    if (config['padding'] === 'same') {
      input = g.materialize(x);
      attributes.push(attr.string('auto_pad', 'SAME_UPPER'));
    } else if (op === 'MaxPool' && x.pad && x.nonNegative) {
      // MaxPool pads with -inf; on a tensor >= 0 that equals zero padding.
      input = x.name;
      const [top, left, bottom, right] = x.pad;
      attributes.push(attr.ints('pads', [top, left, bottom, right]));
    } else {
      input = g.materialize(x);
    }
    return [value(g.node(op, layer.name, [input], attributes)[0]!, 4, x.nonNegative)];
  };
}

function globalPooling(op: 'GlobalAveragePool' | 'GlobalMaxPool'): LayerConverter {
  return ({ g, layer, config, inputs }) => {
    channelsLast(layer, config);
    const x = inputs[0]!;
    const [pooled] = g.node(op, layer.name, [g.materialize(x)]);
    if (config['keepDims'] === true) return [value(pooled!, 4, x.nonNegative)];
    return [value(g.node('Flatten', layer.name, [pooled!], [attr.int('axis', 1)])[0]!, 2, x.nonNegative)];
  };
}

const upSampling2d: LayerConverter = ({ g, layer, config, inputs }) => {
  channelsLast(layer, config);
  const x = inputs[0]!;
  const [sh, sw] = pair(config['size'] ?? 2, layer, 'size');
  // tfjs resizes with align_corners=false, half_pixel_centers=false: source index = i · in / out.
  const attributes =
    config['interpolation'] === 'bilinear'
      ? [attr.string('mode', 'linear'), attr.string('coordinate_transformation_mode', 'asymmetric')]
      : [attr.string('mode', 'nearest'), attr.string('coordinate_transformation_mode', 'asymmetric'), attr.string('nearest_mode', 'floor')];
  return [resize(g, layer, x, sh, sw, attributes)];
};

const bilinearUpsampling: LayerConverter = ({ g, layer, config, inputs }) => {
  const s = Number(config['scale'] ?? 2);
  const attributes = [attr.string('mode', 'linear'), attr.string('coordinate_transformation_mode', 'align_corners')];
  return [resize(g, layer, inputs[0]!, s, s, attributes)];
};

function resize(g: GraphBuilder, layer: Layer, x: Value, sh: number, sw: number, attributes: Attribute[]): Value {
  const scales = g.float(`${layer.name}.scales`, [4], Float32Array.of(1, 1, sh, sw));
  return value(g.node('Resize', layer.name, [g.materialize(x), '', scales], attributes)[0]!, 4, x.nonNegative);
}

function merge(op: 'Sum' | 'Mul' | 'Sub' | 'Mean' | 'Max' | 'Min'): LayerConverter {
  return ({ g, layer, inputs }) => {
    const names = inputs.map((x) => g.materialize(x));
    const rank = Math.max(...inputs.map((x) => x.rank));
    const nonNegative = inputs.every((x) => x.nonNegative) && op !== 'Sub';
    if (op === 'Mul' || op === 'Sub') {
      let acc = names[0]!;
      for (const next of names.slice(1)) acc = g.node(op, layer.name, [acc, next])[0]!;
      return [value(acc, rank, nonNegative)];
    }
    return [value(g.node(op, layer.name, names)[0]!, rank, nonNegative)];
  };
}

const concatenate: LayerConverter = ({ g, layer, config, inputs }) => {
  const rank = inputs[0]!.rank;
  const axis = toOnnxAxis(Number(config['axis'] ?? -1), rank);
  const names = inputs.map((x) => g.materialize(x));
  return [value(g.node('Concat', layer.name, names, [attr.int('axis', axis)])[0]!, rank, inputs.every((x) => x.nonNegative))];
};

const dense: LayerConverter = ({ g, layer, config, inputs }) => {
  const x = inputs[0]!;
  if (x.rank !== 2) unsupported(layer, `Dense on a rank-${x.rank} input; only [batch, features] inputs are supported`);
  const kernel = weight(layer, 'kernel');
  if (!kernel) unsupported(layer, 'kernel not found');
  const units = Number(config['units']);
  const k = g.float(`${layer.name}.weight`, [kernel.length / units, units], kernel);
  const bias = config['useBias'] === false ? null : weight(layer, 'bias');
  const [out] = bias
    ? g.node('Gemm', layer.name, [x.name, k, g.float(`${layer.name}.bias`, [units], bias)])
    : g.node('MatMul', layer.name, [x.name, k]);
  return [activation(g, layer, value(out!, 2), config['activation'])];
};

const flatten: LayerConverter = ({ g, layer, inputs }) => {
  const x = inputs[0]!;
  let name = g.materialize(x);
  // tfjs flattens NHWC order: put channels last again first.
  if (x.rank === 4) name = g.node('Transpose', layer.name, [name], [attr.ints('perm', [0, 2, 3, 1])])[0]!;
  return [value(g.node('Flatten', layer.name, [name], [attr.int('axis', 1)])[0]!, 2, x.nonNegative)];
};

/**
 * Converters by tfjs-layers class name. Dropout and noise layers are the identity at inference, as is the input-size
 * check (the ONNX graph documents the multiple-of-32 rule on its input instead).
 */
export const LAYER_CONVERTERS: Readonly<Record<string, LayerConverter>> = {
  InputLayer: identity,
  SteelInputSizeCheck: identity,
  Dropout: identity,
  SpatialDropout1D: identity,
  GaussianNoise: identity,
  GaussianDropout: identity,
  AlphaDropout: identity,
  Conv2D: conv2d,
  BatchNormalization: batchNormalization,
  SteelGroupNormalization: groupNormalization,
  ReLU: relu,
  LeakyReLU: leakyRelu,
  Activation: activationLayer,
  ZeroPadding2D: zeroPadding2d,
  MaxPooling2D: pooling('MaxPool'),
  AveragePooling2D: pooling('AveragePool'),
  GlobalAveragePooling2D: globalPooling('GlobalAveragePool'),
  GlobalMaxPooling2D: globalPooling('GlobalMaxPool'),
  UpSampling2D: upSampling2d,
  SteelBilinearUpsampling: bilinearUpsampling,
  Add: merge('Sum'),
  Multiply: merge('Mul'),
  Subtract: merge('Sub'),
  Average: merge('Mean'),
  Maximum: merge('Max'),
  Minimum: merge('Min'),
  Concatenate: concatenate,
  Dense: dense,
  Flatten: flatten,
};

/** The tfjs-layers class names {@link exportOnnx} converts. */
export const SUPPORTED_LAYERS: readonly string[] = Object.freeze(Object.keys(LAYER_CONVERTERS));

/** Whether a BatchNormalization layer with this config, on a rank-4 tensor, can be folded into the Conv2D before it. */
export function canFoldBatchNorm(conv: Layer, bn: Layer): boolean {
  const c = conv.getConfig();
  return (
    conv.getClassName() === 'Conv2D' &&
    bn.getClassName() === 'BatchNormalization' &&
    (c['activation'] ?? 'linear') === 'linear' &&
    isChannelAxis(bn.getConfig()['axis'], 4)
  );
}
