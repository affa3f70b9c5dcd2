import { checkInteger, checkNumber, TransformError } from './errors.ts';
import type { Rng } from './rng.ts';
import { allocLike, assertSample, type ImageArray, type Sample, type Transform } from './types.ts';

/** A rectangle in pixels: rows `[top, top + height)`, columns `[left, left + width)`. */
export interface Rect {
  readonly top: number;
  readonly left: number;
  readonly height: number;
  readonly width: number;
}

/** Copies an `h x w` block of `channels`-channel pixels from `src` (row length `srcWidth`) to `dst` (row length `dstWidth`). */
export function copyBlock<T extends ImageArray>(
  src: T,
  srcWidth: number,
  srcTop: number,
  srcLeft: number,
  dst: T,
  dstWidth: number,
  dstTop: number,
  dstLeft: number,
  h: number,
  w: number,
  channels: number,
): void {
  if (channels === 0 || h === 0 || w === 0) return;
  const rowLength = w * channels;
  if (w === srcWidth && w === dstWidth) {
    const s = srcTop * srcWidth * channels;
    dst.set(src.subarray(s, s + h * rowLength) as never, dstTop * dstWidth * channels);
    return;
  }
  for (let r = 0; r < h; r++) {
    const s = ((srcTop + r) * srcWidth + srcLeft) * channels;
    dst.set(src.subarray(s, s + rowLength) as never, ((dstTop + r) * dstWidth + dstLeft) * channels);
  }
}

function cropUnchecked(sample: Sample, top: number, left: number, height: number, width: number): Sample {
  const { image, mask, width: W, channels, maskChannels } = sample;
  const outImage = allocLike(image, height * width * channels);
  copyBlock(image, W, top, left, outImage, width, 0, 0, height, width, channels);
  const outMask = new Uint8Array(height * width * maskChannels);
  copyBlock(mask, W, top, left, outMask, width, 0, 0, height, width, maskChannels);
  return { image: outImage, mask: outMask, height, width, channels, maskChannels };
}

function checkCropSize(where: string, sample: Sample, height: number, width: number): void {
  if (height > sample.height || width > sample.width) {
    throw new TransformError(
      'OUT_OF_BOUNDS',
      `${where}: expected a crop no larger than the image (${sample.height}x${sample.width}), got ${height}x${width}. ` +
        'Use a smaller crop or pad the sample first.',
    );
  }
}

/**
 * Returns the `rect` part of `sample` (image and mask), as new arrays.
 * @throws {TransformError} `OUT_OF_BOUNDS` if `rect` is not inside the image; `INVALID_SAMPLE` on a malformed sample.
 */
export function crop(sample: Sample, rect: Rect): Sample {
  assertSample(sample, 'crop');
  const top = checkInteger('crop', 'rect.top', rect.top);
  const left = checkInteger('crop', 'rect.left', rect.left);
  const height = checkInteger('crop', 'rect.height', rect.height, 1);
  const width = checkInteger('crop', 'rect.width', rect.width, 1);
  if (top + height > sample.height || left + width > sample.width) {
    throw new TransformError(
      'OUT_OF_BOUNDS',
      `crop: expected rows ${top}..${top + height - 1} and columns ${left}..${left + width - 1} inside the ${sample.height}x${sample.width} image.`,
    );
  }
  return cropUnchecked(sample, top, left, height, width);
}

/** Number of non-zero bytes in `mask`; reads 4 bytes at a time where the buffer allows it (most masks are mostly zero). */
function countNonZero(mask: Uint8Array): number {
  let count = 0;
  let i = 0;
  if (mask.byteOffset % 4 === 0) {
    const words = new Uint32Array(mask.buffer, mask.byteOffset, mask.length >>> 2);
    for (let j = 0; j < words.length; j++) {
      if (words[j] !== 0) {
        const b = j << 2;
        count += (mask[b] !== 0 ? 1 : 0) + (mask[b + 1] !== 0 ? 1 : 0) + (mask[b + 2] !== 0 ? 1 : 0) + (mask[b + 3] !== 0 ? 1 : 0);
      }
    }
    i = words.length << 2;
  }
  for (; i < mask.length; i++) if (mask[i] !== 0) count++;
  return count;
}

