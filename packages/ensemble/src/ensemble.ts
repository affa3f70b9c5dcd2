import * as tf from '@tensorflow/tfjs-core';
import { EnsembleError, echo } from './errors.ts';
import type { PredictFn } from './tta.ts';

/**
 * How member probabilities are combined, with normalised weights w: `mean` Σ w·p (the default); `rms` √(Σ w·p²);
 * `geometric` exp(Σ w·log p); `max` the largest p among members of non-zero weight.
 */
export type CombineMode = 'mean' | 'rms' | 'geometric' | 'max';

/** Every combine mode. */
export const COMBINE_MODES: readonly CombineMode[] = Object.freeze(['mean', 'rms', 'geometric', 'max'] as const);

/** Converts the shared input batch into what one member was trained on (channels, normalisation). Returns a new tensor. */
export type InputAdapter = (batch: tf.Tensor4D) => tf.Tensor4D;

/** One model of an ensemble. */
export interface EnsembleMember {
  readonly predict: PredictFn;
  /** Applied to the batch before `predict`; default none (the member takes the batch as given). */
  readonly adapt?: InputAdapter;
  /** Used in error messages. */
  readonly name?: string;
}

/** Options of {@link createEnsemble} and {@link combineProbabilities}. */
export interface CombineOptions {
  /** One non-negative weight per member, normalised to sum 1; default equal weights. */
  readonly weights?: readonly number[];
  /** Default `'mean'`. */
  readonly mode?: CombineMode;
}

/** Options of {@link createInputAdapter}. */
export interface InputAdapterOptions {
  /** Channels the member expects: 1 (grey) or 3. A 3-channel batch becomes grey by its channel mean; a grey batch is repeated. */
  readonly channels: 1 | 3;
  /** Multiplies the pixels first, e.g. 1/255; default 1. */
  readonly scale?: number;
  /** Subtracted after scaling, one value or one per channel; default 0. */
  readonly mean?: number | readonly number[];
  /** Divides after subtracting, one value or one per channel; default 1. */
  readonly std?: number | readonly number[];
}

const GEOMETRIC_EPS = 1e-7;

/**
 * Validates weights and normalises them to sum 1; `undefined` gives equal weights.
 * @throws {EnsembleError} `INVALID_WEIGHTS` if the count differs from `count`, a weight is negative or not finite, or all are 0.
 * @example normalizeWeights([1, 3], 2); // [0.25, 0.75]
 */
export function normalizeWeights(weights: readonly number[] | undefined, count: number): number[] {
  if (!Number.isInteger(count) || count < 1) throw new EnsembleError('INVALID_ARGUMENT', `Expected at least one member, got ${echo(count)}.`);
  if (weights === undefined) return new Array<number>(count).fill(1 / count);
  if (!Array.isArray(weights) || weights.length !== count) {
    throw new EnsembleError('INVALID_WEIGHTS', `Expected ${count} weights (one per model), got ${Array.isArray(weights) ? weights.length : echo(weights)}.`);
  }
  weights.forEach((w, i) => {
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) {
      throw new EnsembleError('INVALID_WEIGHTS', `weights[${i}]: expected a finite non-negative number, got ${echo(w)}.`);
    }
  });
  const total = weights.reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw new EnsembleError('INVALID_WEIGHTS', `Expected at least one positive weight, got [${weights.join(', ')}].`);
  return weights.map((w) => w / total);
}

function checkMode(mode: unknown): asserts mode is CombineMode {
  if (!(COMBINE_MODES as readonly unknown[]).includes(mode)) {
    throw new EnsembleError('UNKNOWN_NAME', `Unknown combine mode ${echo(mode)}; expected one of ${COMBINE_MODES.join(', ')}.`);
  }
}

