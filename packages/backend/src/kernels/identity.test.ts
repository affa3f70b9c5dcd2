import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { setupBackend } from '../setup-backend.ts';

describe('wasm Identity and same-dtype Cast share the data', () => {
  it.each([
    { name: 'clone', run: (x: tf.Tensor) => tf.clone(x) },
    { name: 'cast to float32', run: (x: tf.Tensor) => tf.cast(x, 'float32') },
  ])('$name: no copy, and the result outlives its input', async ({ run }) => {
    await setupBackend({ backend: 'wasm', threads: 1 });
    const before = tf.memory();
    const x = tf.tensor2d([1, -2, 3.5, 4, 5, 6], [2, 3]);
    const y = run(x);
    expect(y.dataId).toBe(x.dataId);
    expect(tf.memory().numDataBuffers).toBe(before.numDataBuffers + 1);
    x.dispose();
    expect(y.shape).toEqual([2, 3]);
    expect(Array.from(y.dataSync())).toEqual([1, -2, 3.5, 4, 5, 6]);
    y.dispose();
    expect(tf.memory().numDataBuffers).toBe(before.numDataBuffers);
  });

  it('still converts between dtypes and copies strings', async () => {
    await setupBackend({ backend: 'wasm', threads: 1 });
    const x = tf.tensor1d([1.7, -2.2, 3]);
    const i = tf.cast(x, 'int32');
    expect(i.dataId).not.toBe(x.dataId);
    expect(Array.from(i.dataSync())).toEqual([1, -2, 3]);
    const s = tf.tensor1d(['a', 'bc'], 'string');
    const c = tf.clone(s);
    expect(c.dataSync()).toEqual(['a', 'bc']);
    tf.dispose([x, i, s, c]);
  });

  it('keeps a variable independent of a clone taken before it is assigned', async () => {
    await setupBackend({ backend: 'wasm', threads: 1 });
    const v = tf.tidy(() => tf.variable(tf.tensor1d([1, 2, 3])));
    const snapshot = tf.clone(v);
    const next = tf.mul(v, 10) as tf.Tensor1D;
    v.assign(next);
    next.dispose();
    expect(Array.from(snapshot.dataSync())).toEqual([1, 2, 3]);
    expect(Array.from(v.dataSync())).toEqual([10, 20, 30]);
    tf.dispose([v, snapshot]);
  });
});
