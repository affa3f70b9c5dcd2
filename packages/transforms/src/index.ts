export { compose, identity, oneOf, withProbability, type OneOfOptions } from './compose.ts';
export { blur, type BlurKind, type BlurOptions } from './blur.ts';
export { isTransformError, TransformError, type TransformErrorCode } from './errors.ts';
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
} from './geometry.ts';
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
} from './intensity.ts';
export { cropBack, padToMultiple, unpad, type PadInfo, type PaddedSample, type PadToMultipleOptions } from './pad.ts';
export {
  referenceTrainTransform,
  referenceValidTransform,
  type ReferenceTrainOptions,
  type ReferenceValidOptions,
} from './presets.ts';
export { resize, type ResizeMethod, type ResizeOptions } from './resize.ts';
export { createRng, deriveSeed, type Rng, type RngState } from './rng.ts';
export { assertSample, createSample, type CreateSampleOptions, type ImageArray, type Sample, type Transform } from './types.ts';
