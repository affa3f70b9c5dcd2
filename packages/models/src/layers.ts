// Custom tfjs-layers layers that PyTorch's segmentation models need and tfjs-layers lacks. Each is serialisable under a
// `Steel*` class name; `registerSteelLayers()` makes them known to `tf.loadLayersModel`.
import * as tf from '@tensorflow/tfjs-core';
import { initializers, layers, type LayerVariable, type Shape } from '@tensorflow/tfjs-layers';
import { ModelsError } from './errors.ts';

type LayerArgs = NonNullable<ConstructorParameters<typeof layers.Layer>[0]>;
type Kwargs = Parameters<layers.Layer['call']>[1];

function oneTensor(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(inputs) ? inputs[0]! : inputs;
}
function oneShape(shape: Shape | Shape[]): Shape {
  return Array.isArray(shape[0]) ? (shape[0] as Shape) : (shape as Shape);
}

/** Arguments of {@link GroupNormalization}. */
export interface GroupNormalizationArgs extends LayerArgs {
  /** Number of groups; the channel count must be divisible by it. Default 32. */
  groups?: number;
  /** Added to the variance. Default 1e-5 (PyTorch's `nn.GroupNorm`). */
  epsilon?: number;
}

/**
 * PyTorch's `nn.GroupNorm(groups, C)` on NHWC input: channels split into contiguous groups of C/groups, mean and biased
 * variance per sample over (H, W, channels of the group), then a per-channel affine (`gamma`, `beta`).
 */
export class GroupNormalization extends layers.Layer {
  static className = 'SteelGroupNormalization';
  readonly groups: number;
  readonly epsilon: number;
  private gamma: LayerVariable | null = null;
  private beta: LayerVariable | null = null;

  constructor(args: GroupNormalizationArgs = {}) {
    super(args);
    this.groups = args.groups ?? 32;
    this.epsilon = args.epsilon ?? 1e-5;
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = oneShape(inputShape);
    const channels = shape[shape.length - 1];
    if (shape.length !== 4 || channels == null || channels % this.groups !== 0) {
      throw new ModelsError(
        'INVALID_SHAPE',
        `GroupNormalization(${this.groups}) expects NHWC input whose channels divide into ${this.groups} groups, got shape [${shape.join(', ')}].`,
      );
    }
    this.gamma = this.addWeight('gamma', [channels], 'float32', initializers.ones());
    this.beta = this.addWeight('beta', [channels], 'float32', initializers.zeros());
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = oneTensor(inputs);
      const [b, h, w, c] = x.shape as [number, number, number, number];
      const grouped = tf.reshape(x, [b, h, w, this.groups, c / this.groups]);
      const { mean, variance } = tf.moments(grouped, [1, 2, 4], true);
      const normed = tf.mul(tf.sub(grouped, mean), tf.rsqrt(tf.add(variance, this.epsilon)));
      const flat = tf.reshape(normed, [b, h, w, c]);
      return tf.add(tf.mul(flat, this.gamma!.read()), this.beta!.read());
    });
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return oneShape(inputShape);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), groups: this.groups, epsilon: this.epsilon };
  }
}

/** Arguments of {@link BilinearUpsampling}. */
export interface BilinearUpsamplingArgs extends LayerArgs {
  /** Integer scale factor for height and width. Default 2. */
  scale?: number;
}

/**
 * Bilinear upsampling by an integer factor with aligned corners (PyTorch's `interpolate(..., mode='bilinear',
 * align_corners=True)` and `nn.UpsamplingBilinear2d`): output pixel i samples input coordinate i·(in−1)/(out−1).
 */
export class BilinearUpsampling extends layers.Layer {
  static className = 'SteelBilinearUpsampling';
  readonly scale: number;

  constructor(args: BilinearUpsamplingArgs = {}) {
    super(args);
    this.scale = args.scale ?? 2;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = oneTensor(inputs) as tf.Tensor4D;
      const [, h, w] = x.shape;
      return tf.image.resizeBilinear(x, [h * this.scale, w * this.scale], true);
    });
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const [b, h, w, c] = oneShape(inputShape);
    return [b ?? null, h == null ? null : h * this.scale, w == null ? null : w * this.scale, c ?? null];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), scale: this.scale };
  }
}

/** The multiple of 32 nearest to `size` (at least 32); halves round up. */
export function nearestMultiple(size: number, multiple = 32): number {
  return Math.max(multiple, Math.round(size / multiple) * multiple);
}

/** Throws `INVALID_SHAPE` unless `shape` is NHWC with height and width divisible by `multiple` and `channels` channels. */
export function checkInputShape(shape: readonly (number | null | undefined)[], channels: number | null, multiple = 32): void {
  if (shape.length !== 4) {
    throw new ModelsError(
      'INVALID_SHAPE',
      `Expected an NHWC input of rank 4 [batch, height, width, channels], got shape [${shape.join(', ')}]; add the batch axis with tf.expandDims.`,
    );
  }
  const [, h, w, c] = shape;
  const bad = (n: number | null | undefined) => n != null && n % multiple !== 0;
  if (bad(h) || bad(w)) {
    const nh = h == null ? 'h' : nearestMultiple(h, multiple);
    const nw = w == null ? 'w' : nearestMultiple(w, multiple);
    throw new ModelsError(
      'INVALID_SHAPE',
      `Expected height and width divisible by ${multiple}, got ${h ?? 'h'}x${w ?? 'w'}; the nearest valid size is ${nh}x${nw}: pad right/bottom with 0 after normalisation (or resize) and crop the logits back.`,
    );
  }
  if (channels != null && c != null && c !== channels) {
    throw new ModelsError('INVALID_SHAPE', `Expected ${channels} input channel(s), got ${c} (shape [${shape.join(', ')}]).`);
  }
}

/** Arguments of {@link InputSizeCheck}. */
export interface InputSizeCheckArgs extends LayerArgs {
  /** Height and width must be divisible by this. Default 32. */
  multiple?: number;
}

/**
 * Passes its input through unchanged after checking that height and width are divisible by `multiple`; throws a
 * `ModelsError` with code `INVALID_SHAPE` naming the nearest valid size otherwise (both when the model is built with a
 * fixed size and on every call).
 */
export class InputSizeCheck extends layers.Layer {
  static className = 'SteelInputSizeCheck';
  readonly multiple: number;

  constructor(args: InputSizeCheckArgs = {}) {
    super(args);
    this.multiple = args.multiple ?? 32;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    const x = oneTensor(inputs);
    checkInputShape(x.shape, null, this.multiple);
    return tf.clone(x);
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = oneShape(inputShape);
    checkInputShape(shape, null, this.multiple);
    return shape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), multiple: this.multiple };
  }
}

/** The custom layer classes a @steel/models model may contain. */
export const STEEL_LAYERS = [GroupNormalization, BilinearUpsampling, InputSizeCheck] as const;

/**
 * Registers the custom layers (`SteelGroupNormalization`, `SteelBilinearUpsampling`, `SteelInputSizeCheck`) with
 * `tf.serialization`, so `tf.loadLayersModel` can rebuild a saved model. Idempotent; call it once before loading.
 * @example registerSteelLayers(); const model = await tf.loadLayersModel('https://example.com/model.json');
 */
export function registerSteelLayers(): void {
  for (const cls of STEEL_LAYERS) tf.serialization.registerClass(cls);
}
