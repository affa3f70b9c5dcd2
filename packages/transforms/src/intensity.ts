import { checkNumber, checkRange, echo, TransformError } from './errors.ts';
import type { Rng } from './rng.ts';
import { assertSample, type ImageArray, type Sample, type Transform } from './types.ts';

/** ImageNet channel means (RGB, for pixel values scaled to [0, 1]), as used by torchvision and albumentations `Normalize`. */
export const IMAGENET_MEAN: readonly number[] = Object.freeze([0.485, 0.456, 0.406]);
/** ImageNet channel standard deviations (RGB, for pixel values scaled to [0, 1]). */
export const IMAGENET_STD: readonly number[] = Object.freeze([0.229, 0.224, 0.225]);

/** Options of {@link brightnessContrast}. */
export interface BrightnessContrastOptions {
  /** Brightness shift range as a fraction of `maxValue`: `x` means `[-x, x]`; default 0.2. */
  readonly brightness?: number | readonly [number, number];
  /** Contrast factor range around 1: `x` means `1 + [-x, x]`; default 0.2. */
  readonly contrast?: number | readonly [number, number];
  /** The image's white level: default 255 for `Uint8Array`, 1 for `Float32Array` (albumentations' convention). */
  readonly maxValue?: number;
}

/**
 * Returns a transform with albumentations' `RandomBrightnessContrast` semantics (`brightness_by_max`):
 * `alpha = 1 + U(contrast)`, `beta = U(brightness)`, pixel `x -> clip(alpha * x + beta * maxValue, 0, maxValue)`.
 * A `Uint8Array` image goes through a 256-entry lookup table truncated to integers, as albumentations does; a `Float32Array`
 * stays float. The mask is unchanged. Draws: two `uniform`s (alpha, then beta).
 * @throws {TransformError} `INVALID_OPTION` on bad ranges.
 */
export function brightnessContrast({ brightness = 0.2, contrast = 0.2, maxValue }: BrightnessContrastOptions = {}): Transform {
  const [bLow, bHigh] = checkRange('brightnessContrast', 'brightness', brightness, true);
  const [cLow, cHigh] = checkRange('brightnessContrast', 'contrast', contrast, true);
  if (maxValue !== undefined) checkNumber('brightnessContrast', 'maxValue', maxValue, Number.MIN_VALUE);
  return (sample: Sample, rng: Rng): Sample => {
    assertSample(sample, 'brightnessContrast');
    const alpha = 1 + rng.uniform(cLow, cHigh);
    const beta = rng.uniform(bLow, bHigh);
    const src = sample.image;
    if (src instanceof Uint8Array) {
      const max = maxValue ?? 255;
      const lut = new Uint8Array(256);
      for (let v = 0; v < 256; v++) {
        const y = v * alpha + beta * max;
        lut[v] = y <= 0 ? 0 : y >= 255 ? 255 : Math.floor(y);
      }
      const out = new Uint8Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = lut[src[i] as number] as number;
      return { ...sample, image: out };
    }
    const max = maxValue ?? 1;
    const shift = beta * max;
    const out = new Float32Array(src.length);
    for (let i = 0; i < src.length; i++) {
      const y = (src[i] as number) * alpha + shift;
      out[i] = y < 0 ? 0 : y > max ? max : y;
    }
    return { ...sample, image: out };
  };
}

/** Options of {@link gaussianNoise}. */
export interface GaussianNoiseOptions {
  /** Noise standard deviation in pixel units, or a `[low, high]` range drawn uniformly per sample. */
  readonly std: number | readonly [number, number];
  /** Noise mean in pixel units; default 0. */
  readonly mean?: number;
  /** Independent noise per channel (default); `false` adds the same noise to every channel of a pixel (a grey image stays grey). */
  readonly perChannel?: boolean;
}

/**
 * Returns a transform that adds Gaussian noise to the image (albumentations `GaussNoise`, with the deviation given directly).
 * A `Uint8Array` image is rounded and clipped to 0-255; a `Float32Array` is not clipped. The mask is unchanged.
 * Draws: one `uniform` (the deviation), then pairs of `next()` (Marsaglia's polar method, about 1.27 pairs per two values).
 * @throws {TransformError} `INVALID_OPTION` on a negative or missing `std`.
 */
