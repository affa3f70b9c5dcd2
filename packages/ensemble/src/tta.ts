import * as tf from '@tensorflow/tfjs-core';
import { EnsembleError, echo } from './errors.ts';

/** Any model or pipeline: an NHWC image batch to NHWC per-class probabilities. Returns a new tensor; never disposes its input. */
export type PredictFn = (batch: tf.Tensor4D) => tf.Tensor4D | Promise<tf.Tensor4D>;

/** Test-time flips: horizontal (width axis), vertical (height axis), or both. */
export type TtaTransform = 'hflip' | 'vflip' | 'hvflip';

/** Every test-time transform, in a fixed order. */
export const TTA_TRANSFORMS: readonly TtaTransform[] = Object.freeze(['hflip', 'vflip', 'hvflip'] as const);

/** Options of {@link withTta} and {@link withTtaArrays}. */
export interface TtaOptions {
  /** Flips averaged with the plain prediction; default every one of {@link TTA_TRANSFORMS}. An empty list means no TTA. */
  readonly transforms?: readonly TtaTransform[];
}

/** An NHWC batch held in a typed array, for callers without tfjs. */
export interface ArrayBatch {
  readonly data: Float32Array;
  /** `[batch, height, width, channels]`. */
  readonly shape: readonly [number, number, number, number];
}

/** A function from an {@link ArrayBatch} of images to an {@link ArrayBatch} of probabilities. */
export type ArrayPredictFn = (batch: ArrayBatch) => ArrayBatch | Promise<ArrayBatch>;

/**
 * Parses a list of test-time transform names (`'hflip,vflip'` or `['hflip', 'vflip']`; `''` or `'none'` for none).
 * @throws {EnsembleError} `UNKNOWN_NAME` for a name not in {@link TTA_TRANSFORMS}, `INVALID_ARGUMENT` for a repeated one.
 * @example parseTtaTransforms('hflip,vflip'); // ['hflip', 'vflip']
 */
export function parseTtaTransforms(names: string | readonly string[]): TtaTransform[] {
  const list = typeof names === 'string' ? names.split(',').map((s) => s.trim()).filter((s) => s !== '') : [...names];
  if (list.length === 1 && list[0] === 'none') return [];
  const out: TtaTransform[] = [];
  for (const name of list) {
    if (!(TTA_TRANSFORMS as readonly string[]).includes(name)) {
      throw new EnsembleError('UNKNOWN_NAME', `Unknown test-time transform ${echo(name)}; expected one of ${TTA_TRANSFORMS.join(', ')} (or 'none').`);
    }
    if (out.includes(name as TtaTransform)) throw new EnsembleError('INVALID_ARGUMENT', `Test-time transform ${echo(name)} is listed twice.`);
    out.push(name as TtaTransform);
  }
  return out;
}

function checkTransforms(transforms: readonly TtaTransform[]): readonly TtaTransform[] {
  if (!Array.isArray(transforms)) throw new EnsembleError('INVALID_ARGUMENT', `Expected transforms to be an array, got ${echo(transforms)}.`);
  return parseTtaTransforms(transforms);
}

const AXES: Record<TtaTransform, number[]> = { hflip: [2], vflip: [1], hvflip: [1, 2] };

/** Flips an NHWC tensor (its own inverse). */
function flip(x: tf.Tensor4D, transform: TtaTransform): tf.Tensor4D {
  return tf.reverse(x, AXES[transform]);
}

function checkBatch(batch: tf.Tensor4D, what: string): void {
  if (!(batch instanceof tf.Tensor) || batch.rank !== 4) {
    throw new EnsembleError('SHAPE_MISMATCH', `Expected ${what} to be a rank-4 NHWC tensor, got ${batch instanceof tf.Tensor ? `shape [${batch.shape.join(', ')}]` : echo(batch)}.`);
  }
}

/**
 * Wraps a prediction function with test-time augmentation: the batch is also predicted flipped, each prediction is flipped
 * back, and all are averaged (the plain prediction included). Works for any {@link PredictFn}: a model, an ensemble, a pipeline.
 * Holds at most two probability tensors at a time besides the model's own.
 * @throws {EnsembleError} `UNKNOWN_NAME` for an unknown transform; the returned function rejects with `SHAPE_MISMATCH` if the batch or a prediction is not rank 4 or changes the batch size.
 * @example const predict = withTta((x) => model.predict(x) as tf.Tensor4D, { transforms: ['hflip', 'vflip'] });
 */
