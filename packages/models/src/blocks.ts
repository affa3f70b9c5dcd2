// The building blocks every encoder and decoder composes: convolution, batch norm, ReLU, padding and nearest upsampling
// as tfjs-layers layers named after PyTorch modules, with the initializers torchvision and segmentation_models use.
import { initializers, layers, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import { deriveSeed } from './seed.ts';
import { batchNormalization } from './batch-norm.ts';
import { conv2d } from './conv-layer.ts';

/** Which PyTorch initialisation a layer gets. */
export type Init = 'encoder' | 'decoder' | 'head';

/** The kernel initializer of layer `name`, seeded from the model seed and the name. */
export function kernelInitializer(kind: Init, seed: number, name: string) {
  const s = deriveSeed(seed, name);
  // torchvision: kaiming_normal_(fan_out, relu); segmentation_models decoder: kaiming_uniform_(fan_in, relu);
  // heads: xavier_uniform_.
  if (kind === 'encoder') return initializers.varianceScaling({ scale: 2, mode: 'fanOut', distribution: 'normal', seed: s });
  if (kind === 'decoder') return initializers.heUniform({ seed: s });
  return initializers.glorotUniform({ seed: s });
}

/** Applies `layer` to one symbolic tensor or a list (merge layers). */
export function apply(layer: layers.Layer, x: SymbolicTensor | SymbolicTensor[]): SymbolicTensor {
  return layer.apply(x) as SymbolicTensor;
}

/** Options of {@link conv}. */
export interface ConvOptions {
  strides?: number;
  padding?: 'same' | 'valid';
  useBias?: boolean;
  /** Constant initial bias (default 0). */
  bias?: number;
  init: Init;
  seed: number;
}

/** A `Conv2D` layer named `name` (PyTorch `nn.Conv2d`; no bias unless `useBias`). */
export function conv(x: SymbolicTensor, name: string, filters: number, kernelSize: number, o: ConvOptions): SymbolicTensor {
  return apply(
    conv2d({
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

/** Symmetric zero padding by `p` pixels on every side (PyTorch's `padding=p`). */
export function pad(x: SymbolicTensor, name: string, p: number): SymbolicTensor {
  return apply(layers.zeroPadding2d({ name, padding: [[p, p], [p, p]] }), x);
}

/**
 * A 3x3 or 7x7 convolution with PyTorch's symmetric padding. torch pads symmetrically; tfjs 'same' at stride 2 pads
 * 0 before / 1 after, so strided convolutions pad explicitly (`<name>.pad`) and run 'valid'.
 */
export function torchConv(x: SymbolicTensor, name: string, filters: number, kernelSize: number, stride: number, o: ConvOptions): SymbolicTensor {
  if (stride === 1) return conv(x, name, filters, kernelSize, o);
  return conv(pad(x, `${name}.pad`, (kernelSize - 1) / 2), name, filters, kernelSize, { ...o, strides: stride, padding: 'valid' });
}

/** A `BatchNormalization` layer with PyTorch's eps 1e-5 and momentum 0.1 (= Keras momentum 0.9). */
export function batchNorm(x: SymbolicTensor, name: string): SymbolicTensor {
  return apply(batchNormalization({ name, axis: -1, epsilon: 1e-5, momentum: 0.9 }), x);
}

/** A `ReLU` layer. */
export function relu(x: SymbolicTensor, name: string): SymbolicTensor {
  return apply(layers.reLU({ name }), x);
}

/** Nearest-neighbour x2 upsampling (`out[i] = in[floor(i / 2)]`). */
export function upNearest(x: SymbolicTensor, name: string): SymbolicTensor {
  return apply(layers.upSampling2d({ name, size: [2, 2], interpolation: 'nearest' }), x);
}
