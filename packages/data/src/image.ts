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
  let image: DecodedImage;
  try {
    image = await decodePixels(file, channels);
  } catch (cause) {
    const exists = await stat(file).then(
      (s) => s.isFile(),
      () => false,
    );
    if (!exists) throw new DataError('MISSING_FILE', `Image ${file} does not exist; expected a JPEG or PNG file there.`, { file }, { cause });
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new DataError('INVALID_IMAGE', `Image ${file} could not be decoded (${reason}); expected a complete JPEG or PNG. Re-copy the file or skip invalid images.`, { file, found: reason }, { cause });
  }
  if ((height !== undefined && image.height !== height) || (width !== undefined && image.width !== width)) {
    const expected = `${height ?? image.height}x${width ?? image.width}`;
    const found = `${image.height}x${image.width}`;
    throw new DataError('INVALID_IMAGE', `Image ${file}: expected ${expected} (height x width), got ${found}.`, { file, expected, found });
  }
  return image;
}

/**
 * Decodes JPEG or PNG bytes (an upload, a queued job) exactly as {@link readImage} decodes a file: 1 channel is the
 * first one, 3 channels are sRGB without alpha.
 * @param name how the error message names the bytes, e.g. `'The request body'`.
 * @throws {DataError} `INVALID_IMAGE` (`found`: the decoder's reason) when the bytes are not a complete JPEG or PNG.
 * @example const { data, height, width } = await decodeImage(await readFile('strip.jpg'), { channels: 1 });
 */
export async function decodeImage(bytes: Uint8Array, options: { channels?: 1 | 3; name?: string } = {}): Promise<DecodedImage> {
  const { channels = 1, name = 'The image' } = options;
  try {
    return await decodePixels(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), channels);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new DataError('INVALID_IMAGE', `${name} could not be decoded (${reason}); expected a complete JPEG or PNG.`, { found: reason }, { cause });
  }
}

/** The one decoding rule of the package: sharp, the first channel or sRGB, a grey image replicated to RGB. */
async function decodePixels(input: string | Buffer, channels: 1 | 3): Promise<DecodedImage> {
  let pipeline = sharp(input, { failOn: 'warning' });
  pipeline = channels === 1 ? pipeline.extractChannel(0) : pipeline.removeAlpha().toColourspace('srgb');
  const { data: raw, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  let data = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
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