export function withTta(predict: PredictFn, { transforms = TTA_TRANSFORMS }: TtaOptions = {}): (batch: tf.Tensor4D) => Promise<tf.Tensor4D> {
  if (typeof predict !== 'function') throw new EnsembleError('INVALID_ARGUMENT', `Expected predict to be a function, got ${echo(predict)}.`);
  const views: (TtaTransform | null)[] = [null, ...checkTransforms(transforms)];
  return async (batch) => {
    checkBatch(batch, 'the batch');
    let sum: tf.Tensor4D | null = null;
    try {
      for (const view of views) {
        const input = view === null ? batch : flip(batch, view);
        let out: tf.Tensor4D;
        try {
          out = await predict(input);
        } catch (error) {
          if (input !== batch) input.dispose();
          throw error;
        }
        const owned = new Set<tf.Tensor>();
        if (input !== batch) owned.add(input);
        if (out !== batch) owned.add(out);
        try {
          checkBatch(out, `the prediction${view === null ? '' : ` of the ${view} view`}`);
          if (out.shape[0] !== batch.shape[0]) {
            throw new EnsembleError('SHAPE_MISMATCH', `Expected a prediction for ${batch.shape[0]} images, got shape [${out.shape.join(', ')}].`);
          }
          const restored = view === null ? out : flip(out, view);
          if (restored !== batch) owned.add(restored);
          const previous: tf.Tensor4D | null = sum;
          sum = (previous === null ? tf.clone(restored) : tf.add(previous, restored)) as tf.Tensor4D;
          if (previous !== null) owned.add(previous);
        } finally {
          for (const t of owned) if (t instanceof tf.Tensor && !t.isDisposed) t.dispose();
        }
      }
      const total = sum!;
      sum = null;
      const mean = tf.tidy(() => tf.div(tf.cast(total, 'float32'), views.length) as tf.Tensor4D);
      total.dispose();
      return mean;
    } catch (error) {
      sum?.dispose();
      throw error;
    }
  };
}

/**
 * Flips an NHWC typed-array batch (returns a new array; hflip reverses columns, vflip rows).
 * @throws {EnsembleError} `SHAPE_MISMATCH` if `data.length` is not the product of `shape`.
 */
export function flipArray(batch: ArrayBatch, transform: TtaTransform): ArrayBatch {
  const [n, h, w, c] = checkArrayBatch(batch, 'the batch');
  const out = new Float32Array(batch.data.length);
  const src = batch.data;
  const flipH = transform === 'hflip' || transform === 'hvflip';
  const flipV = transform === 'vflip' || transform === 'hvflip';
  for (let b = 0; b < n; b++) {
    for (let r = 0; r < h; r++) {
      const rs = flipV ? h - 1 - r : r;
      for (let x = 0; x < w; x++) {
        const xs = flipH ? w - 1 - x : x;
        const o = ((b * h + r) * w + x) * c;
        const s = ((b * h + rs) * w + xs) * c;
        for (let k = 0; k < c; k++) out[o + k] = src[s + k]!;
      }
    }
  }
  return { data: out, shape: [n, h, w, c] };
}

function checkArrayBatch(batch: ArrayBatch, what: string): [number, number, number, number] {
  const shape = batch?.shape;
  if (!Array.isArray(shape) || shape.length !== 4 || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new EnsembleError('SHAPE_MISMATCH', `Expected ${what} shape to be [batch, height, width, channels], got ${echo(shape)}.`);
  }
  const size = shape[0] * shape[1] * shape[2] * shape[3];
  if (!(batch.data instanceof Float32Array) || batch.data.length !== size) {
    throw new EnsembleError('SHAPE_MISMATCH', `Expected ${what} data to be a Float32Array of ${size} values for shape [${shape.join(', ')}], got ${echo(batch.data)}.`);
  }
  return [shape[0], shape[1], shape[2], shape[3]];
}

/**
 * {@link withTta} for typed-array batches, for callers without tfjs (for example a model run by another runtime).
 * @throws {EnsembleError} `UNKNOWN_NAME` for an unknown transform; the returned function rejects with `SHAPE_MISMATCH` for a bad batch or predictions of differing shapes.
 */
export function withTtaArrays(predict: ArrayPredictFn, { transforms = TTA_TRANSFORMS }: TtaOptions = {}): (batch: ArrayBatch) => Promise<ArrayBatch> {
  if (typeof predict !== 'function') throw new EnsembleError('INVALID_ARGUMENT', `Expected predict to be a function, got ${echo(predict)}.`);
  const views: (TtaTransform | null)[] = [null, ...checkTransforms(transforms)];
  return async (batch) => {
    checkArrayBatch(batch, 'the batch');
    let sum: Float32Array | null = null;
    let shape: readonly [number, number, number, number] | null = null;
    for (const view of views) {
      const out = await predict(view === null ? batch : flipArray(batch, view));
      checkArrayBatch(out, 'the prediction');
      if (shape !== null && out.shape.some((d, i) => d !== shape![i])) {
        throw new EnsembleError('SHAPE_MISMATCH', `Expected every view's prediction to have shape [${shape.join(', ')}], got [${out.shape.join(', ')}].`);
      }
      const restored = view === null ? out.data : flipArray(out, view).data;
      if (sum === null) {
        sum = Float32Array.from(restored);
        shape = out.shape;
      } else {
        for (let i = 0; i < sum.length; i++) sum[i]! += restored[i]!;
      }
    }
    const s = sum!;
    for (let i = 0; i < s.length; i++) s[i]! /= views.length;
    return { data: s, shape: shape! };
  };
}
