// Every architecture on the webgpu backend against wasm: forward, whole-model gradients, a short training run, and a model
// saved on webgpu and loaded on wasm. Tiny shapes, so a software Vulkan device (llvmpipe) runs them in minutes; skipped with
// a message where webgpu does not start (set up with scripts/setup-webgpu.sh), except under CI=true.
import * as tf from '@tensorflow/tfjs-core';
import { loadLayersModel, type LayersModel } from '@tensorflow/tfjs-layers';
import { setupBackend, setWinograd } from '@steel/backend';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAndDispose, webgpuGate } from '../../../tooling/vitest/webgpu.ts';
import { createMemoryIOHandler, createModel, registerSteelLayers, type CreateModelOptions } from './index.ts';
import { BATCH_NORM_TRAINING_KERNEL } from './batch-norm.ts';

registerSteelLayers();
const gate = await webgpuGate('models', tf);

/** ‖a − b‖ / ‖b‖ over all elements. */
function relativeL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  expect(den).toBeGreaterThan(0);
  return Math.sqrt(num / den);
}

/** A fixed input in [0, 1] with a bright square, and the square as the mask of class 1, for `batch` images of size x size. */
function batchOf(batch: number, channels: number, size = 32) {
  return tf.tidy(() => {
    const x = tf.randomUniform([batch, size, size, channels], 0, 0.5, 'float32', 5);
    const at = [[0, 0], [size / 8, (5 * size) / 8], [size / 4, size / 2], [0, 0]] as [number, number][];
    const square = (c: number) => tf.pad(tf.ones([batch, size / 4, size / 4, c]), at);
    const y = tf.concat([square(1), tf.zeros([batch, size, size, 3])], -1);
    return { x: tf.add(x, tf.mul(square(channels), 0.5)), y };
  });
}

// llvmpipe runs a UNet-ResNet18 training step at [2,32,32,1] in seconds, much longer on a loaded machine.
const SLOW_DEVICE = { timeout: 900_000 };

async function predict(model: LayersModel, x: tf.Tensor): Promise<Float32Array[]> {
  const out = model.predict(x);
  return readAndDispose(...(Array.isArray(out) ? out : [out]));
}

/**
 * Saves `model` (on webgpu) to memory, disposes it, loads it on wasm and returns the relative error of the loaded model's
 * outputs against the saved one's on the same input.
 */
async function saveAndLoadOnWasm(model: LayersModel, inChannels: number): Promise<number> {
  const { x: x0, y: y0 } = batchOf(2, inChannels);
  const xData = (await readAndDispose(x0, y0))[0]!;
  const handler = createMemoryIOHandler();
  let expected: Float32Array[];
  try {
    const x = tf.tensor4d(xData, [2, 32, 32, inChannels]);
    expected = await predict(model, x);
    x.dispose();
    await model.save(handler);
  } finally {
    model.dispose();
  }
  await setupBackend({ backend: 'wasm', threads: 1 }); // tensors do not move off webgpu in Node: the input is made again
  const loaded = await loadLayersModel(handler);
  const x = tf.tensor4d(xData, [2, 32, 32, inChannels]);
  try {
    const got = await predict(loaded, x);
    expect(got.length).toBe(expected.length);
    return Math.max(...got.map((g, i) => relativeL2(g, expected[i]!)));
  } finally {
    loaded.dispose();
    x.dispose();
  }
}

