import * as tf from '@tensorflow/tfjs-core';
import { layers, model as functionalModel, input as symbolicInput, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { BATCH_NORM_TRAINING_KERNEL, batchNormalization, recalibrateBatchNorm } from './batch-norm.ts';
import { maxAbsDiff, savedAndLoadedDiff } from '../test/layer-twins.ts';
import { createModel } from './create-model.ts';
import { isModelsError } from './errors.ts';

const maxAbs = (a: ArrayLike<number>) => maxAbsDiff(a, new Float64Array(a.length));

describe('recalibrateBatchNorm', () => {
  it('with one batch, inference on that batch equals the training-mode forward pass', async () => {
    const model = createModel({ architecture: 'unet', encoder: 'resnet18', inChannels: 1, classes: 4, seed: 3 });
    // Grey images in [0.3, 0.5]: small activations, far from the initial moving variance of 1.
    const x = tf.randomUniform([2, 64, 64, 1], 0.3, 0.5, 'float32', 5) as tf.Tensor4D;
    try {
      const training = tf.tidy(() => (model.apply(x, { training: true }) as tf.Tensor).dataSync());
      const before = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
      expect(maxAbsDiff(before, training)).toBeGreaterThan(0.1 * maxAbs(training));
      expect(await recalibrateBatchNorm(model, [x])).toBe(1 + 8 * 2 + 3 + 5 * 2); // stem, 8 blocks x 2, 3 downsamples, 5 decoder blocks x 2
      const after = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
      // Training mode normalises with the batch variance; inference adds eps the same way, so they agree to rounding.
      expect(maxAbsDiff(after, training)).toBeLessThan(2e-3 * maxAbs(training));
      const bn = model.getLayer('encoder.bn1') as unknown as { momentum: number };
      expect(bn.momentum).toBe(0.9);
    } finally {
      x.dispose();
      model.dispose();
    }
  });

  it('sets the moving mean and variance to the average of the batch statistics (float64 reference)', async () => {
    const model = createModel({ architecture: 'fpn', encoder: 'resnet18', inChannels: 1, classes: 4, seed: 4 });
    const batches = [0, 1, 2].map((i) => tf.randomUniform([2, 32, 64, 1], 0, 0.2 + 0.3 * i, 'float32', 10 + i) as tf.Tensor4D);
    const conv1 = functionalModel({ inputs: model.inputs, outputs: model.getLayer('encoder.conv1').output as SymbolicTensor });
    try {
      const channels = 64;
      const mean = new Float64Array(channels);
      const variance = new Float64Array(channels);
      for (const x of batches) {
        const y = tf.tidy(() => (conv1.predict(x) as tf.Tensor).dataSync());
        const n = y.length / channels;
        for (let c = 0; c < channels; c++) {
          let s = 0;
          for (let i = c; i < y.length; i += channels) s += y[i]!;
          const m = s / n;
          let v = 0;
          for (let i = c; i < y.length; i += channels) v += (y[i]! - m) ** 2;
          mean[c]! += m / batches.length;
          variance[c]! += v / n / batches.length;
        }
      }
      await recalibrateBatchNorm(model, batches);
      const [, , movingMean, movingVariance] = model.getLayer('encoder.bn1').getWeights();
      const mm = movingMean!.dataSync();
      const mv = movingVariance!.dataSync();
      for (let c = 0; c < channels; c++) {
        expect(Math.abs(mm[c]! - mean[c]!)).toBeLessThan(1e-5 + 1e-4 * Math.abs(mean[c]!));
        expect(Math.abs(mv[c]! - variance[c]!)).toBeLessThan(1e-4 * variance[c]! + 1e-9);
      }
    } finally {
      tf.dispose(batches);
      model.dispose();
    }
  });

  it('refuses an empty set of batches and restores the momentum', async () => {
    const model = createModel({ architecture: 'unet', encoder: 'resnet18', inChannels: 1, classes: 2, seed: 1 });
    try {
      let error: unknown;
      await recalibrateBatchNorm(model, []).catch((e: unknown) => (error = e));
      expect(isModelsError(error) && error.code).toBe('INVALID_OPTION');
      expect((model.getLayer('encoder.bn1') as unknown as { momentum: number }).momentum).toBe(0.9);
    } finally {
      model.dispose();
    }
  });
});

describe('batchNormalization (training through SteelBatchNormTraining)', () => {
  const args = { axis: -1, epsilon: 1e-5, momentum: 0.9 };
  /** The same weights in our layer and in tfjs-layers' own, each in a one-layer model. */
  function twins() {
    const build = (layer: { apply: ReturnType<typeof layers.batchNormalization>["apply"] }) => {
      const inp = symbolicInput({ shape: [6, 7, 8] });
      return functionalModel({ inputs: inp, outputs: layer.apply(inp) as SymbolicTensor });
    };
    const ours = build(batchNormalization({ ...args, name: 'bn' }));
    const stock = build(layers.batchNormalization({ ...args, name: 'bn' }));
    const weights = [tf.randomUniform([8], 0.5, 1.5, 'float32', 1), tf.randomUniform([8], -1, 1, 'float32', 2), tf.zeros([8]), tf.ones([8])];
    ours.setWeights(weights);
    stock.setWeights(weights);
    tf.dispose(weights);
    return { ours, stock };
  }

  it('trains as tfjs-layers does on wasm: outputs, moving statistics and gradients, through one kernel per direction', async () => {
    const { ours, stock } = twins();
    const x = tf.randomUniform([3, 6, 7, 8], -2, 4, 'float32', 3);
    const dy = tf.randomUniform([3, 6, 7, 8], -1, 1, 'float32', 4);
    const run = async (m: typeof ours) => {
      let out: Float32Array[] = [];
      const profile = await tf.profile(() => {
        out = tf.tidy(() => {
          const f = (xt: tf.Tensor) => tf.sum(tf.mul(m.apply(xt, { training: true }) as tf.Tensor, dy));
          const { value, grads } = tf.variableGrads(() => f(x) as tf.Scalar, m.trainableWeights.map((w) => w.read() as tf.Variable));
          const gx = tf.grad(f)(x);
          return [value, gx, ...Object.keys(grads).sort().map((k) => grads[k]!)].map((t) => t.dataSync() as Float32Array);
        });
      });
      return { out, weights: m.getWeights().map((w) => w.dataSync()), kernels: profile.kernelNames };
    };
    try {
      const a = await run(ours);
      const b = await run(stock);
      expect(tf.getBackend()).toBe('wasm');
      expect(a.kernels).toContain(BATCH_NORM_TRAINING_KERNEL);
      expect(a.kernels).not.toContain('FusedBatchNorm');
      expect(b.kernels).not.toContain(BATCH_NORM_TRAINING_KERNEL);
      // Loss, dx, dβ, dγ; then γ, β and the moving mean and variance after two training calls.
      a.out.forEach((v, i) => expect(maxAbsDiff(v, b.out[i]!)).toBeLessThan(2e-5 * Math.max(1, maxAbs(b.out[i]!))));
      a.weights.forEach((v, i) => expect(maxAbsDiff(v, b.weights[i]!)).toBeLessThan(1e-5 * Math.max(1, maxAbs(b.weights[i]!))));
      expect(maxAbs(a.weights[2]!)).toBeGreaterThan(0.01); // the moving mean moved
    } finally {
      tf.dispose([x, dy]);
      ours.dispose();
      stock.dispose();
    }
  });

  it("saves as tfjs-layers' BatchNormalization and loads back with the same inference outputs", async () => {
    const { ours, stock } = twins();
    const x = tf.randomUniform([2, 6, 7, 8], -2, 4, 'float32', 5);
    try {
      expect(ours.getLayer('bn').getClassName()).toBe('BatchNormalization');
      expect(await savedAndLoadedDiff(ours, x)).toBe(0);
    } finally {
      x.dispose();
      ours.dispose();
      stock.dispose();
    }
  });
});

describe('createModel headBias', () => {
  it('initialises the segmentation head bias (UNet and FPN) and rejects a non-finite value', () => {
    for (const architecture of ['unet', 'fpn'] as const) {
      const model = createModel({ architecture, encoder: 'resnet18', inChannels: 1, classes: 3, seed: 1, headBias: -3.9 });
      try {
        const bias = model.getLayer('segmentation_head.0').getWeights()[1]!.dataSync();
        expect(Array.from(bias)).toEqual([-3.9, -3.9, -3.9].map(Math.fround));
      } finally {
        model.dispose();
      }
    }
    let error: unknown;
    try {
      createModel({ architecture: 'unet', encoder: 'resnet18', headBias: Number.NaN });
    } catch (e) {
      error = e;
    }
    expect(isModelsError(error) && error.code).toBe('INVALID_OPTION');
  });
});
