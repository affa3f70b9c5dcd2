import { checkInteger, checkNumber, echo, TransformError } from './errors.ts';
import { copyBlock } from './geometry.ts';
import { allocLike, assertSample, type ImageArray, type Sample } from './types.ts';

/** What {@link padToMultiple} added, enough to undo it: the original and the padded size (padding is right and bottom only). */
export interface PadInfo {
  readonly height: number;
  readonly width: number;
  readonly paddedHeight: number;
  readonly paddedWidth: number;
}

/** Options of {@link padToMultiple}. */
export interface PadToMultipleOptions {
  /** Height and width are rounded up to a multiple of this; default 32 (five stride-2 stages of an encoder). */
  readonly multiple?: number;
  /** Image value in the padding; default 0 (pad after normalisation, so 0 is the mean). Must be an integer 0-255 for `Uint8Array`. */
  readonly value?: number;
  /** Mask value in the padding, 0 or 1; default 0. */
  readonly maskValue?: number;
}

/** Result of {@link padToMultiple}. */
export interface PaddedSample {
  readonly sample: Sample;
  readonly padding: PadInfo;
}

/**
 * Pads image and mask at the right and bottom so height and width are multiples of `multiple`, and returns the padding needed
 * to crop back with {@link unpad} or {@link cropBack}. A sample that already fits is returned as is (with zero padding).
 * @throws {TransformError} `INVALID_OPTION` on bad options; `INVALID_SAMPLE` on a malformed sample.
 * @example
 * const { sample: padded, padding } = padToMultiple(sample);   // 250x1600 -> 256x1600
 * const probabilities = cropBack(predict(padded), padding, 4);   // back to 250x1600x4
 */
export function padToMultiple(sample: Sample, { multiple = 32, value = 0, maskValue = 0 }: PadToMultipleOptions = {}): PaddedSample {
  assertSample(sample, 'padToMultiple');
  checkInteger('padToMultiple', 'multiple', multiple, 1);
  checkNumber('padToMultiple', 'value', value);
  checkInteger('padToMultiple', 'maskValue', maskValue, 0, 1);
  if (sample.image instanceof Uint8Array) checkInteger('padToMultiple', 'value (for a Uint8Array image)', value, 0, 255);
  const { height, width, channels, maskChannels } = sample;
  const paddedHeight = Math.ceil(height / multiple) * multiple;
  const paddedWidth = Math.ceil(width / multiple) * multiple;
  const padding: PadInfo = { height, width, paddedHeight, paddedWidth };
  if (paddedHeight === height && paddedWidth === width) return { sample, padding };
  const image = allocLike(sample.image, paddedHeight * paddedWidth * channels);
  if (value !== 0) image.fill(value);
  copyBlock(sample.image, width, 0, 0, image, paddedWidth, 0, 0, height, width, channels);
  const mask = new Uint8Array(paddedHeight * paddedWidth * maskChannels);
  if (maskValue !== 0) mask.fill(maskValue);
  copyBlock(sample.mask, width, 0, 0, mask, paddedWidth, 0, 0, height, width, maskChannels);
  return { sample: { image, mask, height: paddedHeight, width: paddedWidth, channels, maskChannels }, padding };
}

function checkPadInfo(where: string, padding: PadInfo): void {
  const { height, width, paddedHeight, paddedWidth } = padding ?? ({} as PadInfo);
  for (const [name, v] of Object.entries({ height, width, paddedHeight, paddedWidth })) checkInteger(where, `padding.${name}`, v, 1);
  if (paddedHeight < height || paddedWidth < width) {
    throw new TransformError('INVALID_OPTION', `${where}: expected padded size >= original size, got ${echo(padding)}.`);
  }
}

/**
 * Crops a padded sample back to its original size: the inverse of {@link padToMultiple}.
 * @throws {TransformError} `SHAPE_MISMATCH` if the sample is not `paddedHeight x paddedWidth`.
 */
export function unpad(sample: Sample, padding: PadInfo): Sample {
  assertSample(sample, 'unpad');
  checkPadInfo('unpad', padding);
  if (sample.height !== padding.paddedHeight || sample.width !== padding.paddedWidth) {
    throw new TransformError(
      'SHAPE_MISMATCH',
      `unpad: expected a ${padding.paddedHeight}x${padding.paddedWidth} sample, got ${sample.height}x${sample.width}.`,
    );
  }
  const { height, width } = padding;
  if (height === sample.height && width === sample.width) return sample;
  const { channels, maskChannels } = sample;
  const image = allocLike(sample.image, height * width * channels);
  copyBlock(sample.image, sample.width, 0, 0, image, width, 0, 0, height, width, channels);
  const mask = new Uint8Array(height * width * maskChannels);
  copyBlock(sample.mask, sample.width, 0, 0, mask, width, 0, 0, height, width, maskChannels);
  return { image, mask, height, width, channels, maskChannels };
}

/**
 * Crops a padded `[paddedHeight, paddedWidth, channels]` array (for example a model's predicted probabilities) back to
 * `[height, width, channels]`. Returns a new array of the same type.
 * @throws {TransformError} `SHAPE_MISMATCH` if `data.length !== paddedHeight * paddedWidth * channels`.
 */
export function cropBack<T extends ImageArray>(data: T, padding: PadInfo, channels: number): T {
  checkPadInfo('cropBack', padding);
  checkInteger('cropBack', 'channels', channels, 1);
  const { height, width, paddedHeight, paddedWidth } = padding;
  if (!(data instanceof Uint8Array) && !(data instanceof Float32Array)) {
    throw new TransformError('SHAPE_MISMATCH', `cropBack: expected a Uint8Array or Float32Array, got ${echo(data)}.`);
  }
  if (data.length !== paddedHeight * paddedWidth * channels) {
    throw new TransformError(
      'SHAPE_MISMATCH',
      `cropBack: expected ${paddedHeight}x${paddedWidth}x${channels} = ${paddedHeight * paddedWidth * channels} values, got ${data.length}.`,
    );
  }
  const out = allocLike(data, height * width * channels);
  copyBlock(data, paddedWidth, 0, 0, out, width, 0, 0, height, width, channels);
  return out;
}
