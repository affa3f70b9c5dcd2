export { compose, identity, oneOf, withProbability, type OneOfOptions } from './compose';
export { blur, type BlurKind, type BlurOptions } from './blur';
export { isTransformError, TransformError, type TransformErrorCode } from './errors';
export {
  centreCrop,
  crop,
  flipHorizontal,
  flipVertical,
  gridShuffle,
  randomCrop,
  type CentreCropOptions,
  type GridShuffleOptions,
  type RandomCropOptions,
  type Rect,
} from './geometry';
export {
  brightnessContrast,
  computeMeanStd,
  gaussianNoise,
  IMAGENET_MEAN,
  IMAGENET_STD,
  normalize,
  type BrightnessContrastOptions,
  type GaussianNoiseOptions,
  type MeanStd,
  type NormalizeOptions,
} from './intensity';
export { cropBack, padToMultiple, unpad, type PadInfo, type PaddedSample, type PadToMultipleOptions } from './pad';
export {
  referenceTrainTransform,
  referenceValidTransform,
  type ReferenceTrainOptions,
  type ReferenceValidOptions,
} from './presets';
export { resize, type ResizeMethod, type ResizeOptions } from './resize';
export { createRng, deriveSeed, type Rng, type RngState } from './rng';
export { assertSample, createSample, type CreateSampleOptions, type ImageArray, type Sample, type Transform } from './types';
