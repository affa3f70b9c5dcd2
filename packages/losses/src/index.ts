export { bceWithLogitsLoss, type BceOptions } from './bce';
export { bceWeightedDiceLoss, SEVERSTAL_POS_WEIGHT, type BceWeightedDiceOptions } from './combined';
export { isLossesError, LossesError, type LossesErrorCode } from './errors';
export { focalLoss, type FocalOptions } from './focal';
export { lovaszHingeLoss, type LovaszOptions } from './lovasz';
export { diceLoss, jaccardLoss, weightedDiceLoss, type OverlapOptions, type WeightedDiceOptions } from './overlap';
export { createLoss, isLossName, losses, type LossFn, type LossName, type LossOptions, type LossSpec } from './registry';