describe.skipIf(gate.skip)('models on webgpu', () => {
  beforeAll(() => gate.require());
  afterAll(async () => {
    await setupBackend({ backend: 'wasm', threads: 1 });
  });

  it.each<CreateModelOptions>([
    { architecture: 'unet', encoder: 'resnet18', inChannels: 1 },
    { architecture: 'fpn', encoder: 'resnet18', inChannels: 3 },
    { architecture: 'unet', encoder: 'resnet34', inChannels: 3, classificationHead: true },
    { architecture: 'fpn', encoder: 'resnet34', inChannels: 1, classificationHead: true },
  ])('forward of $architecture-$encoder ($inChannels channels, head $classificationHead) equals wasm within 1e-4', SLOW_DEVICE, async (options) => {
    await setupBackend({ backend: 'wasm', threads: 1 });
    const model = createModel({ ...options, classes: 4, seed: 7 });
    const { x, y } = batchOf(2, options.inChannels!);
    try {
      const wasm = await predict(model, x);
      await setupBackend({ backend: 'webgpu' });
      const webgpu = await predict(model, x);
      expect(webgpu.length).toBe(options.classificationHead ? 2 : 1);
      webgpu.forEach((out, i) => expect(relativeL2(out, wasm[i]!), `output ${i}`).toBeLessThan(1e-4));
    } finally {
      model.dispose();
      tf.dispose([x, y]);
    }
  });

  // At 64x64 the deepest batch norm normalises 8 values per channel; at 32x32 only 2 (x̂ = ±1), and there float32 rounding
  // alone puts the gradients of wasm, cpu and webgpu 6-9% apart.
  // Both sides convolve directly: with these inputs the batch norms cancel most of dy, which magnifies float32 rounding
  // ~100x, and Winograd rounds differently (no farther from the cpu backend than wasm's direct kernels; its own
  // float64 tests are in @steel/backend). For the same reason both sides run tfjs' own batch-norm ops: wasm's two-pass
  // training batch norm (SteelBatchNormTraining) sums in another order, and on this input its gradients are 9e-4 from the
  // cpu backend's where tfjs' ops on wasm are 4.5e-3 from them.
  it('whole-model gradients of UNet-ResNet18 (training mode, BCE) equal wasm within 1e-3', SLOW_DEVICE, async () => {
    await setupBackend({ backend: 'wasm', threads: 1 });
    setWinograd(false);
    const fusedBatchNorm = tf.getKernel(BATCH_NORM_TRAINING_KERNEL, 'wasm')!;
    tf.unregisterKernel(BATCH_NORM_TRAINING_KERNEL, 'wasm');
    const model = createModel({ architecture: 'unet', encoder: 'resnet18', inChannels: 1, classes: 4, seed: 8 });
    const { x, y } = batchOf(2, 1, 64);
    const gradients = async () => {
      const { value, grads } = tf.variableGrads(() => tf.losses.sigmoidCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar);
      value.dispose();
      const names = Object.keys(grads).sort();
      const values = await readAndDispose(...names.map((n) => grads[n]!));
      return new Map(names.map((n, i) => [n, values[i]!]));
    };
    try {
      const wasm = await gradients();
      setWinograd(true);
      await setupBackend({ backend: 'webgpu' });
      const webgpu = await gradients();
      expect([...webgpu.keys()]).toEqual([...wasm.keys()]);
      const flat = (m: Map<string, Float32Array>) => Float32Array.from([...m.values()].flatMap((v) => [...v]));
      const overall = relativeL2(flat(webgpu), flat(wasm));
      const perTensor = [...wasm].map(([name, g]) => [name, relativeL2(webgpu.get(name)!, g)] as const);
      const worst = perTensor.reduce((a, b) => (b[1] > a[1] ? b : a));
      console.info(`webgpu vs wasm, ${wasm.size} gradient tensors: overall ${overall.toExponential(2)}, worst ${worst[0]} ${worst[1].toExponential(2)}`);
      expect(overall).toBeLessThan(1e-3);
      for (const [name, err] of perTensor) expect(err, name).toBeLessThan(1e-3);
    } finally {
      setWinograd(true);
      tf.registerKernel(fusedBatchNorm);
      model.dispose();
      tf.dispose([x, y]);
    }
  });

  it('a model saved on webgpu loads on wasm with the same outputs', SLOW_DEVICE, async () => {
    await setupBackend({ backend: 'webgpu' });
    const model = createModel({ architecture: 'fpn', encoder: 'resnet18', inChannels: 1, classes: 4, seed: 10, classificationHead: true });
    expect(await saveAndLoadOnWasm(model, 1)).toBeLessThan(1e-4);
  });

  // ~2 minutes of CPU on llvmpipe: in the slow suite.
  it('UNet-ResNet18 trains 20 steps with Adam (the loss falls), saves on webgpu and loads on wasm', { ...SLOW_DEVICE, tags: ['slow'] }, async () => {
    await setupBackend({ backend: 'webgpu' });
    const model = createModel({ architecture: 'unet', encoder: 'resnet18', inChannels: 1, classes: 4, seed: 9 });
    const { x, y } = batchOf(2, 1);
    const optimizer = tf.train.adam(1e-3);
    const losses: number[] = [];
    try {
      for (let step = 0; step < 20; step++) {
        const loss = optimizer.minimize(() => tf.losses.sigmoidCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true)!;
        losses.push((await readAndDispose(loss))[0]![0]!);
      }
      console.info(`webgpu losses: ${losses.map((l) => l.toFixed(4)).join(' ')}`);
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(Math.max(...losses.slice(-3))).toBeLessThan(0.7 * losses[0]!);
    } finally {
      optimizer.dispose();
      tf.dispose([x, y]);
    }
    expect(await saveAndLoadOnWasm(model, 1)).toBeLessThan(1e-4);
  });
});