/** Index of the `k`-th (0-based) non-zero byte of `mask`; `k` must be below `countNonZero(mask)`. */
function nthNonZero(mask: Uint8Array, k: number): number {
  let i = 0;
  if (mask.byteOffset % 4 === 0) {
    const words = new Uint32Array(mask.buffer, mask.byteOffset, mask.length >>> 2);
    for (let j = 0; j < words.length; j++) {
      if (words[j] === 0) continue;
      for (let b = j << 2, e = b + 4; b < e; b++) {
        if (mask[b] !== 0 && k-- === 0) return b;
      }
    }
    i = words.length << 2;
  }
  for (; i < mask.length; i++) if (mask[i] !== 0 && k-- === 0) return i;
  return -1;
}

/** Options of {@link randomCrop}. */
export interface RandomCropOptions {
  /** Crop height in pixels (at most the image height). */
  readonly height: number;
  /** Crop width in pixels (at most the image width). */
  readonly width: number;
  /**
   * Probability of centring the crop on a defect: a mask entry drawn uniformly among the non-zero ones (all classes), the crop
   * centred on its pixel and shifted to stay inside the image. With an empty mask the crop falls back to uniform. Default 0.
   */
  readonly maskCentreProbability?: number;
}

/**
 * Returns a transform that cuts a `height x width` window at a uniformly drawn position (every offset equally likely), or with
 * probability `maskCentreProbability` centred on a defect pixel.
 * Draws: one `next()` if `maskCentreProbability > 0`, then either one `int` (defect entry) or two `int`s (top, left).
 * @throws {TransformError} `INVALID_OPTION` on bad options; when applied, `OUT_OF_BOUNDS` if the crop is larger than the image.
 * @example randomCrop({ height: 224, width: 1568, maskCentreProbability: 0.5 });
 */
export function randomCrop({ height, width, maskCentreProbability = 0 }: RandomCropOptions): Transform {
  checkInteger('randomCrop', 'height', height, 1);
  checkInteger('randomCrop', 'width', width, 1);
  checkNumber('randomCrop', 'maskCentreProbability', maskCentreProbability, 0, 1);
  return (sample: Sample, rng: Rng): Sample => {
    assertSample(sample, 'randomCrop');
    checkCropSize('randomCrop', sample, height, width);
    const H = sample.height;
    const W = sample.width;
    if (maskCentreProbability > 0 && rng.next() < maskCentreProbability) {
      const count = countNonZero(sample.mask);
      if (count > 0) {
        const pixel = Math.floor(nthNonZero(sample.mask, rng.int(count)) / sample.maskChannels);
        const r = Math.floor(pixel / W);
        const c = pixel - r * W;
        const top = Math.min(Math.max(r - (height >> 1), 0), H - height);
        const left = Math.min(Math.max(c - (width >> 1), 0), W - width);
        return cropUnchecked(sample, top, left, height, width);
      }
    }
    const top = rng.int(H - height + 1);
    const left = rng.int(W - width + 1);
    return cropUnchecked(sample, top, left, height, width);
  };
}

/** Options of {@link centreCrop}. */
export interface CentreCropOptions {
  readonly height: number;
  readonly width: number;
}

/**
 * Returns a transform that cuts the central `height x width` window (top = floor((H - height) / 2)); draws nothing.
 * @throws {TransformError} `INVALID_OPTION` on bad sizes; when applied, `OUT_OF_BOUNDS` if the crop is larger than the image.
 */
export function centreCrop({ height, width }: CentreCropOptions): Transform {
  checkInteger('centreCrop', 'height', height, 1);
  checkInteger('centreCrop', 'width', width, 1);
  return (sample: Sample): Sample => {
    assertSample(sample, 'centreCrop');
    checkCropSize('centreCrop', sample, height, width);
    return cropUnchecked(sample, (sample.height - height) >> 1, (sample.width - width) >> 1, height, width);
  };
}

