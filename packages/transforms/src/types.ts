import type { Rng } from './rng.ts';
import { echo, TransformError } from './errors.ts';

/** Pixel data of an image: `Uint8Array` (0-255) as decoded, or `Float32Array`. */
export type ImageArray = Float32Array | Uint8Array;

/**
 * One training example: an image and its defect masks at the same size.
 *
 * - `image`: `[height, width, channels]`, row-major and channel-last; pixel (r, c) channel k is at `(r * width + c) * channels + k`.
 * - `mask`: `[height, width, maskChannels]` in the same layout, values 0 or 1, one channel per class (channel = ClassId - 1;
 *   4 for the Severstal competition). `maskChannels` may be 0 for an image without masks (then `mask` is empty).
 *
 * Transforms never write to the arrays of their input; an output may share an array with its input when that part is unchanged
 * (for example the mask after a blur), so copy before mutating one in place.
 */
export interface Sample {
  readonly image: ImageArray;
  readonly mask: Uint8Array;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly maskChannels: number;
}

/**
 * A pure augmentation: returns a new sample and draws all of its randomness from `rng`, so the same seed gives the same output.
 */
export type Transform = (sample: Sample, rng: Rng) => Sample;

/**
 * Throws unless `sample` is well formed: positive integer sizes, a `Uint8Array` or `Float32Array` image of
 * `height * width * channels` values and a `Uint8Array` mask of `height * width * maskChannels` values. Mask values are not scanned.
 * @throws {TransformError} `INVALID_SAMPLE` naming the field, expected vs found.
 */
export function assertSample(sample: Sample, where = 'sample'): void {
  if (typeof sample !== 'object' || sample === null) {
    throw new TransformError('INVALID_SAMPLE', `${where}: expected an object { image, mask, height, width, channels, maskChannels }, got ${echo(sample)}.`);
  }
  const { image, mask, height, width, channels, maskChannels } = sample;
  const dims = { height, width, channels } as const;
  for (const [name, value] of Object.entries(dims)) {
    if (!Number.isInteger(value) || (value as number) < 1) {
      throw new TransformError('INVALID_SAMPLE', `${where}: expected ${name} to be a positive integer, got ${echo(value)}.`);
    }
  }
  if (!Number.isInteger(maskChannels) || maskChannels < 0) {
    throw new TransformError('INVALID_SAMPLE', `${where}: expected maskChannels to be an integer >= 0, got ${echo(maskChannels)}.`);
  }
  if (!(image instanceof Uint8Array) && !(image instanceof Float32Array)) {
    throw new TransformError('INVALID_SAMPLE', `${where}: expected image to be a Uint8Array or Float32Array, got ${echo(image)}.`);
  }
  if (image.length !== height * width * channels) {
    throw new TransformError(
      'INVALID_SAMPLE',
      `${where}: expected image of ${height}x${width}x${channels} = ${height * width * channels} values, got ${image.length}.`,
    );
  }
  if (!(mask instanceof Uint8Array)) {
    throw new TransformError('INVALID_SAMPLE', `${where}: expected mask to be a Uint8Array, got ${echo(mask)}.`);
  }
  if (mask.length !== height * width * maskChannels) {
    throw new TransformError(
      'INVALID_SAMPLE',
      `${where}: expected mask of ${height}x${width}x${maskChannels} = ${height * width * maskChannels} values, got ${mask.length}.`,
    );
  }
}

/** Options of {@link createSample}. */
export interface CreateSampleOptions {
  readonly image: ImageArray;
  readonly height: number;
  readonly width: number;
  /** Default: `image.length / (height * width)`. */
  readonly channels?: number;
  /** `[height, width, maskChannels]`; default an empty mask with 0 channels. */
  readonly mask?: Uint8Array;
  /** Default: `mask.length / (height * width)`. */
  readonly maskChannels?: number;
}

/**
 * Returns a checked {@link Sample}, inferring `channels` and `maskChannels` from the array lengths when they are left out.
 * @throws {TransformError} `INVALID_SAMPLE` if the sizes do not match the arrays.
 * @example createSample({ image: new Uint8Array(256 * 1600), height: 256, width: 1600, mask: new Uint8Array(256 * 1600 * 4) });
 */
export function createSample(options: CreateSampleOptions): Sample {
  const { image, height, width } = options;
  const mask = options.mask ?? new Uint8Array(0);
  const pixels = height * width;
  const sample: Sample = {
    image,
    mask,
    height,
    width,
    channels: options.channels ?? (pixels > 0 ? image.length / pixels : Number.NaN),
    maskChannels: options.maskChannels ?? (pixels > 0 ? mask.length / pixels : Number.NaN),
  };
  assertSample(sample, 'createSample');
  return sample;
}

/** A zeroed array of the same type as `like`. */
export function allocLike<T extends ImageArray>(like: T, length: number): T {
  return (like instanceof Uint8Array ? new Uint8Array(length) : new Float32Array(length)) as T;
}
