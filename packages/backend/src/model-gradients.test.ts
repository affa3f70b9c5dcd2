import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupBackend } from './setup-backend.ts';
import { randomArray } from './kernels/reference.test-utils.ts';
import { readAndDispose, webgpuGate } from '../../../tooling/vitest/webgpu.ts';

type Layer = ReturnType<typeof tfl.layers.conv2d>;

/** A small UNet/FPN-like network: conv-BN-ReLU stem, max pool, residual block, strided conv, nearest and bilinear upsampling, GroupNorm, concat. */
function createNetwork() {
  let seed = 1;
  const conv = (filters: number, kernelSize: number, strides = 1, useBias = false) =>
    tfl.layers.conv2d({ filters, kernelSize, strides, padding: 'same', useBias, kernelInitializer: tfl.initializers.heNormal({ seed: seed++ }) });
  const layers = {
    stem: conv(8, 5, 2),
    stemBn: tfl.layers.batchNormalization({ axis: -1 }),
    res1: conv(8, 3),
    res1Bn: tfl.layers.batchNormalization({ axis: -1 }),
    down: conv(16, 3, 2),
    downBn: tfl.layers.batchNormalization({ axis: -1 }),
    up1: tfl.layers.upSampling2d({ size: [2, 2], interpolation: 'nearest' }),
    dec1: conv(8, 3, 1, true),
    dec2: conv(8, 3, 1, true),
    up3: tfl.layers.upSampling2d({ size: [2, 2], interpolation: 'nearest' }),
    head: conv(4, 1, 1, true),
  };
  const groupNorm = (x: tf.Tensor4D, groups: number) => {
    const [b, h, w, c] = x.shape;
    const g = tf.reshape(x, [b, h, w, groups, c / groups]);
    const { mean, variance } = tf.moments(g, [1, 2, 4], true);
    return tf.reshape(tf.div(tf.sub(g, mean), tf.sqrt(tf.add(variance, 1e-5))), x.shape) as tf.Tensor4D;
  };
  const apply = (layer: { apply(x: tf.Tensor, kwargs?: object): unknown }, x: tf.Tensor, training = false) =>
    layer.apply(x, training ? { training: true } : {}) as tf.Tensor4D;
  const forward = (x: tf.Tensor4D): tf.Tensor4D => {
    const s1 = tf.relu(apply(layers.stemBn, apply(layers.stem, x), true)); // [b, 8, 8, 8]
    const p = tf.maxPool(s1, 3, 2, 'same'); // [b, 4, 4, 8]
    const r = tf.relu(tf.add(apply(layers.res1Bn, apply(layers.res1, p), true), p));
    const d = tf.relu(apply(layers.downBn, apply(layers.down, r), true)); // [b, 2, 2, 16]
    const u1 = tf.relu(apply(layers.dec1, tf.concat([apply(layers.up1, d), r], -1))); // [b, 4, 4, 8]
    const u2 = tf.image.resizeBilinear(groupNorm(u1, 4), [8, 8], true); // FPN-style bilinear x2, aligned corners
    const u3 = tf.relu(apply(layers.dec2, tf.concat([u2, s1], -1)));
    return apply(layers.head, apply(layers.up3, u3)); // [b, 16, 16, 4]
  };
  return { forward, dispose: () => Object.values(layers).forEach((l) => l.dispose()) };
}

/** Overall and per-tensor relative L2 error of gradients `a` against `b` (same names). */
function gradientErrors(a: Map<string, Float32Array>, b: Map<string, Float32Array>) {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  let num = 0;
  let den = 0;
  const perTensor: Record<string, number> = {};
  for (const [name, x] of a) {
    const y = b.get(name)!;
    let n = 0;
    let d = 0;
    for (let i = 0; i < x.length; i++) {
      n += (x[i]! - y[i]!) ** 2;
      d += y[i]! ** 2;
    }
    num += n;
    den += d;
    perTensor[name] = Math.sqrt(n / d);
  }
  expect(den).toBeGreaterThan(0);
  return { overall: Math.sqrt(num / den), worst: Math.max(...Object.values(perTensor)), perTensor };
}

function expectAgreement(label: string, a: Map<string, Float32Array>, b: Map<string, Float32Array>) {
  const { overall, worst, perTensor } = gradientErrors(a, b);
  console.info(`${label} gradients: overall relative error ${overall.toExponential(2)}, worst tensor ${worst.toExponential(2)}`);
  expect(overall).toBeLessThanOrEqual(1e-3);
  for (const [name, err] of Object.entries(perTensor)) expect(err, name).toBeLessThanOrEqual(1e-3);
}

const gate = await webgpuGate('backend', tf);

describe('whole-model gradients against cpu', () => {
  const x = randomArray(2 * 16 * 16 * 1, 21);
  const y = randomArray(2 * 16 * 16 * 4, 22, [0, 0, 0, 1]);
  let net: ReturnType<typeof createNetwork>;

  /** The gradients of every variable on the active backend (read asynchronously: webgpu cannot read synchronously in Node). */
  async function gradients(): Promise<Map<string, Float32Array>> {
    const grads = tf.tidy(() => {
      const xt = tf.tensor4d(x, [2, 16, 16, 1]);
      const yt = tf.tensor4d(y, [2, 16, 16, 4]);
      return tf.variableGrads(() => tf.losses.sigmoidCrossEntropy(yt, net.forward(xt)) as tf.Scalar).grads;
    });
    const names = Object.keys(grads);
    const values = await readAndDispose(...names.map((name) => grads[name]!));
    return new Map(names.map((name, i) => [name, values[i]!]));
  }

  beforeAll(async () => {
    await setupBackend({ backend: 'wasm', threads: 1 });
    net = createNetwork();
    tf.tidy(() => net.forward(tf.zeros([2, 16, 16, 1]))); // builds the layers' weights
  });
  afterAll(async () => {
    net.dispose();
    await setupBackend({ backend: 'wasm', threads: 1 });
  });

  it('wasm (with the kernel fixes) agrees to a relative error <= 1e-3', async () => {
    await setupBackend({ backend: 'wasm', threads: 1 });
    const wasm = await gradients();
    expect(wasm.size).toBe(15); // 6 kernels + 3 biases + 3 gammas + 3 betas
    await setupBackend({ backend: 'cpu' });
    expectAgreement('wasm vs cpu', wasm, await gradients());
  });

  // Last: variables cannot move back from webgpu (no synchronous read in Node).
  it.skipIf(gate.skip)('webgpu (with the kernel fixes) agrees to a relative error <= 1e-3', async () => {
    gate.require();
    await setupBackend({ backend: 'cpu' });
    const cpu = await gradients();
    await setupBackend({ backend: 'webgpu' });
    expectAgreement('webgpu vs cpu', await gradients(), cpu);
  });
});