/** Folds one member's probabilities into the accumulator (returns a new tensor). */
function fold(acc: tf.Tensor | null, p: tf.Tensor, w: number, mode: CombineMode): tf.Tensor {
  return tf.tidy(() => {
    const x = tf.cast(p, 'float32');
    let term: tf.Tensor;
    if (mode === 'max') return acc === null ? tf.clone(x) : tf.maximum(acc, x);
    if (mode === 'mean') term = tf.mul(x, w);
    else if (mode === 'rms') term = tf.mul(tf.square(x), w);
    else term = tf.mul(tf.log(tf.maximum(x, GEOMETRIC_EPS)), w);
    return acc === null ? term : tf.add(acc, term);
  });
}

function finish(acc: tf.Tensor, mode: CombineMode): tf.Tensor {
  if (mode === 'rms') return tf.sqrt(acc);
  if (mode === 'geometric') return tf.exp(acc);
  return tf.clone(acc);
}

/**
 * Creates a prediction function that runs every member (through its input adapter) one after the other and combines their
 * probabilities by weight, holding one member's output and the running combination at a time. Members of weight 0 are skipped.
 * Wrap the result in {@link withTta} for test-time augmentation of the whole ensemble.
 * @throws {EnsembleError} `INVALID_WEIGHTS`, `UNKNOWN_NAME` for a bad mode; the returned function rejects with `SHAPE_MISMATCH` when members' outputs differ in shape.
 * @example const predict = createEnsemble([{ predict: unet }, { predict: fpn, adapt: createInputAdapter({ channels: 3 }) }], { weights: [0.5, 0.5] });
 */
export function createEnsemble(
  members: readonly EnsembleMember[],
  { weights, mode = 'mean' }: CombineOptions = {},
): (batch: tf.Tensor4D) => Promise<tf.Tensor4D> {
  if (!Array.isArray(members) || members.length === 0) {
    throw new EnsembleError('INVALID_ARGUMENT', `Expected a non-empty array of ensemble members, got ${echo(members)}.`);
  }
  members.forEach((m, i) => {
    if (m === null || typeof m !== 'object' || typeof m.predict !== 'function') {
      throw new EnsembleError('INVALID_ARGUMENT', `members[${i}]: expected { predict, adapt? }, got ${echo(m)}.`);
    }
  });
  checkMode(mode);
  const w = normalizeWeights(weights, members.length);
  return async (batch) => {
    let acc: tf.Tensor | null = null;
    let shape: number[] | null = null;
    try {
      for (let i = 0; i < members.length; i++) {
        if (w[i] === 0) continue;
        const member = members[i]!;
        const label = member.name ?? `members[${i}]`;
        const input = member.adapt ? member.adapt(batch) : batch;
        let out: tf.Tensor4D | undefined;
        try {
          out = await member.predict(input);
          if (!(out instanceof tf.Tensor) || out.rank !== 4) {
            throw new EnsembleError('SHAPE_MISMATCH', `${label}: expected a rank-4 NHWC prediction, got ${out instanceof tf.Tensor ? `shape [${out.shape.join(', ')}]` : echo(out)}.`);
          }
          if (shape !== null && out.shape.some((d, k) => d !== shape![k])) {
            throw new EnsembleError('SHAPE_MISMATCH', `${label}: expected a prediction of shape [${shape.join(', ')}] like the members before it, got [${out.shape.join(', ')}].`);
          }
          shape = out.shape;
          const next = fold(acc, out, w[i]!, mode);
          acc?.dispose();
          acc = next;
        } finally {
          if (input !== batch) input.dispose();
          if (out instanceof tf.Tensor && out !== batch && !out.isDisposed) out.dispose();
        }
      }
      const result = tf.tidy(() => finish(acc!, mode)) as tf.Tensor4D;
      return result;
    } finally {
      acc?.dispose();
    }
  };
}

/**
 * Combines several members' probabilities held in typed arrays (same length, any layout) by weight, like {@link createEnsemble}.
 * @throws {EnsembleError} `INVALID_WEIGHTS`, `UNKNOWN_NAME` for a bad mode, `SHAPE_MISMATCH` when lengths differ.
 * @example combineProbabilities([unetProbs, fpnProbs], { weights: [0.5, 0.5] });
 */
