// The steps between an image and a network, on typed arrays so that every engine shares them: normalisation, channel
// conversion, area resize to the working size, zero padding to a multiple of 32 (after normalisation), tiles, crop,
// bilinear resize back and the sigmoid.
import type { ArrayBatch } from '@steel/ensemble';
import { createRng, resize } from '@steel/transforms';
import type { InferenceEngine } from './engine.ts';
import { InferenceError, echo } from './errors.ts';
import { padTo, planTiles } from './tiling.ts';

/** A decoded image: row-major HWC bytes, pixel (r, c) channel k at `(r * width + c) * channels + k`; 1 (grey) or 3 channels. */
export interface InferenceImage {
  readonly data: Uint8Array;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
}

/** Per-class probabilities `[height, width, classes]` of one image, at the image's own size. */
export interface ProbabilityMap {
  readonly probs: Float32Array;
  readonly height: number;
  readonly width: number;
  readonly classes: number;
}

/** How pixel bytes become network input: `(byte · scale − mean) / std`, per channel. */
export interface Normalization {
  /** Default 1/255 (pixels in [0, 1]), as steel trains. */
  readonly scale?: number;
  /** One value or one per channel; default 0. */
  readonly mean?: number | readonly number[];
  /** One value or one per channel; default 1. */
  readonly std?: number | readonly number[];
}

/** How images are brought to one network. */
export interface GeometryOptions {
  /** Factor the model was trained at: images are area-resized by it first (default 1). */
  readonly scale?: number;
  /** Instead of `scale`: the height the model works at; the width keeps the aspect ratio. */
  readonly workHeight?: number;
  /** Widest piece the network sees, in columns at the working size; wider images are cut into overlapping tiles. Default: no limit. */
  readonly tileWidth?: number;
  /** Columns shared by neighbouring tiles; default 64. */
  readonly overlap?: number;
}

/** The size an image of `height x width` is predicted at. */
export function workSize(height: number, width: number, { scale = 1, workHeight }: Pick<GeometryOptions, 'scale' | 'workHeight'> = {}): { height: number; width: number } {
  if (workHeight !== undefined) return { height: workHeight, width: Math.max(1, Math.round((width * workHeight) / height)) };
  return { height: Math.max(1, Math.round(height * scale)), width: Math.max(1, Math.round(width * scale)) };
}

function perChannel(value: number | readonly number[], channels: number, field: string): number[] {
  const list = typeof value === 'number' ? new Array<number>(channels).fill(value) : Array.isArray(value) ? [...value] : [];
  if (list.length !== channels || !list.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new InferenceError('INVALID_OPTION', `normalization.${field}: expected a finite number or ${channels} of them, got ${echo(value)}.`);
  }
  return list;
}

/** Checks an image and returns its channel count. */
export function checkImage(image: InferenceImage, where: string): number {
  const { data, height, width, channels } = image ?? ({} as InferenceImage);
  if (!Number.isInteger(height) || height < 1 || !Number.isInteger(width) || width < 1) {
    throw new InferenceError('INVALID_IMAGE', `${where}: expected a positive integer height and width, got ${echo(height)}x${echo(width)}.`);
  }
  if (channels !== 1 && channels !== 3) throw new InferenceError('INVALID_IMAGE', `${where}: expected 1 (grey) or 3 (RGB) channels, got ${echo(channels)}.`);
  if (!(data instanceof Uint8Array) || data.length !== height * width * channels) {
    throw new InferenceError('INVALID_IMAGE', `${where}: expected a Uint8Array of ${height}x${width}x${channels} = ${height * width * channels} bytes, got ${echo(data)}.`);
  }
  return channels;
}

/**
 * Stacks images of one size into a normalised NHWC float32 batch with `channels` channels (grey to RGB repeats the channel,
 * RGB to grey takes the channel mean).
 */
export function toInputBatch(images: readonly InferenceImage[], channels: number, normalization: Normalization = {}): ArrayBatch {
  const { height, width } = images[0]!;
  const scale = normalization.scale ?? 1 / 255;
  const mean = perChannel(normalization.mean ?? 0, channels, 'mean');
  const std = perChannel(normalization.std ?? 1, channels, 'std');
  if (!Number.isFinite(scale) || std.some((s) => s === 0)) throw new InferenceError('INVALID_OPTION', `normalization: expected a finite scale and non-zero std, got ${echo(normalization)}.`);
  const a = std.map((s) => scale / s);
  const b = std.map((s, k) => -mean[k]! / s);
  const plane = height * width;
  const out = new Float32Array(images.length * plane * channels);
  images.forEach((im, i) => {
    const src = im.data;
    const base = i * plane * channels;
    if (im.channels === 1 && channels === 1) {
      const a0 = a[0]!;
      const b0 = b[0]!;
      for (let p = 0; p < plane; p++) out[base + p] = src[p]! * a0 + b0;
    } else if (im.channels === channels) {
      for (let p = 0; p < plane; p++) for (let k = 0; k < channels; k++) out[base + p * channels + k] = src[p * channels + k]! * a[k]! + b[k]!;
    } else if (im.channels === 1) {
      for (let p = 0; p < plane; p++) for (let k = 0; k < channels; k++) out[base + p * channels + k] = src[p]! * a[k]! + b[k]!;
    } else {
      for (let p = 0; p < plane; p++) out[base + p] = ((src[3 * p]! + src[3 * p + 1]! + src[3 * p + 2]!) / 3) * a[0]! + b[0]!;
    }
  });
  return { data: out, shape: [images.length, height, width, channels] };
}