/** Reverses the order of `w`-element rows in place, natively (one element per pixel). */
function reverseEachRow(data: Uint8Array | Uint16Array | Uint32Array, h: number, w: number): void {
  for (let r = 0, base = 0; r < h; r++, base += w) data.subarray(base, base + w).reverse();
}

/** Mirrors `[h, w, channels]` pixels per row, any channel count, on 32-bit words. */
function mirrorWords(src: Uint32Array, out: Uint32Array, h: number, w: number, channels: number): void {
  const row = w * channels;
  if (channels === 3) {
    // RGB, unrolled.
    for (let r = 0, base = 0; r < h; r++, base += row) {
      for (let d = base, s = base + row - 3, e = base + row; d < e; d += 3, s -= 3) {
        out[d] = src[s] as number;
        out[d + 1] = src[s + 1] as number;
        out[d + 2] = src[s + 2] as number;
      }
    }
    return;
  }
  for (let r = 0, base = 0; r < h; r++, base += row) {
    for (let c = 0, d = base, s = base + row - channels; c < w; c++, d += channels, s -= channels) {
      for (let k = 0; k < channels; k++) out[d + k] = src[s + k] as number;
    }
  }
}

/** Mirrors `[h, w, channels]` pixels per row, any channel count, on bytes. */
function mirrorBytes(src: Uint8Array, out: Uint8Array, h: number, w: number, channels: number): void {
  const row = w * channels;
  if (channels === 3) {
    // RGB, unrolled.
    for (let r = 0, base = 0; r < h; r++, base += row) {
      for (let d = base, s = base + row - 3, e = base + row; d < e; d += 3, s -= 3) {
        out[d] = src[s] as number;
        out[d + 1] = src[s + 1] as number;
        out[d + 2] = src[s + 2] as number;
      }
    }
    return;
  }
  for (let r = 0, base = 0; r < h; r++, base += row) {
    for (let c = 0, d = base, s = base + row - channels; c < w; c++, d += channels, s -= channels) {
      for (let k = 0; k < channels; k++) out[d + k] = src[s + k] as number;
    }
  }
}

/** Reverses the pixel order of every row of an `[h, w, channels]` array into a new array of the same type. */
function reverseRows<T extends ImageArray>(src: T, h: number, w: number, channels: number): T {
  const out = allocLike(src, src.length);
  if (channels === 0 || src.length === 0) return out;
  // Pixels that fit one 8/16/32-bit word reverse natively, which keeps the channel order inside each pixel. Float32 values
  // move as their 32-bit patterns, so every bit (NaN payloads included) is kept.
  const bytesPerPixel = src.BYTES_PER_ELEMENT * channels;
  const aligned = src.byteOffset % bytesPerPixel === 0;
  if (aligned && (bytesPerPixel === 1 || bytesPerPixel === 2 || bytesPerPixel === 4)) {
    out.set(src as never);
    const View = bytesPerPixel === 1 ? Uint8Array : bytesPerPixel === 2 ? Uint16Array : Uint32Array;
    reverseEachRow(new View(out.buffer as ArrayBuffer, out.byteOffset, h * w), h, w);
    return out;
  }
  if (src instanceof Float32Array) {
    mirrorWords(new Uint32Array(src.buffer, src.byteOffset, src.length), new Uint32Array(out.buffer), h, w, channels);
  } else {
    mirrorBytes(src as Uint8Array, out as Uint8Array, h, w, channels);
  }
  return out;
}

/** Reverses the row order of an `[h, w, channels]` array. */
function reverseColumns<T extends ImageArray>(src: T, h: number, w: number, channels: number): T {
  const out = allocLike(src, src.length);
  const row = w * channels;
  if (row === 0) return out;
  for (let r = 0; r < h; r++) out.set(src.subarray(r * row, (r + 1) * row) as never, (h - 1 - r) * row);
  return out;
}

/**
 * Mirrors image and mask left to right (albumentations `HorizontalFlip`); a {@link Transform} that draws nothing.
 * Its own inverse.
 * @throws {TransformError} `INVALID_SAMPLE` on a malformed sample.
 */