export function gaussianNoise({ std, mean = 0, perChannel = true }: GaussianNoiseOptions): Transform {
  const [low, high] = checkRange('gaussianNoise', 'std', std, false);
  if (low < 0) throw new TransformError('INVALID_OPTION', `gaussianNoise: expected std >= 0, got ${echo(std)}.`);
  checkNumber('gaussianNoise', 'mean', mean);
  return (sample: Sample, rng: Rng): Sample => {
    assertSample(sample, 'gaussianNoise');
    const sigma = rng.uniform(low, high);
    const src = sample.image;
    const channels = perChannel ? 1 : sample.channels;
    const count = src.length / channels;
    const noise = new Float32Array(count + 1);
    // Marsaglia's polar method: two normal values per accepted point, no trigonometry.
    for (let i = 0; i < count; i += 2) {
      let u: number;
      let v: number;
      let q: number;
      do {
        u = 2 * rng.next() - 1;
        v = 2 * rng.next() - 1;
        q = u * u + v * v;
      } while (q >= 1 || q === 0);
      const f = sigma * Math.sqrt((-2 * Math.log(q)) / q);
      noise[i] = mean + u * f;
      noise[i + 1] = mean + v * f;
    }
    let out: ImageArray;
    if (src instanceof Uint8Array) {
      // Uint8ClampedArray stores with round-half-to-even and saturation, like OpenCV's saturate_cast.
      const clamped = new Uint8ClampedArray(src.length);
      if (channels === 1) for (let i = 0; i < src.length; i++) clamped[i] = (src[i] as number) + (noise[i] as number);
      else for (let i = 0, p = 0; i < src.length; p++) for (let k = 0; k < channels; k++, i++) clamped[i] = (src[i] as number) + (noise[p] as number);
      out = new Uint8Array(clamped.buffer);
    } else {
      const floats = new Float32Array(src.length);
      if (channels === 1) for (let i = 0; i < src.length; i++) floats[i] = (src[i] as number) + (noise[i] as number);
      else for (let i = 0, p = 0; i < src.length; p++) for (let k = 0; k < channels; k++, i++) floats[i] = (src[i] as number) + (noise[p] as number);
      out = floats;
    }
    return { ...sample, image: out };
  };
}

/** Options of {@link normalize}. */
export interface NormalizeOptions {
  /** Per-channel means in units of `maxPixelValue` (length `channels`, or 1 for all); default {@link IMAGENET_MEAN}. */
  readonly mean?: readonly number[];
  /** Per-channel standard deviations, same units and length rules; default {@link IMAGENET_STD}. */
  readonly std?: readonly number[];
  /** The pixel scale: default 255 (albumentations `max_pixel_value`). */
  readonly maxPixelValue?: number;
}

/**
 * Returns a transform that standardises the image to a `Float32Array`: `(x / maxPixelValue - mean[k]) / std[k]` for channel k
 * (albumentations `Normalize`). The mask is unchanged; draws nothing. For per-dataset statistics, see {@link computeMeanStd}.
 * @throws {TransformError} `INVALID_OPTION` on bad values; when applied, `SHAPE_MISMATCH` if `mean`/`std` have neither 1 nor
 * `channels` entries (ImageNet statistics need 3 channels; for grey images pass one-entry arrays).
 */
