import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { setupBackend } from '../setup-backend.ts';
import { randomArray } from './reference.test-utils.ts';

const SHAPE = [2, 3, 5, 6];

/** dx of mean(x, axes) for the cotangent dy, in float64: dy broadcast over the reduced axes, divided by their size. */
function meanGradRef(dy: Float32Array, shape: number[], axes: number[]): Float64Array {
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, d) => a * d, 1));
  const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const n = axes.reduce((a, i) => a * shape[i]!, 1);
  const out = new Float64Array(shape.reduce((a, d) => a * d, 1));
  for (let k = 0; k < out.length; k++) {
    let o = 0;
    for (const i of kept) o = o * shape[i]! + (Math.floor(k / strides[i]!) % shape[i]!);
    out[k] = dy[o]! / n;
  }
  return out;
}

describe.each(['wasm', 'cpu'] as const)('Mean gradient on %s', (backend) => {
  it.each([[0], [0, 1], [0, 1, 2], [1, 2], [3], [0, 2]])('over axes %j: the float64 adjoint of the mean', async (...axes) => {
    await setupBackend({ backend, threads: 1 });
    const n = SHAPE.reduce((a, d) => a * d, 1);
    const xv = randomArray(n, 5);
    const outShape = SHAPE.filter((_, i) => !axes.includes(i));
    const dyv = randomArray(outShape.reduce((a, d) => a * d, 1), 6);
    const { kernels, result } = await tf.profile(() =>
      tf.tidy(() => {
        const x = tf.tensor(xv, SHAPE);
        const dy = tf.tensor(dyv, outShape);
        const dx = tf.grad((t: tf.Tensor) => tf.mean(t, axes))(x, dy);
        return { dx: dx.dataSync() as Float32Array, mean: tf.mean(x, axes).dataSync() as Float32Array };
      }),
    );
    const { dx, mean } = result as { dx: Float32Array; mean: Float32Array };
    const want = meanGradRef(dyv, SHAPE, axes);
    for (let k = 0; k < n; k++) expect(dx[k]).toBeCloseTo(want[k]!, 6);
    // Adjoint: <mean(x), dy> = <x, dx(dy)>.
    let lhs = 0;
    let rhs = 0;
    mean.forEach((m, k) => (lhs += m * dyv[k]!));
    xv.forEach((x, k) => (rhs += x * dx[k]!));
    expect(Math.abs(lhs - rhs)).toBeLessThan(1e-5 * (Math.abs(lhs) + 1));
    // Leading axes take the one-pass kernel, the others tfjs' formula.
    const leading = axes.every((a, i) => a === i);
    expect(kernels.some((k) => k.name === 'SteelBroadcastRows')).toBe(leading);
  });
});
