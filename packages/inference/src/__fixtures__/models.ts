// Small real tfjs layers models for the tests: a pointwise model (logit_k = a_k · x + b_k) and a 3x3 convolution stack.
import * as tf from '@tensorflow/tfjs-core';
import { initializers, input, layers, model as functionalModel, type LayersModel } from '@tensorflow/tfjs-layers';

/** A 1x1 convolution: logit_k = Σ_c a[c][k] · x_c + b_k. */
export function pointwiseModel(a: number[][], b: number[]): LayersModel {
  const inChannels = a.length;
  const classes = b.length;
  const x = input({ shape: [null, null, inChannels] });
  const conv = layers.conv2d({ filters: classes, kernelSize: 1, useBias: true });
  const m = functionalModel({ inputs: x, outputs: conv.apply(x) as ReturnType<typeof input> });
  const weights = [tf.tensor4d(a.flat(), [1, 1, inChannels, classes]), tf.tensor1d(b)];
  conv.setWeights(weights);
  tf.dispose(weights);
  return m;
}

/** Two seeded 3x3 'same' convolutions with a ReLU between: a receptive field 5 pixels wide. */
export function convModel(inChannels: number, classes: number): LayersModel {
  const x = input({ shape: [null, null, inChannels] });
  const init = (seed: number) => initializers.glorotUniform({ seed });
  const h = layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(1), biasInitializer: 'ones' }).apply(x);
  const y = layers.conv2d({ filters: classes, kernelSize: 3, padding: 'same', kernelInitializer: init(2) }).apply(h);
  return functionalModel({ inputs: x, outputs: y as ReturnType<typeof input> });
}

/** A seeded uint8 HWC image. */
export function randomImage(height: number, width: number, channels: number, seed = 1): { data: Uint8Array; height: number; width: number; channels: number } {
  const data = new Uint8Array(height * width * channels);
  let s = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s >>> 24;
  }
  return { data, height, width, channels };
}
