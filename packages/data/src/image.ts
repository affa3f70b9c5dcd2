import { stat } from 'node:fs/promises';
import sharp from 'sharp';
import { DataError } from './errors.ts';

/** A decoded image: row-major HWC bytes, pixel (r, c) channel k at `(r * width + c) * channels + k`. */
export interface DecodedImage {
  readonly data: Uint8Array;
  readonly height: number;
  readonly width: number;
  readonly channels: 1 | 3;
}

/** Options of {@link readImage}. */
export interface ReadImageOptions {
  /** 1 (default): the first channel, which the steel data sets store as grey in all three; 3: RGB. */
  readonly channels?: 1 | 3;
  /** Expected size; a different stored size is an error. Default: any size. */
  readonly height?: number;
  readonly width?: number;
}

/**
 * Decodes a JPEG or PNG with sharp into 1 or 3 channels at its stored size.
 * @throws {DataError} `MISSING_FILE` if the file does not exist, `INVALID_IMAGE` if it is truncated, unreadable or of
 * another size than `height` x `width`.
 * @example const { data, height, width } = await readImage('train_images/0002cc93b.jpg', { height: 256, width: 1600 });
 */
export async function readImage(file: string, options: ReadImageOptions = {}): Promise<DecodedImage> {
  const { channels = 1, height, width } = options;
  if (channels !== 1 && channels !== 3) {
    throw new DataError('INVALID_ARGUMENT', `readImage: expected channels 1 or 3, got ${String(channels)}.`, { file });
  }
  let result: { data: Buffer; info: { height: number; width: number; channels: number } };
  try {
    let pipeline = sharp(file, { failOn: 'warning' });
    pipeline = channels === 1 ? pipeline.extractChannel(0) : pipeline.removeAlpha().toColourspace('srgb');
    result = await pipeline.raw().toBuffer({ resolveWithObject: true });
  } catch (cause) {
    const exists = await stat(file).then(
      (s) => s.isFile(),
      () => false,
    );
    if (!exists) throw new DataError('MISSING_FILE', `Image ${file} does not exist; expected a JPEG or PNG file there.`, { file }, { cause });
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new DataError('INVALID_IMAGE', `Image ${file} could not be decoded (${reason}); expected a complete JPEG or PNG. Re-copy the file or skip invalid images.`, { file, found: reason }, { cause });
  }
  const { info } = result;
  if ((height !== undefined && info.height !== height) || (width !== undefined && info.width !== width)) {
    const expected = `${height ?? info.height}x${width ?? info.width}`;
    const found = `${info.height}x${info.width}`;
    throw new DataError('INVALID_IMAGE', `Image ${file}: expected ${expected} (height x width), got ${found}.`, { file, expected, found });
  }
  let data = new Uint8Array(result.data.buffer, result.data.byteOffset, result.data.byteLength);
  if (channels === 3 && info.channels !== 3) {
    // A grey image that libvips kept single-channel: replicate it.
    const rgb = new Uint8Array(info.height * info.width * 3);
    const step = info.channels;
    for (let i = 0, j = 0; j < rgb.length; i += step, j += 3) rgb[j] = rgb[j + 1] = rgb[j + 2] = data[i] as number;
    data = rgb;
  }
  return { data, height: info.height, width: info.width, channels };
}

/**
 * Reads a label-map PNG (pixel value = class id, 0 = background) as one row-major byte per pixel.
 * @throws {DataError} `MISSING_FILE` or `INVALID_IMAGE` as {@link readImage}.
 */
export async function readLabelMap(file: string, options: Omit<ReadImageOptions, 'channels'> = {}): Promise<DecodedImage> {
  return readImage(file, { ...options, channels: 1 });
}

/** Size of an image from its header only (no decoding). Returns undefined if the file is missing or unreadable. */
export async function readImageSize(file: string): Promise<{ height: number; width: number } | undefined> {
  try {
    const meta = await sharp(file).metadata();
    if (meta.height === undefined || meta.width === undefined) return undefined;
    return { height: meta.height, width: meta.width };
  } catch {
    return undefined;
  }
}
