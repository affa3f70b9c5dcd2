// UNet and FPN on torchvision ResNet encoders, layer for layer as PyTorch's segmentation_models builds them. Layers are
// named after the PyTorch modules (`encoder.layer2.0.conv1`, `decoder.blocks.0.conv1.0`, `segmentation_head.0`), so a
// state_dict key is `<layer name>.<weight|bias|running_mean|running_var>`.
import { initializers, input, layers, model as buildModel, type LayersModel, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import { echo, ModelsError } from './errors';
import { BilinearUpsampling, checkInputShape, GroupNormalization, InputSizeCheck } from './layers';
import { deriveSeed } from './seed';

/** A ResNet encoder of BasicBlocks: blocks per stage and channels of the features at strides 2, 4, 8, 16, 32. */
export interface EncoderSpec {
  /** BasicBlocks in layer1..layer4. */
  readonly blocks: readonly [number, number, number, number];
  /** Channels of f1..f5 (strides 2, 4, 8, 16, 32). */
  readonly channels: readonly [number, number, number, number, number];
  /** One line for error messages and docs. */
  readonly description: string;
}

/** Encoders by name: torchvision's ResNet18 and ResNet34 without the classifier (`avgpool`, `fc`). */
export const encoders = {
  resnet18: { blocks: [2, 2, 2, 2], channels: [64, 64, 128, 256, 512], description: 'torchvision ResNet18, 11.2 M parameters' },
  resnet34: { blocks: [3, 4, 6, 3], channels: [64, 64, 128, 256, 512], description: 'torchvision ResNet34, 21.3 M parameters' },
} as const satisfies Record<string, EncoderSpec>;

/** Name of an encoder in {@link encoders}. */
export type EncoderName = keyof typeof encoders;

/** What an architecture's decoder builder receives. */
export interface DecoderContext {
  /** Output channels of the segmentation head (one logit per class). */
  readonly classes: number;
  /** Model seed; derive per-layer seeds from it. */
  readonly seed: number;
  /** Channels of the encoder features f1..f5. */
  readonly encoderChannels: readonly number[];
  /** Initial bias of the segmentation head's logits. */
  readonly headBias: number;
}

/** A decoder plus segmentation head: from encoder features f1..f5 (strides 2..32) to logits at the input size. */
export interface ArchitectureSpec {
  /** One line for error messages and docs. */
  readonly description: string;
  /** Builds the decoder and head on symbolic features `[f1, f2, f3, f4, f5]`; returns NHWC logits. */
  readonly build: (features: readonly SymbolicTensor[], context: DecoderContext) => SymbolicTensor;
}

// ---- layer helpers ----------------------------------------------------------------------------------------------

type Init = 'encoder' | 'decoder' | 'head';

function kernelInitializer(kind: Init, seed: number, name: string) {
  const s = deriveSeed(seed, name);
  // torchvision: kaiming_normal_(fan_out, relu); segmentation_models decoder: kaiming_uniform_(fan_in, relu);
  // heads: xavier_uniform_.
  if (kind === 'encoder') return initializers.varianceScaling({ scale: 2, mode: 'fanOut', distribution: 'normal', seed: s });
  if (kind === 'decoder') return initializers.heUniform({ seed: s });
  return initializers.glorotUniform({ seed: s });
}

function apply(layer: layers.Layer, x: SymbolicTensor | SymbolicTensor[]): SymbolicTensor {
  return layer.apply(x) as SymbolicTensor;
}

interface ConvOptions {
  strides?: number;
  padding?: 'same' | 'valid';
  useBias?: boolean;
  /** Constant initial bias (default 0). */
  bias?: number;
  init: Init;
  seed: number;
}

function conv(x: SymbolicTensor, name: string, filters: number, kernelSize: number, o: ConvOptions): SymbolicTensor {
  return apply(
    layers.conv2d({
      name,
      filters,
      kernelSize,
      strides: o.strides ?? 1,
      padding: o.padding ?? 'same',
      useBias: o.useBias ?? false,
      kernelInitializer: kernelInitializer(o.init, o.seed, name),
      biasInitializer: o.bias ? initializers.constant({ value: o.bias }) : 'zeros',
    }),
    x,
  );
}

function pad(x: SymbolicTensor, name: string, p: number): SymbolicTensor {
  return apply(layers.zeroPadding2d({ name, padding: [[p, p], [p, p]] }), x);
}

function batchNorm(x: SymbolicTensor, name: string): SymbolicTensor {
  // PyTorch: eps 1e-5, momentum 0.1 (= Keras momentum 0.9).
  return apply(layers.batchNormalization({ name, axis: -1, epsilon: 1e-5, momentum: 0.9 }), x);
}

function relu(x: SymbolicTensor, name: string): SymbolicTensor {
  return apply(layers.reLU({ name }), x);
}

function upNearest(x: SymbolicTensor, name: string): SymbolicTensor {
  return apply(layers.upSampling2d({ name, size: [2, 2], interpolation: 'nearest' }), x);
}

// ---- encoder ----------------------------------------------------------------------------------------------------

function basicBlock(x: SymbolicTensor, name: string, filters: number, stride: number, downsample: boolean, seed: number): SymbolicTensor {
  const o = { init: 'encoder', seed } as const;
  // torch pads symmetrically; tfjs 'same' at stride 2 pads 0 before / 1 after, so strided convs pad explicitly.
  let y =
    stride === 1
      ? conv(x, `${name}.conv1`, filters, 3, o)
      : conv(pad(x, `${name}.conv1.pad`, 1), `${name}.conv1`, filters, 3, { ...o, strides: stride, padding: 'valid' });
  y = relu(batchNorm(y, `${name}.bn1`), `${name}.relu1`);
  y = batchNorm(conv(y, `${name}.conv2`, filters, 3, o), `${name}.bn2`);
  const identity = downsample
    ? batchNorm(conv(x, `${name}.downsample.0`, filters, 1, { ...o, strides: stride, padding: 'valid' }), `${name}.downsample.1`)
    : x;
  return relu(apply(layers.add({ name: `${name}.add` }), [y, identity]), `${name}.relu2`);
}

function buildEncoder(x: SymbolicTensor, spec: EncoderSpec, seed: number): SymbolicTensor[] {
  const o = { init: 'encoder', seed } as const;
  let y = conv(pad(x, 'encoder.conv1.pad', 3), 'encoder.conv1', 64, 7, { ...o, strides: 2, padding: 'valid' });
  const f1 = relu(batchNorm(y, 'encoder.bn1'), 'encoder.relu');
  // Zero padding equals torch's -inf padding here only because the input is post-ReLU (>= 0).
  y = apply(layers.maxPooling2d({ name: 'encoder.maxpool', poolSize: 3, strides: 2, padding: 'valid' }), pad(f1, 'encoder.maxpool.pad', 1));
  const features = [f1];
  let inChannels = 64;
  spec.blocks.forEach((count, stage) => {
    const filters = spec.channels[stage + 1]!;
    for (let i = 0; i < count; i++) {
      const stride = i === 0 && stage > 0 ? 2 : 1;
      const downsample = i === 0 && (stride !== 1 || inChannels !== filters);
      y = basicBlock(y, `encoder.layer${stage + 1}.${i}`, filters, stride, downsample, seed);
      inChannels = filters;
    }
    features.push(y);
  });
  return features;
}

// ---- decoders ---------------------------------------------------------------------------------------------------

/** UNet decoder channels, deepest first (segmentation_models' default). */
export const UNET_DECODER_CHANNELS = [256, 128, 64, 32, 16] as const;

function buildUnet(features: readonly SymbolicTensor[], { classes, seed, headBias }: DecoderContext): SymbolicTensor {
  const o = { init: 'decoder', seed } as const;
  const skips = [features[3], features[2], features[1], features[0], undefined];
  let x = features[4]!;
  UNET_DECODER_CHANNELS.forEach((channels, i) => {
    const name = `decoder.blocks.${i}`;
    x = upNearest(x, `${name}.up`);
    const skip = skips[i];
    // Concat order is [upsampled, skip] on the channel axis.
    if (skip) x = apply(layers.concatenate({ name: `${name}.concat`, axis: -1 }), [x, skip]);
    for (const c of ['conv1', 'conv2']) {
      x = relu(batchNorm(conv(x, `${name}.${c}.0`, channels, 3, o), `${name}.${c}.1`), `${name}.${c}.2`);
    }
  });
  return conv(x, 'segmentation_head.0', classes, 3, { init: 'head', seed, useBias: true, bias: headBias });
}

/** FPN pyramid and segmentation channels (segmentation_models' defaults). */
export const FPN_CHANNELS = { pyramid: 256, segmentation: 128, dropout: 0.2 } as const;

function conv3x3GnRelu(x: SymbolicTensor, name: string, channels: number, upsample: boolean, seed: number): SymbolicTensor {
  let y = conv(x, `${name}.block.0`, channels, 3, { init: 'decoder', seed });
  y = apply(new GroupNormalization({ name: `${name}.block.1`, groups: 32, epsilon: 1e-5 }), y);
  y = relu(y, `${name}.block.2`);
  return upsample ? apply(new BilinearUpsampling({ name: `${name}.up`, scale: 2 }), y) : y;
}

function buildFpn(features: readonly SymbolicTensor[], { classes, seed, headBias }: DecoderContext): SymbolicTensor {
  const { pyramid, segmentation, dropout } = FPN_CHANNELS;
  const o = { init: 'decoder', seed, useBias: true, padding: 'valid' } as const;
  const p5 = conv(features[4]!, 'decoder.p5', pyramid, 1, o);
  const topDown = (previous: SymbolicTensor, skip: SymbolicTensor, name: string) =>
    apply(layers.add({ name: `${name}.add` }), [upNearest(previous, `${name}.up`), conv(skip, `${name}.skip_conv`, pyramid, 1, o)]);
  const p4 = topDown(p5, features[3]!, 'decoder.p4');
  const p3 = topDown(p4, features[2]!, 'decoder.p3');
  const p2 = topDown(p3, features[1]!, 'decoder.p2');
  const segmented = [p5, p4, p3, p2].map((p, i) => {
    const upsamples = 3 - i;
    let y = conv3x3GnRelu(p, `decoder.seg_blocks.${i}.block.0`, segmentation, upsamples > 0, seed);
    for (let j = 1; j < upsamples; j++) y = conv3x3GnRelu(y, `decoder.seg_blocks.${i}.block.${j}`, segmentation, true, seed);
    return y;
  });
  let x = apply(layers.add({ name: 'decoder.merge' }), segmented);
  // nn.Dropout2d: one keep/drop decision per sample and channel.
  x = apply(layers.dropout({ name: 'decoder.dropout', rate: dropout, noiseShape: [null, 1, 1, null] as unknown as number[] }), x);
  x = conv(x, 'segmentation_head.0', classes, 1, { init: 'head', seed, useBias: true, bias: headBias, padding: 'valid' });
  return apply(new BilinearUpsampling({ name: 'segmentation_head.1', scale: 4 }), x);
}

/** Architectures by name: decoder plus segmentation head, as segmentation_models defines them. */
export const architectures = {
  unet: {
    description: 'UNet: decoder 256-128-64-32-16, nearest x2, concat [upsampled, skip], (conv3x3-BN-ReLU) x2; head conv3x3',
    build: buildUnet,
  },
  fpn: {
    description: 'FPN: pyramid 256, segmentation 128, conv3x3-GroupNorm(32)-ReLU, bilinear x2, sum, dropout 0.2; head conv1x1 + bilinear x4',
    build: buildFpn,
  },
} satisfies Record<string, ArchitectureSpec>;

/** Name of an architecture in {@link architectures}. */
export type ArchitectureName = keyof typeof architectures;

// ---- createModel ------------------------------------------------------------------------------------------------

/** Options of the optional classification head. */
export interface ClassificationHeadOptions {
  /** Dropout rate before the dense layer, in [0, 1). Default 0.2. */
  dropout?: number;
}

/** Options of {@link createModel}. */
export interface CreateModelOptions {
  /** Decoder: `'unet'` or `'fpn'`. */
  architecture: ArchitectureName;
  /** Encoder: `'resnet18'` or `'resnet34'`. */
  encoder: EncoderName;
  /** Input channels (1 for grey images, 3 for RGB / ImageNet weights). Default 3. */
  inChannels?: number;
  /** Output channels: one logit map per class. Default 4 (Severstal's classes). */
  classes?: number;
  /** Seed of every initializer (each layer derives its own from this and its name). Default 0. */
  seed?: number;
  /**
   * Adds a second output `[batch, classes]` of per-class "present" logits: global average pool of the deepest
   * features, dropout, dense. `true` uses dropout 0.2. Default false (one output).
   */
  classificationHead?: boolean | ClassificationHeadOptions;
  /**
   * Initial bias of the segmentation head's logits. Default 0 (PyTorch's). A prior such as `-Math.log((1 - p) / p)` for a
   * defect pixel rate p (about -3.9 for 2%) starts training at the background rate instead of probability 0.5 everywhere,
   * so the first steps learn features instead of the bias.
   */
  headBias?: number;
  /** Fixed input height (multiple of 32), or null for any. Default null. */
  height?: number | null;
  /** Fixed input width (multiple of 32), or null for any. Default null. */
  width?: number | null;
}

function positiveInt(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ModelsError('INVALID_OPTION', `Expected ${what} to be a positive integer, got ${echo(value)}.`);
  }
  return value;
}