export function combineProbabilities(members: readonly ArrayLike<number>[], { weights, mode = 'mean' }: CombineOptions = {}): Float32Array {
  if (!Array.isArray(members) || members.length === 0) {
    throw new EnsembleError('INVALID_ARGUMENT', `Expected a non-empty array of probability arrays, got ${echo(members)}.`);
  }
  checkMode(mode);
  const w = normalizeWeights(weights, members.length);
  const n = members[0]!.length;
  members.forEach((m, i) => {
    if (m.length !== n) throw new EnsembleError('SHAPE_MISMATCH', `members[${i}]: expected ${n} probabilities like members[0], got ${m.length}.`);
  });
  const out = new Float32Array(n);
  if (mode === 'max') out.fill(-Infinity);
  for (let i = 0; i < members.length; i++) {
    const wi = w[i]!;
    if (wi === 0) continue;
    const p = members[i]!;
    if (mode === 'mean') for (let j = 0; j < n; j++) out[j]! += wi * p[j]!;
    else if (mode === 'rms') for (let j = 0; j < n; j++) out[j]! += wi * p[j]! * p[j]!;
    else if (mode === 'geometric') for (let j = 0; j < n; j++) out[j]! += wi * Math.log(Math.max(p[j]!, GEOMETRIC_EPS));
    else for (let j = 0; j < n; j++) if (p[j]! > out[j]!) out[j] = p[j]!;
  }
  if (mode === 'rms') for (let j = 0; j < n; j++) out[j] = Math.sqrt(out[j]!);
  else if (mode === 'geometric') for (let j = 0; j < n; j++) out[j] = Math.exp(out[j]!);
  return out;
}

function perChannel(value: number | readonly number[], channels: number, field: string): number[] {
  const list = typeof value === 'number' ? new Array<number>(channels).fill(value) : [...value];
  if (list.length !== channels || !list.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new EnsembleError('INVALID_ARGUMENT', `${field}: expected a finite number or ${channels} of them, got ${echo(value)}.`);
  }
  return list;
}

/**
 * Creates an {@link InputAdapter}: converts a 1- or 3-channel NHWC batch to `channels` channels, then computes
 * `(x · scale − mean) / std` per channel, in float32.
 * @throws {EnsembleError} `INVALID_ARGUMENT` for bad options; the adapter throws `SHAPE_MISMATCH` for a batch that is not 1- or 3-channel.
 * @example createInputAdapter({ channels: 3, scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
 */
export function createInputAdapter({ channels, scale = 1, mean = 0, std = 1 }: InputAdapterOptions): InputAdapter {
  if (channels !== 1 && channels !== 3) throw new EnsembleError('INVALID_ARGUMENT', `channels: expected 1 or 3, got ${echo(channels)}.`);
  if (typeof scale !== 'number' || !Number.isFinite(scale)) throw new EnsembleError('INVALID_ARGUMENT', `scale: expected a finite number, got ${echo(scale)}.`);
  const m = perChannel(mean, channels, 'mean');
  const s = perChannel(std, channels, 'std');
  if (s.some((v) => v === 0)) throw new EnsembleError('INVALID_ARGUMENT', `std: expected non-zero values, got ${echo(std)}.`);
  const identity = scale === 1 && m.every((v) => v === 0) && s.every((v) => v === 1);
  return (batch) => {
    const c = batch.shape[3];
    if (batch.rank !== 4 || (c !== 1 && c !== 3)) {
      throw new EnsembleError('SHAPE_MISMATCH', `Expected a 1- or 3-channel NHWC batch, got shape [${batch.shape.join(', ')}].`);
    }
    return tf.tidy(() => {
      let x: tf.Tensor4D = tf.cast(batch, 'float32');
      if (c === 3 && channels === 1) x = tf.mean(x, 3, true);
      else if (c === 1 && channels === 3) x = tf.tile(x, [1, 1, 1, 3]);
      if (identity) return c === channels ? tf.clone(x) : x;
      if (scale !== 1) x = tf.mul(x, scale);
      return tf.div(tf.sub(x, tf.tensor1d(m)), tf.tensor1d(s));
    });
  };
}