export function normalize({ mean = IMAGENET_MEAN, std = IMAGENET_STD, maxPixelValue = 255 }: NormalizeOptions = {}): Transform {
  checkNumber('normalize', 'maxPixelValue', maxPixelValue, Number.MIN_VALUE);
  if (!Array.isArray(mean) || mean.length === 0) throw new TransformError('INVALID_OPTION', `normalize: expected mean to be a non-empty array, got ${echo(mean)}.`);
  if (!Array.isArray(std) || std.length === 0) throw new TransformError('INVALID_OPTION', `normalize: expected std to be a non-empty array, got ${echo(std)}.`);
  mean.forEach((m, i) => checkNumber('normalize', `mean[${i}]`, m));
  std.forEach((s, i) => checkNumber('normalize', `std[${i}]`, s, Number.MIN_VALUE));
  const means = [...mean];
  const stds = [...std];
  return (sample: Sample): Sample => {
    assertSample(sample, 'normalize');
    const { channels } = sample;
    for (const [name, list] of [['mean', means], ['std', stds]] as const) {
      if (list.length !== 1 && list.length !== channels) {
        throw new TransformError(
          'SHAPE_MISMATCH',
          `normalize: expected ${name} with ${channels === 1 ? '1 entry' : `1 or ${channels} entries`} for a ${channels}-channel image, got ${list.length}. ` +
            'For grey images pass one value each, e.g. { mean: [0.5], std: [0.25] }.',
        );
      }
    }
    // x * scale[k] + offset[k] with scale = 1 / (maxPixelValue * std), offset = -mean / std.
    const scale = new Float64Array(channels);
    const offset = new Float64Array(channels);
    for (let k = 0; k < channels; k++) {
      const m = (means.length === 1 ? means[0] : means[k]) as number;
      const s = (stds.length === 1 ? stds[0] : stds[k]) as number;
      scale[k] = 1 / (maxPixelValue * s);
      offset[k] = -m / s;
    }
    const src = sample.image;
    const out = new Float32Array(src.length);
    if (channels === 1) {
      const a = scale[0] as number;
      const b = offset[0] as number;
      for (let i = 0; i < src.length; i++) out[i] = (src[i] as number) * a + b;
    } else {
      for (let i = 0; i < src.length; i += channels) {
        for (let k = 0; k < channels; k++) out[i + k] = (src[i + k] as number) * (scale[k] as number) + (offset[k] as number);
      }
    }
    return { ...sample, image: out };
  };
}

/** Per-channel statistics returned by {@link computeMeanStd}, in the units {@link normalize} expects. */
export interface MeanStd {
  readonly mean: number[];
  readonly std: number[];
}

/**
 * Returns per-channel mean and (population) standard deviation over all pixels of `images`, divided by `maxPixelValue`
 * (default 255), ready for `normalize({ mean, std })`. Accumulates in float64.
 * @throws {TransformError} `INVALID_OPTION` if `images` is empty; `SHAPE_MISMATCH` if channel counts differ.
 */
export function computeMeanStd(images: Iterable<Sample>, { maxPixelValue = 255 }: { readonly maxPixelValue?: number } = {}): MeanStd {
  checkNumber('computeMeanStd', 'maxPixelValue', maxPixelValue, Number.MIN_VALUE);
  let channels = 0;
  let sum: Float64Array | undefined;
  let sumSq: Float64Array | undefined;
  let pixels = 0;
  let index = 0;
  for (const sample of images) {
    assertSample(sample, `computeMeanStd: images[${index}]`);
    if (sum === undefined || sumSq === undefined) {
      channels = sample.channels;
      sum = new Float64Array(channels);
      sumSq = new Float64Array(channels);
    } else if (sample.channels !== channels) {
      throw new TransformError(
        'SHAPE_MISMATCH',
        `computeMeanStd: expected ${channels} channels like images[0], got ${sample.channels} in images[${index}].`,
      );
    }
    // Per-image float64 partial sums keep the running totals exact enough for thousands of full-size images.
    const src: ImageArray = sample.image;
    for (let k = 0; k < channels; k++) {
      let s = 0;
      let q = 0;
      for (let i = k; i < src.length; i += channels) {
        const v = src[i] as number;
        s += v;
        q += v * v;
      }
      sum[k] = (sum[k] as number) + s;
      sumSq[k] = (sumSq[k] as number) + q;
    }
    pixels += sample.height * sample.width;
    index++;
  }
  if (sum === undefined || sumSq === undefined) {
    throw new TransformError('INVALID_OPTION', 'computeMeanStd: expected at least one image, got none.');
  }
  const mean: number[] = [];
  const std: number[] = [];
  for (let k = 0; k < channels; k++) {
    const m = (sum[k] as number) / pixels;
    const variance = Math.max((sumSq[k] as number) / pixels - m * m, 0);
    mean.push(m / maxPixelValue);
    std.push(Math.sqrt(variance) / maxPixelValue);
  }
  return { mean, std };
}
