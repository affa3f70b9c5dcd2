import * as tf from '@tensorflow/tfjs-core';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { isEnsembleError } from './errors.ts';
import { flipArray, parseTtaTransforms, withTta, withTtaArrays, type ArrayBatch, type TtaTransform } from './tta.ts';

const batchShape = fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 3 }));
const batchOf = (shape: [number, number, number, number]) =>
  fc.array(fc.float({ min: -2, max: 2, noNaN: true }), { minLength: shape.reduce((a, b) => a * b), maxLength: shape.reduce((a, b) => a * b) }).map(
    (values): ArrayBatch => ({ data: Float32Array.from(values), shape }),
  );
const batch = batchShape.chain(batchOf);
const transforms = fc.subarray(['hflip', 'vflip', 'hvflip'] as TtaTransform[]);

/** A flip-equivariant model: a 3x3 convolution with a kernel symmetric in both axes (same padding), then a sigmoid. */
function symmetricConv(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const c = x.shape[3];
    const k = [1, 2, 1, 2, 4, 2, 1, 2, 1].map((v) => v / 16);
    const kernel = tf.tile(tf.reshape(tf.tensor1d(k), [3, 3, 1, 1]), [1, 1, c, 2]) as tf.Tensor4D;
    return tf.sigmoid(tf.conv2d(x, kernel, 1, 'same'));
  });
}

/** Not flip-equivariant: running sum along the width, then along the height, on plain arrays (float64). */
function cumulative(b: ArrayBatch): ArrayBatch {
  const [n, h, w, c] = b.shape;
  const out = new Float64Array(b.data.length);
  for (let i = 0; i < n; i++)
    for (let r = 0; r < h; r++)
      for (let x = 0; x < w; x++)
        for (let k = 0; k < c; k++) {
          const o = ((i * h + r) * w + x) * c + k;
          out[o] = b.data[o]! + (x > 0 ? out[o - c]! : 0) + (r > 0 ? out[o - w * c]! : 0) - (x > 0 && r > 0 ? out[o - w * c - c]! : 0);
        }
  return { data: Float32Array.from(out), shape: b.shape };
}

/** Flips by index arithmetic, independently of flipArray. */
function flipRef(b: ArrayBatch, t: TtaTransform | null): Float64Array {
  const [n, h, w, c] = b.shape;
  const out = new Float64Array(b.data.length);
  for (let i = 0; i < n; i++)
    for (let r = 0; r < h; r++)
      for (let x = 0; x < w; x++)
        for (let k = 0; k < c; k++) {
          const rr = t === 'vflip' || t === 'hvflip' ? h - 1 - r : r;
          const xx = t === 'hflip' || t === 'hvflip' ? w - 1 - x : x;
          out[((i * h + r) * w + x) * c + k] = b.data[((i * h + rr) * w + xx) * c + k]!;
        }
  return out;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-4): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThanOrEqual(tol * (1 + Math.abs(expected[i]!)));
}

describe('withTta', () => {
  test.prop([batch, transforms], { numRuns: 25 })('of a flip-equivariant model equals the model', async (b, ts) => {
    const x = tf.tensor4d(b.data, [...b.shape]);
    const plain = symmetricConv(x);
    const averaged = await withTta(symmetricConv, { transforms: ts })(x);
    expectClose(await averaged.data(), await plain.data());
    tf.dispose([x, plain, averaged]);
  });

  test.prop([batch, transforms], { numRuns: 25 })('un-flips each view of a non-equivariant model before averaging', async (b, ts) => {
    // Reference: mean over views v of v(f(v(x))), every piece computed on plain arrays.
    const views: (TtaTransform | null)[] = [null, ...ts];
    const want = new Float64Array(b.data.length);
    for (const v of views) {
      const flipped: ArrayBatch = { data: Float32Array.from(flipRef(b, v)), shape: b.shape };
      const back = flipRef(cumulative(flipped), v);
      for (let i = 0; i < want.length; i++) want[i]! += back[i]! / views.length;
    }
    const model = (t: tf.Tensor4D): tf.Tensor4D => {
      const out = cumulative({ data: t.dataSync() as Float32Array, shape: t.shape });
      return tf.tensor4d(out.data, t.shape);
    };
    const x = tf.tensor4d(b.data, [...b.shape]);
    const got = await withTta(model, { transforms: ts })(x);
    expectClose(await got.data(), want);
    tf.dispose([x, got]);
    expectClose((await withTtaArrays(cumulative, { transforms: ts })(b)).data, want);
  });

  test.prop([batch])('flipArray is an involution and matches index arithmetic', (b) => {
    for (const t of ['hflip', 'vflip', 'hvflip'] as const) {
      expect(flipArray(b, t).data).toEqual(Float32Array.from(flipRef(b, t)));
      expect(flipArray(flipArray(b, t), t).data).toEqual(b.data);
    }
  });

  it('never disposes the caller batch, even when the model returns its input', async () => {
    const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
    const out = await withTta((t) => t)(x);
    expect(x.isDisposed).toBe(false);
    expect(Array.from(await out.data())).toEqual([1, 2, 3, 4]);
    tf.dispose([x, out]);
  });

  it('rejects a prediction with another batch size without leaking', async () => {
    const x = tf.zeros([2, 2, 2, 1]) as tf.Tensor4D;
    const bad = (t: tf.Tensor4D) => tf.slice(t, [0, 0, 0, 0], [1, 2, 2, 1]) as tf.Tensor4D;
    await expect(withTta(bad)(x)).rejects.toSatisfy((e) => isEnsembleError(e) && e.code === 'SHAPE_MISMATCH');
    x.dispose();
  });

  it('rejects a throwing model without leaking', async () => {
    const x = tf.zeros([1, 2, 2, 1]) as tf.Tensor4D;
    let calls = 0;
    const flaky = (t: tf.Tensor4D) => {
      if (++calls === 2) throw new Error('boom');
      return tf.clone(t);
    };
    await expect(withTta(flaky)(x)).rejects.toThrow('boom');
    x.dispose();
  });
});

describe('parseTtaTransforms', () => {
  it('parses the CLI list', () => {
    expect(parseTtaTransforms('hflip, vflip')).toEqual(['hflip', 'vflip']);
    expect(parseTtaTransforms('none')).toEqual([]);
    expect(parseTtaTransforms('')).toEqual([]);
  });
  it('lists the valid names for an unknown one', () => {
    expect(() => parseTtaTransforms('hflip,rot90')).toThrowErrorMatchingInlineSnapshot(`[EnsembleError: Unknown test-time transform 'rot90'; expected one of hflip, vflip, hvflip (or 'none').]`);
    expect(() => parseTtaTransforms(['vflip', 'vflip'])).toThrow(/twice/);
  });
});