function pick<T extends object>(registry: T, name: unknown, what: string): keyof T {
  if (typeof name !== 'string' || !Object.hasOwn(registry, name)) {
    throw new ModelsError('UNKNOWN_NAME', `Unknown ${what} ${echo(name)}; expected one of: ${Object.keys(registry).join(', ')}.`);
  }
  return name as keyof T;
}

/**
 * Builds a segmentation model: a torchvision ResNet encoder with a UNet or FPN decoder, output logits NHWC
 * `[batch, height, width, classes]` (apply a sigmoid for probabilities). Input `[batch, height, width, inChannels]` with
 * height and width multiples of 32. With `classificationHead`, the model has two outputs: `[masks, classLogits]` where
 * `classLogits` is `[batch, classes]`. Layers carry PyTorch's module names, so {@link loadPytorchWeights} maps
 * segmentation_models and torchvision state_dicts onto it.
 * @throws {ModelsError} `UNKNOWN_NAME` for an unknown architecture or encoder, `INVALID_OPTION` for bad numbers,
 *   `INVALID_SHAPE` when a fixed height or width is not a multiple of 32.
 * @example
 * const model = createModel({ architecture: 'unet', encoder: 'resnet18', inChannels: 1, classes: 4, seed: 42 });
 * const logits = model.predict(tf.zeros([1, 256, 1600, 1])) as tf.Tensor4D; // [1, 256, 1600, 4]
 */
