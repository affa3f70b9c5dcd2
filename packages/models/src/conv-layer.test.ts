import * as tf from '@tensorflow/tfjs-core';
import { layers, model as functionalModel, input as symbolicInput, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { maxAbsDiff, savedAndLoadedDiff } from '../test/layer-twins.ts';
import { conv2d } from './conv-layer.ts';
import { createModel } from './create-model.ts';

describe('conv2d (Conv2D whose gradient skips an unneeded input gradient)', () => {
  /** The same weights in our layer and in tfjs-layers' own, each in a one-layer model on [9, 10, 5] images. */
  function twins(args: { kernelSize: number; strides: number; padding: 'same' | 'valid'; useBias: boolean }) {
    const build = (layer: { apply: ReturnType<typeof layers.conv2d>['apply'] }) => {
      const inp = symbolicInput({ shape: [9, 10, 5] });
      return functionalModel({ inputs: inp, outputs: layer.apply(inp) as SymbolicTensor });
    };
    const ours = build(conv2d({ ...args, filters: 8, name: 'conv' }));
    const stock = build(layers.conv2d({ ...args, filters: 8, name: 'conv' }));
    ours.setWeights(stock.getWeights());
    return { ours, stock };
  }

  it.each([
    { kernelSize: 3, strides: 1, padding: 'same' as const, useBias: false },
    { kernelSize: 3, strides: 2, padding: 'valid' as const, useBias: false },
    { kernelSize: 3, strides: 2, padding: 'same' as const, useBias: false },
    { kernelSize: 1, strides: 1, padding: 'same' as const, useBias: true },
  ])('gives the stock layer outputs and gradients ($kernelSize x $kernelSize, stride $strides, $padding, bias $useBias)', (args) => {
    const { ours, stock } = twins(args);
    const x = tf.randomUniform([2, 9, 10, 5], -1, 1, 'float32', 1);
    try {
      const run = (m: typeof ours) =>
        tf.tidy(() => {
          const y = m.apply(x, { training: true }) as tf.Tensor;
          const dy = tf.randomUniform(y.shape, -1, 1, 'float32', 2);
          const f = (xt: tf.Tensor) => tf.sum(tf.mul(m.apply(xt, { training: true }) as tf.Tensor, dy)) as tf.Scalar;
          const { grads } = tf.variableGrads(() => f(x), m.trainableWeights.map((w) => w.read() as tf.Variable));
          return [y, tf.grad(f)(x), ...Object.keys(grads).sort().map((k) => grads[k]!)].map((t) => t.dataSync() as Float32Array);
        });
      const [a, b] = [run(ours), run(stock)];
      expect(a).toHaveLength(args.useBias ? 4 : 3);
      a.forEach((v, i) => expect(maxAbsDiff(v, b[i]!)).toBeLessThan(1e-5));
    } finally {
      x.dispose();
      ours.dispose();
      stock.dispose();
    }
  });

  it("saves as tfjs-layers' Conv2D and loads back with the same outputs", async () => {
    const { ours, stock } = twins({ kernelSize: 3, strides: 2, padding: 'valid', useBias: false });
    stock.dispose();
    const x = tf.randomUniform([2, 9, 10, 5], -1, 1, 'float32', 3);
    try {
      expect(ours.getLayer('conv').getClassName()).toBe('Conv2D');
      expect(await savedAndLoadedDiff(ours, x)).toBe(0);
    } finally {
      x.dispose();
      ours.dispose();
    }
  });

  it("leaves out the stem's input gradient in a UNet training step, and computes its weight gradient", async () => {
    const model = createModel({ architecture: 'unet', encoder: 'resnet18', inChannels: 1, classes: 2, seed: 1 });
    const x = tf.randomUniform([1, 64, 64, 1], 0, 1, 'float32', 4);
    try {
      const profile = await tf.profile(() => {
        tf.tidy(() => {
          const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
          const { grads } = tf.variableGrads(() => tf.mean(model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, vars);
          tf.dispose(Object.values(grads));
        });
      });
      const calls = (name: string) => profile.kernels.filter((k) => k.name === name).map((k) => k.inputShapes.map((s) => `${s}`).join(' '));
      // The stem's filter is [7, 7, 1, 64]; every other convolution's input gradient is needed.
      expect(calls('Conv2DBackpropInput').filter((s) => s.includes('7,7,1,64'))).toEqual([]);
      expect(calls('Conv2DBackpropInput').length).toBeGreaterThan(20);
      expect(calls('Conv2DBackpropFilter').filter((s) => s.startsWith('1,70,70,1 '))).toHaveLength(1);
    } finally {
      x.dispose();
      model.dispose();
    }
  });
});
