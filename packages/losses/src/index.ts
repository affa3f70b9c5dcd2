export { bceWithLogitsLoss, type BceOptions } from './bce.ts';
export { bceWeightedDiceLoss, SEVERSTAL_POS_WEIGHT, type BceWeightedDiceOptions } from './combined.ts';
export { isLossesError, LossesError, type LossesErrorCode } from './errors.ts';
export { focalLoss, type FocalOptions } from './focal.ts';
export { lovaszHingeLoss, type LovaszOptions } from './lovasz.ts';
export { diceLoss, jaccardLoss, weightedDiceLoss, type OverlapOptions, type WeightedDiceOptions } from './overlap.ts';
export { createLoss, isLossName, losses, type LossFn, type LossName, type LossOptions, type LossSpec } from './registry.ts';