/** Resizes every image of an NHWC batch (area when shrinking to the working size, bilinear when bringing logits back). */
export function resizeBatch(batch: ArrayBatch, height: number, width: number, method: 'area' | 'bilinear'): ArrayBatch {
  const [n, h, w, c] = batch.shape;
  if (h === height && w === width) return batch;
  const op = resize({ height, width, method });
  const per = h * w * c;
  const rng = createRng(0); // resize draws nothing
  const out = new Float32Array(n * height * width * c);
  for (let i = 0; i < n; i++) {
    const image = batch.data.subarray(i * per, (i + 1) * per);
    const resized = op({ image, mask: new Uint8Array(0), height: h, width: w, channels: c, maskChannels: 0 }, rng);
    out.set(resized.image, i * height * width * c);
  }
  return { data: out, shape: [n, height, width, c] };
}

/** Copies columns `[from, from + cols)` of every image of `src` (all its rows) into a zero `[n, outH, outW, c]` batch at the top left. */
function cutPadded(src: ArrayBatch, from: number, cols: number, outH: number, outW: number): ArrayBatch {
  const [n, h, w, c] = src.shape;
  if (from === 0 && cols === w && outH === h && outW === w) return src;
  const out = new Float32Array(n * outH * outW * c);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < h; r++) {
      const s = ((i * h + r) * w + from) * c;
      out.set(src.data.subarray(s, s + cols * c), ((i * outH + r) * outW) * c);
    }
  }
  return { data: out, shape: [n, outH, outW, c] };
}

/** What one network predicts for a normalised batch at the images' own size: a function for `withTtaArrays`. */
export function createGeometryFn(
  engine: InferenceEngine,
  options: GeometryOptions & { checkClasses: (classes: number) => void },
): (batch: ArrayBatch) => Promise<ArrayBatch> {
  const { tileWidth, overlap = 64 } = options;
  return async (batch) => {
    const [n, height, width] = batch.shape;
    const size = workSize(height, width, options);
    const scaled = resizeBatch(batch, size.height, size.width, 'area');
    // Pad the whole image first and tile the padded image, so every tile sees the padding the whole image would.
    const paddedHeight = padTo(size.height);
    const padded = cutPadded(scaled, 0, size.width, paddedHeight, padTo(size.width));
    const plan = planTiles(padded.shape[2], { ...(tileWidth === undefined ? {} : { tileWidth }), overlap });
    let logits: Float32Array | undefined;
    let classes = 0;
    for (const tile of plan.tiles) {
      const input = plan.tiles.length === 1 ? padded : cutPadded(padded, tile.start, tile.width, paddedHeight, tile.width);
      const out = await engine.run(input);
      const [on, oh, ow, oc] = out.shape;
      if (on !== n || oh !== paddedHeight || ow !== tile.width || !(out.data instanceof Float32Array) || out.data.length !== on * oh * ow * oc) {
        throw new InferenceError('BAD_OUTPUT', `Expected ${engine.description} to return logits [${n}, ${paddedHeight}, ${tile.width}, classes], got [${out.shape.join(', ')}].`);
      }
      if (logits === undefined) {
        options.checkClasses(oc);
        classes = oc;
        logits = new Float32Array(n * size.height * size.width * classes);
      } else if (oc !== classes) {
        throw new InferenceError('CLASS_MISMATCH', `${engine.description} returned ${oc} classes for one tile and ${classes} for another.`);
      }
      // Keep the tile's rows [0, work height) and columns [keepFrom, keepTo) inside the image, dropping padding and tile borders.
      const keepTo = Math.min(tile.keepTo, size.width);
      if (keepTo <= tile.keepFrom) continue;
      const keep = (keepTo - tile.keepFrom) * classes;
      if (keep === size.width * classes && oh === size.height && ow === size.width && out.data !== input.data) {
        logits = out.data; // the whole image in one tile, no padding: nothing to crop
        continue;
      }
      for (let i = 0; i < n; i++) {
        for (let r = 0; r < size.height; r++) {
          const s = ((i * oh + r) * ow + (tile.keepFrom - tile.start)) * classes;
          logits.set(out.data.subarray(s, s + keep), ((i * size.height + r) * size.width + tile.keepFrom) * classes);
        }
      }
    }
    const back = resizeBatch({ data: logits!, shape: [n, size.height, size.width, classes] }, height, width, 'bilinear');
    const probs = back.data === logits ? logits : back.data;
    for (let k = 0; k < probs.length; k++) probs[k] = 1 / (1 + Math.exp(-probs[k]!));
    return { data: probs, shape: [n, height, width, classes] };
  };
}
