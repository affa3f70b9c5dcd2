import * as tf from '@tensorflow/tfjs-core';
import { input, model as buildModel, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { BilinearUpsampling, GroupNormalization, InputSizeCheck, checkInputShape, nearestMultiple, registerSteelLayers } from './layers.ts';
import { isModelsError } from './errors.ts';

/** Deterministic pseudo-random values in [-2, 2) (no tfjs involved). */
function values(count: number, seed: number): Float64Array {
  const out = new Float64Array(count);
  let s = seed >>> 0;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 4 - 2;
  }
  return out;
}

describe('GroupNormalization', () => {
  it('equals a float64 GroupNorm(8, 32) reference (contiguous channel groups, biased variance, eps 1e-5)', () => {
    const [n, h, w, c, groups] = [2, 3, 5, 32, 8];
    const x = values(n * h * w * c, 1);
    const gamma = values(c, 2);
    const beta = values(c, 3);
    const expected = new Float64Array(x.length);
    const size = c / groups;
    for (let b = 0; b < n; b++)
      for (let g = 0; g < groups; g++) {
        const idx: number[] = [];
        for (let p = 0; p < h * w; p++) for (let k = g * size; k < (g + 1) * size; k++) idx.push((b * h * w + p) * c + k);
        const mean = idx.reduce((s, i) => s + x[i]!, 0) / idx.length;
        const variance = idx.reduce((s, i) => s + (x[i]! - mean) ** 2, 0) / idx.length;
        for (const i of idx) expected[i] = ((x[i]! - mean) / Math.sqrt(variance + 1e-5)) * gamma[i % c]! + beta[i % c]!;
      }
    const layer = new GroupNormalization({ groups });
    const xt = tf.tensor4d(Float32Array.from(x), [n, h, w, c]);
    layer.build(xt.shape);
    const affine = [tf.tensor1d(Float32Array.from(gamma)), tf.tensor1d(Float32Array.from(beta))];
    layer.setWeights(affine);
    tf.dispose(affine);
    const y = layer.apply(xt) as tf.Tensor;
    const got = y.dataSync();
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - expected[i]!));
    expect(worst).toBeLessThan(1e-5);
    tf.dispose([xt, y]);
    for (const w of layer.weights) w.dispose();
  });

  it('rejects channels that do not split into groups', () => {
    expect(() => new GroupNormalization({ groups: 32 }).build([null, 4, 4, 48])).toThrow(/divide into 32 groups/);
  });
});

describe('BilinearUpsampling (align_corners=True)', () => {
  it.each([2, 4])('equals the float64 align-corners formula at scale %i', (scale) => {
    const [n, h, w, c] = [2, 3, 5, 2];
    const x = values(n * h * w * c, 9);
    const [oh, ow] = [h * scale, w * scale];
    const at = (b: number, y: number, xx: number, k: number) => x[((b * h + y) * w + xx) * c + k]!;
    const expected: number[] = [];
    for (let b = 0; b < n; b++)
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++)
          for (let k = 0; k < c; k++) {
            // Source coordinate i * (in - 1) / (out - 1): no half-pixel centres.
            const sy = (i * (h - 1)) / (oh - 1);
            const sx = (j * (w - 1)) / (ow - 1);
            const y0 = Math.floor(sy);
            const x0 = Math.floor(sx);
            const y1 = Math.min(y0 + 1, h - 1);
            const x1 = Math.min(x0 + 1, w - 1);
            const dy = sy - y0;
            const dx = sx - x0;
            const top = at(b, y0, x0, k) * (1 - dx) + at(b, y0, x1, k) * dx;
            const bottom = at(b, y1, x0, k) * (1 - dx) + at(b, y1, x1, k) * dx;
            expected.push(top * (1 - dy) + bottom * dy);
          }
    const xt = tf.tensor4d(Float32Array.from(x), [n, h, w, c]);
    const y = new BilinearUpsampling({ scale }).apply(xt) as tf.Tensor;
    expect(y.shape).toEqual([n, oh, ow, c]);
    const got = y.dataSync();
    expect(Math.max(...expected.map((e, i) => Math.abs(e - got[i]!)))).toBeLessThan(1e-5);
    tf.dispose([xt, y]);
  });
});

