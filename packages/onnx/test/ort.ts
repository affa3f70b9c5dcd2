// Test helpers: run a tfjs model and its ONNX export (onnxruntime-node, CPU) on the same input and compare whole tensors.
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import * as ort from 'onnxruntime-node';

/** max |a - b| / max |b| over the whole tensor. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

/**
 * Gives every batch norm and group norm non-trivial statistics and affines (fresh models have mean 0, variance 1,
 * gamma 1, beta 0, which would hide a wrong fold or a swapped parameter).
 */
export function randomizeNormalization(model: LayersModel, seed = 1): void {
  let s = seed;
  const next = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls !== 'BatchNormalization' && cls !== 'SteelGroupNormalization') continue;
    const values = layer.weights.map((w) => {
      const n = w.shape[0]!;
      const key = w.originalName.split('/').pop()!;
      const make = (f: () => number) => tf.tensor1d(Float32Array.from({ length: n }, f));
      if (key.startsWith('gamma')) return make(() => 0.6 + 0.8 * next());
      if (key.startsWith('moving_variance')) return make(() => 0.3 + 1.2 * next());
      return make(() => 0.2 * (next() - 0.5));
    });
    layer.setWeights(values);
    tf.dispose(values);
  }
}

/** A seeded uniform NCHW input in [-1, 1) and the same values in NHWC for tfjs. */
export function makeInput(shape: [number, number, number, number], seed = 7): { nchw: Float32Array; nhwc: tf.Tensor4D } {
  return tf.tidy(() => {
    const nhwc = tf.randomUniform([shape[0], shape[2], shape[3], shape[1]], -1, 1, 'float32', seed) as tf.Tensor4D;
    const nchw = tf.transpose(nhwc, [0, 3, 1, 2]).dataSync() as Float32Array;
    return { nchw, nhwc: tf.keep(nhwc) };
  });
}

/** The tfjs model's outputs, rank-4 ones transposed to NCHW. */
export function runTfjs(model: LayersModel, nhwc: tf.Tensor4D): Float32Array[] {
  return tf.tidy(() => {
    const out = model.predict(nhwc);
    return (Array.isArray(out) ? out : [out]).map(
      (t) => (t.rank === 4 ? tf.transpose(t, [0, 3, 1, 2]) : t).dataSync() as Float32Array,
    );
  });
}

/** An onnxruntime-node CPU session (1 thread: test files run in parallel). */
export function createSession(bytes: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
}

/** Runs `image` through the session; returns its outputs by name with their dims. */
export async function runOrt(
  session: ort.InferenceSession,
  nchw: Float32Array,
  shape: readonly number[],
): Promise<Record<string, { data: Float32Array; dims: readonly number[] }>> {
  const out = await session.run({ image: new ort.Tensor('float32', nchw, shape) });
  const result: Record<string, { data: Float32Array; dims: readonly number[] }> = {};
  for (const [name, t] of Object.entries(out)) result[name] = { data: t.data as Float32Array, dims: t.dims };
  return result;
}
