import { checkNumber, echo, TransformError } from './errors.ts';
import type { Sample, Transform } from './types.ts';

/** The transform that returns its input unchanged (and draws nothing). */
export const identity: Transform = (sample: Sample): Sample => sample;

function checkTransforms(where: string, transforms: readonly Transform[]): void {
  if (!Array.isArray(transforms)) {
    throw new TransformError('INVALID_OPTION', `${where}: expected an array of transforms, got ${echo(transforms)}.`);
  }
  transforms.forEach((t, i) => {
    if (typeof t !== 'function') {
      throw new TransformError('INVALID_OPTION', `${where}: expected transforms[${i}] to be a function (sample, rng) => sample, got ${echo(t)}.`);
    }
  });
}

/**
 * Returns a transform that applies `transforms` in order, threading the sample and the same `rng` through them.
 * @throws {TransformError} `INVALID_OPTION` if an element is not a function.
 * @example compose([randomCrop({ height: 224, width: 1568 }), withProbability(0.5, flipHorizontal)]);
 */
export function compose(transforms: readonly Transform[]): Transform {
  checkTransforms('compose', transforms);
  const list = [...transforms];
  return (sample, rng) => {
    let out = sample;
    for (const t of list) out = t(out, rng);
    return out;
  };
}

/** Options of {@link oneOf}. */
export interface OneOfOptions {
  /** Relative weights, one per transform, non-negative with a positive sum; default equal. */
  readonly weights?: readonly number[];
}

/**
 * Returns a transform that applies exactly one of `transforms`, chosen with one `rng.next()` draw in proportion to `weights`
 * (albumentations' `OneOf` with the chosen transform always applied).
 * @throws {TransformError} `INVALID_OPTION` if the list is empty or the weights are invalid.
 */
export function oneOf(transforms: readonly Transform[], { weights }: OneOfOptions = {}): Transform {
  checkTransforms('oneOf', transforms);
  if (transforms.length === 0) throw new TransformError('INVALID_OPTION', 'oneOf: expected at least one transform, got an empty array.');
  const w = weights ?? transforms.map(() => 1);
  if (!Array.isArray(w) || w.length !== transforms.length) {
    throw new TransformError('INVALID_OPTION', `oneOf: expected ${transforms.length} weights, got ${echo(weights)}.`);
  }
  w.forEach((x, i) => checkNumber('oneOf', `weights[${i}]`, x, 0));
  const total = w.reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw new TransformError('INVALID_OPTION', `oneOf: expected weights with a positive sum, got ${echo(weights)}.`);
  const cumulative: number[] = [];
  let acc = 0;
  for (const x of w) cumulative.push((acc += x) / total);
  const list = [...transforms];
  return (sample, rng) => {
    const u = rng.next();
    let i = 0;
    while (i < list.length - 1 && (u >= (cumulative[i] as number) || w[i] === 0)) i++;
    return (list[i] as Transform)(sample, rng);
  };
}

/**
 * Returns a transform that applies `transform` with probability `p` (one `rng.next()` draw, then the transform's own draws
 * only when it fires).
 * @throws {TransformError} `INVALID_OPTION` unless `p` is in [0, 1].
 */
export function withProbability(p: number, transform: Transform): Transform {
  checkNumber('withProbability', 'p', p, 0, 1);
  checkTransforms('withProbability', [transform]);
  return (sample, rng) => (rng.next() < p ? transform(sample, rng) : sample);
}