describe('input size', () => {
  test.prop([fc.integer({ min: 1, max: 5000 })])('nearestMultiple is a multiple of 32 at most 16 away (or 32)', (size) => {
    const m = nearestMultiple(size);
    expect(m % 32).toBe(0);
    expect(m >= 32).toBe(true);
    if (size >= 16) expect(Math.abs(m - size)).toBeLessThanOrEqual(16);
  });

  it.each([
    [[1, 256, 1600, 1], null],
    [[1, 250, 1600, 1], 'INVALID_SHAPE'],
    [[256, 1600, 1], 'INVALID_SHAPE'],
    [[1, 256, 1600, 3], 'INVALID_SHAPE'],
  ])('checkInputShape(%j) → %s', (shape, code) => {
    let got: unknown = null;
    try {
      checkInputShape(shape, 1);
    } catch (error) {
      got = isModelsError(error) ? error.code : error;
    }
    expect(got).toBe(code);
  });
});

describe('registerSteelLayers', () => {
  it('makes every custom layer deserialisable with its config', async () => {
    registerSteelLayers();
    registerSteelLayers(); // idempotent
    const x = input({ shape: [8, 8, 32] });
    let y = new InputSizeCheck({ multiple: 8 }).apply(x) as SymbolicTensor;
    y = new GroupNormalization({ groups: 4, epsilon: 1e-3 }).apply(y) as SymbolicTensor;
    y = new BilinearUpsampling({ scale: 4 }).apply(y) as SymbolicTensor;
    const m = buildModel({ inputs: x, outputs: y });
    const json = JSON.parse(JSON.stringify(m.toJSON(null, false))) as { config: { layers: { class_name: string; config: Record<string, unknown> }[] } };
    const layers = json.config.layers.map((l) => [l.class_name, l.config['multiple'] ?? l.config['groups'] ?? l.config['scale']]);
    expect(layers.slice(1)).toEqual([
      ['SteelInputSizeCheck', 8],
      ['SteelGroupNormalization', 4],
      ['SteelBilinearUpsampling', 4],
    ]);
    const cls = tf.serialization.SerializationMap.getMap().classNameMap['SteelGroupNormalization'];
    expect(cls?.[0]).toBe(GroupNormalization);
    m.dispose();
  });
});

describe('gradients of the custom layers on the test backend', () => {
  it('BilinearUpsampling passes the adjoint test <f(x), dy> = <x, grad(dy)>', () => {
    for (const scale of [2, 4]) {
      const [x, dy] = tf.tidy(() => [tf.tensor4d(Float32Array.from(values(2 * 5 * 7 * 3, 21)), [2, 5, 7, 3]), tf.tensor4d(Float32Array.from(values(2 * 5 * scale * 7 * scale * 3, 22)), [2, 5 * scale, 7 * scale, 3])]);
      const layer = new BilinearUpsampling({ scale });
      const [lhs, rhs] = tf.tidy(() => {
        const f = (t: tf.Tensor) => layer.apply(t) as tf.Tensor;
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t), dy!)))(x!);
        return [tf.sum(tf.mul(f(x!), dy!)).dataSync()[0]!, tf.sum(tf.mul(x!, g)).dataSync()[0]!];
      });
      expect(Math.abs(lhs! - rhs!) / Math.abs(lhs!)).toBeLessThan(1e-4);
      tf.dispose([x!, dy!]);
    }
  });

  it('GroupNormalization gradient matches central finite differences along a direction', () => {
    const [n, h, w, c] = [2, 3, 4, 8];
    const layer = new GroupNormalization({ groups: 4 });
    layer.build([n, h, w, c]);
    const affine = [tf.tensor1d(Float32Array.from(values(c, 31))), tf.tensor1d(Float32Array.from(values(c, 32)))];
    layer.setWeights(affine);
    tf.dispose(affine);
    const x = tf.tensor4d(Float32Array.from(values(n * h * w * c, 33)), [n, h, w, c]);
    const v = tf.tensor4d(Float32Array.from(values(n * h * w * c, 34)), [n, h, w, c]);
    const weights = tf.tensor4d(Float32Array.from(values(n * h * w * c, 35)), [n, h, w, c]);
    const loss = (t: tf.Tensor) => tf.sum(tf.mul(tf.square(layer.apply(t) as tf.Tensor), weights));
    const [analytic, numeric] = tf.tidy(() => {
      const eps = 1e-2;
      const g = tf.grad(loss)(x);
      const plus = loss(tf.add(x, tf.mul(v, eps))).dataSync()[0]!;
      const minus = loss(tf.sub(x, tf.mul(v, eps))).dataSync()[0]!;
      return [tf.sum(tf.mul(g, v)).dataSync()[0]!, (plus - minus) / (2 * eps)];
    });
    expect(Math.abs(analytic! - numeric!) / Math.abs(numeric!)).toBeLessThan(1e-2);
    tf.dispose([x, v, weights]);
    for (const wv of layer.weights) wv.dispose();
  });
});
