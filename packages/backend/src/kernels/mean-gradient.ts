// The gradient of Mean over the leading axes (per channel of NHWC), which training-mode batch norm passes through twice
// per layer at full size (tf.moments: the mean, and the mean of the squared deviations). tfjs-core 4.22 builds it as
// reshape(dy) · ones(x.shape) / n: a full-size Fill, Multiply and RealDiv. `SteelBroadcastRows` writes dy / n once and
// copies that row over the rest of the output (doubling copies: memcpy speed), with the same float32 values.
import * as tf from '@tensorflow/tfjs-core';
import { allocFloat32, float32View } from './tensor-data.ts';

/** Name of the kernel registered by `registerKernelFixes` on wasm and cpu. */
export const BROADCAST_ROWS = 'SteelBroadcastRows';

/** `SteelBroadcastRows`: input x (float32, c values); attrs shape (its last axes hold c values) and divisor. */
export const broadcastRows: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const x = inputs['x']!;
  const { shape, divisor } = attrs as unknown as { shape: number[]; divisor: number };
  const cols = tf.util.sizeFromShape(x.shape);
  const total = tf.util.sizeFromShape(shape);
  if (x.dtype !== 'float32' || cols === 0 || total % cols !== 0) {
    throw new Error(`${BROADCAST_ROWS} expects float32 values that fill rows of [${shape}], got ${x.dtype}[${x.shape}].`);
  }
  const out = allocFloat32(backend, shape);
  const xv = float32View(backend, x);
  const ov = float32View(backend, out);
  for (let c = 0; c < cols; c++) ov[c] = xv[c]! / divisor;
  for (let filled = cols; filled < total; filled *= 2) ov.copyWithin(filled, 0, Math.min(filled, total - filled));
  return out;
};

/** The number of leading axes `axes` names when it names exactly axes 0..k-1 of a rank-`rank` shape (k < rank), else 0. */
export function leadingAxisCount(axes: readonly number[], rank: number): number {
  const sorted = [...new Set(axes.map((a) => (a < 0 ? a + rank : a)))].sort((a, b) => a - b);
  if (sorted.length === 0 || sorted.length >= rank) return 0;
  return sorted.every((a, i) => a === i) ? sorted.length : 0;
}

/** tfjs gradient config for the `Mean` kernel, registered by `setupBackend` (global to all backends). */
export const meanGradConfig: tf.GradConfig = {
  kernelName: 'Mean',
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved as [tf.Tensor];
    const axes = tf.util.parseAxisParam((attrs as unknown as { axis: number | number[] }).axis, x.shape);
    const n = axes.reduce((a, axis) => a * x.shape[axis]!, 1);
    const g = dy as tf.Tensor;
    const fast = leadingAxisCount(axes, x.rank) > 0 && g.dtype === 'float32' && tf.getKernel(BROADCAST_ROWS, tf.getBackend()) !== undefined;
    if (fast) return { x: () => tf.engine().runKernel(BROADCAST_ROWS, { x: g }, { shape: x.shape, divisor: n }) as tf.Tensor };
    // tfjs' own formula.
    const expanded = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    return { x: () => tf.div(tf.mul(tf.reshape(g, expanded), tf.ones(x.shape, 'float32')), n) };
  },
};