export function createModel(options: CreateModelOptions): LayersModel {
  if (options == null || typeof options !== 'object') {
    throw new ModelsError('INVALID_OPTION', `Expected an options object, got ${echo(options)}.`);
  }
  const architecture = pick(architectures, options.architecture, 'architecture');
  const encoder = pick(encoders, options.encoder, 'encoder');
  const inChannels = positiveInt(options.inChannels ?? 3, 'inChannels');
  const classes = positiveInt(options.classes ?? 4, 'classes');
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(seed)) throw new ModelsError('INVALID_OPTION', `Expected seed to be an integer, got ${echo(seed)}.`);
  const headBias = options.headBias ?? 0;
  if (typeof headBias !== 'number' || !Number.isFinite(headBias)) {
    throw new ModelsError('INVALID_OPTION', `Expected headBias to be a finite number, got ${echo(headBias)}.`);
  }
  const height = options.height ?? null;
  const width = options.width ?? null;
  if (height !== null) positiveInt(height, 'height');
  if (width !== null) positiveInt(width, 'width');
  checkInputShape([null, height, width, inChannels], inChannels);
  const head = options.classificationHead ?? false;
  const headDropout = typeof head === 'object' ? (head.dropout ?? 0.2) : 0.2;
  if (!(headDropout >= 0 && headDropout < 1)) {
    throw new ModelsError('INVALID_OPTION', `Expected classificationHead.dropout in [0, 1), got ${echo(headDropout)}.`);
  }

  const spec: EncoderSpec = encoders[encoder];
  const x = input({ shape: [height, width, inChannels], name: 'input' });
  const checked = apply(new InputSizeCheck({ name: 'input_check', multiple: 32 }), x);
  const features = buildEncoder(checked, spec, seed);
  const masks = architectures[architecture].build(features, { classes, seed, encoderChannels: spec.channels, headBias });
  const outputs = [masks];
  if (head) {
    let y = apply(layers.globalAveragePooling2d({ name: 'classification_head.0' }), features[4]!);
    if (headDropout > 0) y = apply(layers.dropout({ name: 'classification_head.2', rate: headDropout }), y);
    y = apply(
      layers.dense({
        name: 'classification_head.3',
        units: classes,
        kernelInitializer: kernelInitializer('head', seed, 'classification_head.3'),
        biasInitializer: 'zeros',
      }),
      y,
    );
    outputs.push(y);
  }
  return buildModel({ inputs: x, outputs: outputs.length === 1 ? outputs[0]! : outputs, name: `${architecture}_${encoder}` });
}

/**
 * Number of trainable parameters: what PyTorch's `sum(p.numel() for p in model.parameters())` counts (batch-norm
 * running statistics excluded, unlike tfjs' `model.countParams()`).
 * @example countParameters(createModel({ architecture: 'unet', encoder: 'resnet18', inChannels: 3, classes: 4 })); // 14328644
 */
export function countParameters(model: LayersModel): number {
  return model.trainableWeights.reduce((sum, w) => sum + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
}
