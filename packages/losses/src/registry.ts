import type * as tf from '@tensorflow/tfjs-core';
import { bceWithLogitsLoss, type BceOptions } from './bce.ts';
import { bceWeightedDiceLoss, type BceWeightedDiceOptions } from './combined.ts';
import { LossesError } from './errors.ts';
import { focalLoss, type FocalOptions } from './focal.ts';
import { lovaszHingeLoss, type LovaszOptions } from './lovasz.ts';
import { diceLoss, jaccardLoss, weightedDiceLoss, type OverlapOptions, type WeightedDiceOptions } from './overlap.ts';

/** A loss with its options bound: `(yTrue, yPredLogits) => scalar`, the shape tfjs-layers' `LossOrMetricFn` takes. */
export type LossFn = (yTrue: tf.Tensor, yPredLogits: tf.Tensor) => tf.Scalar;

/** One entry of {@link losses}: what it is and how to make it. */
export interface LossSpec<Options = never> {
  /** One line for `--help` and logs. */
  readonly description: string;
  /** Binds options (checked on every call) into a {@link LossFn}. */
  readonly create: (options?: Options) => LossFn;
}

/** Every loss by name, for picking one from a config file or a command line. */
export const losses = {
  bce: {
    description: 'binary cross-entropy with logits, optional per-class positive weights',
    create: (options?: BceOptions): LossFn => (t, x) => bceWithLogitsLoss(t, x, options),
  },
  dice: {
    description: 'soft Dice, per class',
    create: (options?: OverlapOptions): LossFn => (t, x) => diceLoss(t, x, options),
  },
  'weighted-dice': {
    description: 'weighted soft Dice on [-1, 1] (0.2 negative / 0.8 positive pixels)',
    create: (options?: WeightedDiceOptions): LossFn => (t, x) => weightedDiceLoss(t, x, options),
  },
  'bce-weighted-dice': {
    description: 'Severstal recipe: 0.7 BCE(pos_weight [2, 2, 1, 1.5]) + 0.3 weighted soft Dice',
    create: (options?: BceWeightedDiceOptions): LossFn => (t, x) => bceWeightedDiceLoss(t, x, options),
  },
  focal: {
    description: 'sigmoid focal loss (alpha 0.25, gamma 2)',
    create: (options?: FocalOptions): LossFn => (t, x) => focalLoss(t, x, options),
  },
  jaccard: {
    description: 'soft Jaccard (IoU), per class',
    create: (options?: OverlapOptions): LossFn => (t, x) => jaccardLoss(t, x, options),
  },
  'lovasz-hinge': {
    description: 'Lovász hinge, per image and class',
    create: (options?: LovaszOptions): LossFn => (t, x) => lovaszHingeLoss(t, x, options),
  },
} satisfies Record<string, LossSpec<never>>;

/** A key of {@link losses}. */
export type LossName = keyof typeof losses;

/** The options type of loss `N`. */
export type LossOptions<N extends LossName> = NonNullable<Parameters<(typeof losses)[N]['create']>[0]>;

/** True if `name` is a key of {@link losses}. */
export const isLossName = (name: unknown): name is LossName => typeof name === 'string' && Object.hasOwn(losses, name);

/**
 * Returns the loss called `name` with `options` bound.
 * @throws {LossesError} `UNKNOWN_LOSS` listing the valid names.
 * @example const loss = createLoss('bce-weighted-dice', { posWeight: [2, 2, 1, 1.5] }); loss(masks, logits);
 */
export function createLoss<N extends LossName>(name: N, options?: LossOptions<N>): LossFn {
  if (!isLossName(name)) {
    throw new LossesError(
      'UNKNOWN_LOSS',
      `Unknown loss '${String(name).slice(0, 80)}'; expected one of ${Object.keys(losses).join(', ')}.`,
    );
  }
  const spec = losses[name] as LossSpec<LossOptions<N>>;
  return spec.create(options);
}
