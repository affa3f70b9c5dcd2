import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // registers tfjs' gradient functions (the pad's gradient)
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { setupBackend } from '../setup-backend.ts';
import { randomArray } from './reference.test-utils.ts';

/** Runs `f` on the cpu backend (tfjs' own Slice and SplitV: the reference) and on wasm (this package's). */
async function onBoth<T>(f: () => T): Promise<[T, T]> {
  await setupBackend({ backend: 'cpu' });
  const reference = f();
  await setupBackend({ backend: 'wasm', threads: 1 });
  return [reference, f()];
}

const sliceCase = fc
  .array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 5 })
  .chain((shape) =>
    fc.record({
      shape: fc.constant(shape),
      begin: fc.tuple(...shape.map((d) => fc.integer({ min: 0, max: d - 1 }))),
      frac: fc.tuple(...shape.map(() => fc.double({ min: 0, max: 1, noNaN: true }))),
      dtype: fc.constantFrom<'float32' | 'int32'>('float32', 'int32'),
    }),
  );

describe('Slice and SplitV on the wasm heap', () => {
  test.prop([sliceCase], { numRuns: 60 })('Slice equals the cpu backend for any rank, begin and size', async (k) => {
    const size = k.shape.map((d, i) => Math.max(1, Math.round(k.frac[i]! * (d - k.begin[i]!))));
    const values = randomArray(k.shape.reduce((a, d) => a * d, 1), 7).map((v) => Math.round(100 * v));
    const [cpu, wasm] = await onBoth(() => tf.tidy(() => tf.slice(tf.tensor(values, k.shape, k.dtype), k.begin, size).arraySync()));
    expect(wasm).toEqual(cpu);
  });

  it('SplitV splits any axis into parts of given sizes as the cpu backend does (the concat gradient)', async () => {
    const shape = [2, 3, 4, 10];
    const values = randomArray(240, 3);
    for (const [axis, sizes] of [[3, [4, 6]], [3, [1, 2, 7]], [1, [2, 1]], [0, [1, 1]], [2, [3, -1]]] as const) {
      const [cpu, wasm] = await onBoth(() => tf.tidy(() => tf.split(tf.tensor(values, shape), sizes as unknown as number[], axis).map((t) => t.arraySync())));
      expect(wasm).toEqual(cpu);
    }
  });

  it('is registered on wasm', async () => {
    const { kernelsRegistered } = await setupBackend({ backend: 'wasm', threads: 1 });
    expect(kernelsRegistered).toEqual(expect.arrayContaining(['Slice', 'SplitV', 'PadV2']));
  });
});

const padCase = fc.record({
  shape: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 6 })),
  rows: fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })),
  cols: fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })),
});

describe('PadV2 on the wasm heap', () => {
  test.prop([padCase], { numRuns: 60 })('zero padding of rows and columns equals the cpu backend, with its gradient', async (k) => {
    const values = randomArray(k.shape.reduce((a, d) => a * d, 1), 5);
    const paddings: [number, number][] = [[0, 0], k.rows, k.cols, [0, 0]];
    const run = () =>
      tf.tidy(() => {
        const x = tf.tensor4d(values, k.shape);
        const y = tf.pad(x, paddings);
        const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.pad(a, paddings), tf.reshape(tf.range(0, y.size), y.shape))))(x);
        return [y.arraySync(), dx.arraySync()];
      });
    const [cpu, wasm] = await onBoth(run);
    expect(wasm).toEqual(cpu);
  });

  it('leaves other paddings (batch or channel axes, a non-zero value) to the stock kernel, with the same results', async () => {
    const values = randomArray(2 * 3 * 4 * 5, 6);
    for (const [paddings, value] of [[[[1, 0], [0, 0], [0, 0], [0, 0]], 0], [[[0, 0], [1, 1], [1, 1], [0, 2]], 0], [[[0, 0], [1, 1], [1, 1], [0, 0]], 2.5]] as const) {
      const [cpu, wasm] = await onBoth(() => tf.tidy(() => tf.pad(tf.tensor4d(values, [2, 3, 4, 5]), paddings as unknown as [number, number][], value).arraySync()));
      expect(wasm).toEqual(cpu);
    }
  });
});
