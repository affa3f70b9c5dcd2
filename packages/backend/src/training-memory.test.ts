// Memory over a long run: 200 training steps of a small conv net (every kernel fix on the path: convolutions and their
// gradients, batch norm through tf.moments, max pooling, nearest upsampling, Adam's one-pass update) must not leave
// tensors behind, nor grow the backend's memory once its allocations have settled.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { createAdam } from './adam.ts';
import { setupBackend } from './setup-backend.ts';
import { randomArray } from './kernels/reference.test-utils.ts';

function smallNet() {
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [16, 16, 1], filters: 8, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: tfl.initializers.heNormal({ seed: 1 }) }),
      tfl.layers.batchNormalization({ axis: -1 }),
      tfl.layers.reLU(),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.conv2d({ filters: 16, kernelSize: 3, strides: 2, padding: 'same', kernelInitializer: tfl.initializers.heNormal({ seed: 2 }) }),
      tfl.layers.upSampling2d({ size: [4, 4] }),
      tfl.layers.conv2d({ filters: 4, kernelSize: 1, kernelInitializer: tfl.initializers.heNormal({ seed: 3 }) }),
    ],
  });
  return model;
}

/** Bytes of the wasm backend's heap (its WebAssembly memory). */
function heapBytes(): number {
  return (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength;
}

describe('200 training steps on wasm', () => {
  it('leave no tensors behind and do not grow memory', { timeout: 120_000 }, async () => {
    await setupBackend({ backend: 'wasm', threads: 1 });
    const model = smallNet();
    const optimizer = createAdam(1e-3);
    const x = tf.tensor4d(randomArray(2 * 16 * 16, 31), [2, 16, 16, 1]);
    const y = tf.tidy(() => tf.cast(tf.greater(tf.tensor4d(randomArray(2 * 16 * 16 * 4, 32), [2, 16, 16, 4]), 0.5), 'float32'));
    const variables = model.trainableWeights.map((v) => v.read() as tf.Variable);
    const samples: { step: number; tensors: number; bytes: number; heap: number }[] = [];
    const losses: number[] = [];
    try {
      for (let step = 1; step <= 200; step++) {
        const loss = optimizer.minimize(() => tf.losses.sigmoidCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true, variables)!;
        losses.push(loss.dataSync()[0]!);
        loss.dispose();
        if (step === 10 || step === 200) samples.push({ step, tensors: tf.memory().numTensors, bytes: tf.memory().numBytes, heap: heapBytes() });
      }
    } finally {
      optimizer.dispose();
      model.dispose();
      tf.dispose([x, y]);
    }
    const [early, late] = samples as [(typeof samples)[0], (typeof samples)[0]];
    expect(late.tensors).toBe(early.tensors);
    expect(late.bytes).toBe(early.bytes);
    expect(late.heap).toBe(early.heap);
    expect(late.heap).toBeGreaterThan(0);
    expect(losses.at(-1)!).toBeLessThan(losses[0]!); // it did train
  });
});
