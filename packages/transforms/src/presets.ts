import { compose, identity, oneOf, withProbability } from './compose.ts';
import { centreCrop, flipHorizontal, flipVertical, gridShuffle, randomCrop } from './geometry.ts';
import { brightnessContrast } from './intensity.ts';
import type { Transform } from './types.ts';

/** Options of {@link referenceTrainTransform}. */
export interface ReferenceTrainOptions {
  /** Default 224. */
  readonly cropHeight?: number;
  /** Default 1568. */
  readonly cropWidth?: number;
  /** Probability of centring the crop on a defect (see {@link randomCrop}); default 0. */
  readonly maskCentreProbability?: number;
  /** Probability of one flip; default 0.6. */
  readonly flipProbability?: number;
  /** Probability of brightness/contrast or grid shuffle; default 0.6. */
  readonly intensityProbability?: number;
  /** Brightness and contrast limit (±); default 0.2. */
  readonly brightnessContrastLimit?: number;
  /** White level for brightness on `Float32Array` images; default 255 for `Uint8Array`, 1 for `Float32Array`. */
  readonly maxValue?: number;
}

/**
 * Returns the reference training augmentation: random crop `cropHeight x cropWidth` (224x1568 by default) -> with probability 0.6
 * one flip (vertical or horizontal, equally likely) -> with probability 0.6 either brightness/contrast ±0.2 or a 1x2 grid
 * shuffle (equally likely). Apply it to `Uint8Array` images before {@link normalize}.
 * @throws {TransformError} `INVALID_OPTION` on bad options; when applied, `OUT_OF_BOUNDS` if the crop is larger than the image.
 * @example
 * const train = referenceTrainTransform();
 * const out = train(sample, createRng(deriveSeed(seed, epoch, index)));
 */
export function referenceTrainTransform({
  cropHeight = 224,
  cropWidth = 1568,
  maskCentreProbability = 0,
  flipProbability = 0.6,
  intensityProbability = 0.6,
  brightnessContrastLimit = 0.2,
  maxValue,
}: ReferenceTrainOptions = {}): Transform {
  return compose([
    randomCrop({ height: cropHeight, width: cropWidth, maskCentreProbability }),
    withProbability(flipProbability, oneOf([flipVertical, flipHorizontal])),
    withProbability(
      intensityProbability,
      oneOf([
        brightnessContrast({
          brightness: brightnessContrastLimit,
          contrast: brightnessContrastLimit,
          ...(maxValue === undefined ? {} : { maxValue }),
        }),
        gridShuffle({ rows: 1, cols: 2 }),
      ]),
    ),
  ]);
}

/** Options of {@link referenceValidTransform}. */
export interface ReferenceValidOptions {
  readonly cropHeight?: number;
  readonly cropWidth?: number;
}

/**
 * Returns the reference validation transform: the identity (full-size images) by default, or a centre crop when sizes are
 * given; a size left out keeps the sample's own extent on that axis. Draws nothing.
 * @throws {TransformError} `INVALID_OPTION` on bad sizes.
 */
export function referenceValidTransform({ cropHeight, cropWidth }: ReferenceValidOptions = {}): Transform {
  if (cropHeight === undefined && cropWidth === undefined) return identity;
  if (cropHeight !== undefined && cropWidth !== undefined) return centreCrop({ height: cropHeight, width: cropWidth });
  // One size only: crop that axis and keep the other at the sample's own extent.
  return (sample, rng) =>
    centreCrop({ height: cropHeight ?? sample.height, width: cropWidth ?? sample.width })(sample, rng);
}
