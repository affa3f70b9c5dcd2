import * as tf from '@tensorflow/tfjs-core';
import { LossesError } from './errors.ts';

const isTensor = (value: unknown): value is tf.Tensor =>
  typeof value === 'object' && value !== null && Array.isArray((value as tf.Tensor).shape) && typeof (value as tf.Tensor).dtype === 'string';

const describe = (value: unknown): string =>
  isTensor(value) ? `[${value.shape.join(', ')}]` : value === null ? 'null' : typeof value;

/**
 * Checks that `yTrue` and `yPred` are tensors of the same shape [batch, height, width, classes]; returns the class count.
 * @throws {LossesError} `SHAPE_MISMATCH`.
 */
export function checkInputs(loss: string, yTrue: unknown, yPred: unknown): number {
  if (!isTensor(yTrue) || !isTensor(yPred)) {
    throw new LossesError('SHAPE_MISMATCH', `${loss}: expected yTrue and yPredLogits to be tensors, got ${describe(yTrue)} and ${describe(yPred)}.`);
  }
  if (yPred.rank !== 4 || yTrue.rank !== 4) {
    throw new LossesError(
      'SHAPE_MISMATCH',
      `${loss}: expected rank-4 tensors [batch, height, width, classes], got yTrue ${describe(yTrue)} and yPredLogits ${describe(yPred)}.`,
    );
  }
  if (!tf.util.arraysEqual(yTrue.shape, yPred.shape)) {
    throw new LossesError(
      'SHAPE_MISMATCH',
      `${loss}: expected yTrue and yPredLogits of the same shape, got ${describe(yTrue)} and ${describe(yPred)}.`,
    );
  }
  return yPred.shape[3]!;
}

/** Returns `value` (or `fallback` when undefined) after checking it is a finite number in [min, max]. */
export function checkNumber(loss: string, name: string, value: number | undefined, fallback: number, min = -Infinity, max = Infinity): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    const range = max === Infinity ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new LossesError('INVALID_ARGUMENT', `${loss}: expected ${name} to be a finite number ${range}, got ${String(v)}.`);
  }
  return v;
}

/** Expands a number or per-class list to one positive number per class. */
export function perClassWeights(loss: string, name: string, value: number | readonly number[], classes: number): number[] {
  const list = typeof value === 'number' ? new Array<number>(classes).fill(value) : [...value];
  if (list.length !== classes) {
    throw new LossesError(
      'INVALID_ARGUMENT',
      `${loss}: expected ${name} to have one entry per class (${classes}), got ${list.length}: [${list.join(', ')}].`,
    );
  }
  list.forEach((w, c) => checkNumber(loss, `${name}[${c}]`, w, 0, 0));
  return list;
}

/** yTrue as float32 (masks often arrive as int32 or bool). */
export const asFloat = (t: tf.Tensor): tf.Tensor => (t.dtype === 'float32' ? t : tf.cast(t, 'float32'));

/** The function type `tf.customGrad` takes (its inputs are typed as a variadic union in tfjs). */
export type CustomGradientFunc = Parameters<typeof tf.customGrad>[0];
