import * as tf from '@tensorflow/tfjs-core';
import { fc, test } from '@fast-check/vitest';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupBackend } from '../setup-backend.ts';
import { randomArray, relativeError } from './reference.test-utils.ts';

/** Sum (or mean) of `x` over `axes` in float64, with tfjs' output shape. */
function reduceRef(x: Float32Array, shape: number[], axes: number[], mean: boolean, keepDims: boolean) {
  const rank = shape.length;
  const set = new Set(axes.map((a) => (a < 0 ? a + rank : a)));
  const outShape = shape.map((d, i) => (set.has(i) ? 1 : d));
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, d) => a * d, 1));
  const outStrides = outShape.map((_, i) => outShape.slice(i + 1).reduce((a, d) => a * d, 1));
  const out = new Float64Array(outShape.reduce((a, d) => a * d, 1));
  for (let k = 0; k < x.length; k++) {
    let o = 0;
    for (let i = 0; i < rank; i++) if (!set.has(i)) o += (Math.floor(k / strides[i]!) % shape[i]!) * outStrides[i]!;
    out[o] = out[o]! + x[k]!;
  }
  const count = x.length / out.length;
  if (mean) for (let i = 0; i < out.length; i++) out[i] = out[i]! / count;
  return { values: out, shape: keepDims ? outShape : shape.filter((_, i) => !set.has(i)) };
}

const reduceCase = fc
  .record({
    shape: fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 4 }),
    axesSeed: fc.nat(),
    leading: fc.boolean(),
    negative: fc.boolean(),
    keepDims: fc.boolean(),
    mean: fc.boolean(),
    seed: fc.nat(),
  })
  .map((k) => {
    const rank = k.shape.length;
    let axes: number[];
    if (k.leading) axes = Array.from({ length: 1 + (k.axesSeed % rank) }, (_, i) => i);
    else axes = Array.from({ length: rank }, (_, i) => i).filter((i) => (k.axesSeed >> i) & 1);
    if (axes.length === 0) axes = [rank - 1];
    if (k.negative) axes = axes.map((a) => a - rank);
    return { ...k, axes };
  });

describe('wasm Sum and Mean', () => {
  beforeAll(async () => {
    await setupBackend({ backend: 'wasm', threads: 1 });
  });

  test.prop([reduceCase], { numRuns: 150 })('match a float64 reference over any axes', (k) => {
    const x = randomArray(k.shape.reduce((a, d) => a * d, 1), k.seed);
    const ref = reduceRef(x, k.shape, k.axes, k.mean, k.keepDims);
    const got = tf.tidy(() => {
      const t = tf.tensor(x, k.shape);
      const r = k.mean ? tf.mean(t, k.axes, k.keepDims) : tf.sum(t, k.axes, k.keepDims);
      return { values: r.dataSync(), shape: r.shape };
    });
    expect(got.shape).toEqual(ref.shape);
    // Error relative to the sums of |x| (the float32 stock kernel, which handles the other axes, cancels less exactly).
    const scale = Math.max(...reduceRef(x.map(Math.abs), k.shape, k.axes, k.mean, k.keepDims).values);
    let worst = 0;
    got.values.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - ref.values[i]!))));
    expect(worst / scale).toBeLessThan(1e-6);
  });

  it('sums the channels of a large NHWC tensor more accurately than float32 accumulation needs', () => {
    const shape = [4, 64, 64, 8];
    const x = randomArray(4 * 64 * 64 * 8, 3).map((v) => 1000 + v);
    const ref = reduceRef(x, shape, [0, 1, 2], false, false);
    const got = tf.tidy(() => tf.sum(tf.tensor(x, shape), [0, 1, 2]).dataSync());
    expect(relativeError(got, ref.values)).toBeLessThan(1e-7);
  });

  it('leaves int32 reductions to the stock kernel', () => {
    const got = tf.tidy(() => tf.sum(tf.tensor([[1, 2], [3, 4]], [2, 2], 'int32'), 0));
    expect(got.dtype).toBe('int32');
    expect(Array.from(got.dataSync())).toEqual([4, 6]);
    got.dispose();
  });
});
