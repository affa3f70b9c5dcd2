// createModel: validates options, then wires input → size check → encoder (encoders/registry.ts) → decoder and head
// (decoders/registry.ts) → logits, plus the optional classification head. countParameters counts as PyTorch does.
import { input, layers, model as functionalModel, type LayersModel } from '@tensorflow/tfjs-layers';
import { apply, kernelInitializer } from './blocks.ts';
import { architectures, type ArchitectureName } from './decoders/registry.ts';
import { encoders, type EncoderName } from './encoders/registry.ts';
import { echo, ModelsError } from './errors.ts';
import { checkInputShape, InputSizeCheck } from './layers.ts';
import type { EncoderSpec } from './model-spec.ts';

/** Options of the optional classification head. */
export interface ClassificationHeadOptions {
  /** Dropout rate before the dense layer, in [0, 1). Default 0.2. */
  dropout?: number;
}

/** Options of {@link createModel}. */
export interface CreateModelOptions {
  /** Decoder and head: a name in {@link architectures} (`'unet'`, `'fpn'`). */
  architecture: ArchitectureName;
  /** Encoder: a name in {@link encoders} (`'resnet18'`, `'resnet34'`, ...). */
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
  const features = spec.build(checked, { seed });
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
  return functionalModel({ inputs: x, outputs: outputs.length === 1 ? outputs[0]! : outputs, name: `${architecture}_${encoder}` });
}

/**
 * Number of trainable parameters: what PyTorch's `sum(p.numel() for p in model.parameters())` counts (batch-norm
 * running statistics excluded, unlike tfjs' `model.countParams()`).
 * @example countParameters(createModel({ architecture: 'unet', encoder: 'resnet18', inChannels: 3, classes: 4 })); // 14328644
 */
export function countParameters(model: LayersModel): number {
  return model.trainableWeights.reduce((sum, w) => sum + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
}