export const flipHorizontal: Transform = (sample: Sample): Sample => {
  assertSample(sample, 'flipHorizontal');
  const { height, width, channels, maskChannels } = sample;
  return {
    image: reverseRows(sample.image, height, width, channels),
    mask: reverseRows(sample.mask, height, width, maskChannels),
    height,
    width,
    channels,
    maskChannels,
  };
};

/**
 * Mirrors image and mask top to bottom (albumentations `VerticalFlip`); a {@link Transform} that draws nothing.
 * Its own inverse.
 * @throws {TransformError} `INVALID_SAMPLE` on a malformed sample.
 */
export const flipVertical: Transform = (sample: Sample): Sample => {
  assertSample(sample, 'flipVertical');
  const { height, width, channels, maskChannels } = sample;
  return {
    image: reverseColumns(sample.image, height, width, channels),
    mask: reverseColumns(sample.mask, height, width, maskChannels),
    height,
    width,
    channels,
    maskChannels,
  };
};

/** Options of {@link gridShuffle}. */
export interface GridShuffleOptions {
  /** Tiles per column of the grid; default 1. */
  readonly rows?: number;
  /** Tiles per row of the grid; default 2 (the reference recipe's 1x2 grid: left and right halves). */
  readonly cols?: number;
}

/**
 * Returns a transform that cuts image and mask into a `rows x cols` grid (edges at floor(i * H / rows), floor(j * W / cols)) and
 * permutes the tiles, moving image and mask together (albumentations `RandomGridShuffle`). Tiles are permuted among tiles of the
 * same size, by a uniformly drawn permutation that may be the identity: for a 1x2 grid on an even width, the halves swap with
 * probability 1/2. Draws: `n - 1` `int`s per group of `n` same-sized tiles (Fisher-Yates).
 * @throws {TransformError} `INVALID_OPTION` on bad grid sizes; when applied, `OUT_OF_BOUNDS` if the grid has more rows or
 * columns than the image.
 */
export function gridShuffle({ rows = 1, cols = 2 }: GridShuffleOptions = {}): Transform {
  checkInteger('gridShuffle', 'rows', rows, 1);
  checkInteger('gridShuffle', 'cols', cols, 1);
  return (sample: Sample, rng: Rng): Sample => {
    assertSample(sample, 'gridShuffle');
    const { height: H, width: W, channels, maskChannels, image, mask } = sample;
    if (rows > H || cols > W) {
      throw new TransformError('OUT_OF_BOUNDS', `gridShuffle: expected a grid no finer than the ${H}x${W} image, got ${rows}x${cols}.`);
    }
    const tiles: Rect[] = [];
    for (let i = 0; i < rows; i++) {
      const top = Math.floor((i * H) / rows);
      const bottom = Math.floor(((i + 1) * H) / rows);
      for (let j = 0; j < cols; j++) {
        const left = Math.floor((j * W) / cols);
        const right = Math.floor(((j + 1) * W) / cols);
        tiles.push({ top, left, height: bottom - top, width: right - left });
      }
    }
    // Group tiles by size (in grid order, so the draws are deterministic) and shuffle each group.
    const groups = new Map<string, number[]>();
    tiles.forEach((t, i) => {
      const key = `${t.height}x${t.width}`;
      const group = groups.get(key);
      if (group) group.push(i);
      else groups.set(key, [i]);
    });
    const source = tiles.map((_, i) => i);
    for (const group of groups.values()) {
      const perm = [...group];
      for (let i = perm.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [perm[i], perm[j]] = [perm[j] as number, perm[i] as number];
      }
      group.forEach((dst, i) => {
        source[dst] = perm[i] as number;
      });
    }
    if (source.every((s, i) => s === i)) return sample;
    const outImage = allocLike(image, image.length);
    const outMask = new Uint8Array(mask.length);
    tiles.forEach((dst, i) => {
      const src = tiles[source[i] as number] as Rect;
      copyBlock(image, W, src.top, src.left, outImage, W, dst.top, dst.left, dst.height, dst.width, channels);
      copyBlock(mask, W, src.top, src.left, outMask, W, dst.top, dst.left, dst.height, dst.width, maskChannels);
    });
    return { image: outImage, mask: outMask, height: H, width: W, channels, maskChannels };
  };
}
