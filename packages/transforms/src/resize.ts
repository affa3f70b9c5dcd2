import { checkInteger, echo, TransformError } from './errors.ts';
import { applySeparable, buildTaps, type Taps } from './separable.ts';
import { assertSample, type Sample, type Transform } from './types.ts';

/** Image interpolation of {@link resize}; masks always use nearest. */
export type ResizeMethod = 'bilinear' | 'area';

/** Options of {@link resize}. */
export interface ResizeOptions {
  readonly height: number;
  readonly width: number;
  /** Default `'bilinear'`. */
  readonly method?: ResizeMethod;
}

/** Bilinear taps with half-pixel centres (OpenCV INTER_LINEAR, PyTorch `align_corners=false`), edges clamped. */
function bilinearTaps(inLength: number, outLength: number): Taps {
  const scale = inLength / outLength;
  return buildTaps(outLength, (o) => {
    const x = Math.max((o + 0.5) * scale - 0.5, 0);
    const i0 = Math.floor(x);
    if (i0 >= inLength - 1) return [[inLength - 1, 1]];
    const f = x - i0;
    return f === 0 ? [[i0, 1]] : [[i0, 1 - f], [i0 + 1, f]];
  });
}

/** Area taps: output pixel o averages input span [o * s, (o + 1) * s) weighted by coverage (OpenCV INTER_AREA when shrinking). */
function areaTaps(inLength: number, outLength: number): Taps {
  return buildTaps(outLength, (o) => {
    // Work in units of 1 / outLength so the span ends are exact integers: [o * in, (o + 1) * in).
    const a = o * inLength;
    const b = (o + 1) * inLength;
    const taps: Array<readonly [number, number]> = [];
    for (let i = Math.floor(a / outLength); i * outLength < b; i++) {
      const overlap = Math.min(b, (i + 1) * outLength) - Math.max(a, i * outLength);
      if (overlap > 0) taps.push([i, overlap / inLength]);
    }
    return taps;
  });
}

/** Nearest source index with half-pixel centres: floor((o + 0.5) * in / out). */
function nearestIndex(inLength: number, outLength: number): Int32Array {
  const index = new Int32Array(outLength);
  for (let o = 0; o < outLength; o++) index[o] = Math.min(Math.floor(((2 * o + 1) * inLength) / (2 * outLength)), inLength - 1);
  return index;
}

/**
 * Returns a transform that resizes to `height x width`: the image by `method` (`'bilinear'` with half-pixel centres, or `'area'`
 * coverage-weighted averaging), the mask by nearest neighbour with half-pixel centres (`floor((o + 0.5) * in / out)`), so it stays
 * binary. `Uint8Array` images are rounded; draws nothing.
 * @throws {TransformError} `INVALID_OPTION` on bad sizes or an unknown method.
 */
export function resize({ height, width, method = 'bilinear' }: ResizeOptions): Transform {
  checkInteger('resize', 'height', height, 1);
  checkInteger('resize', 'width', width, 1);
  if (method !== 'bilinear' && method !== 'area') {
    throw new TransformError('INVALID_OPTION', `resize: expected method 'bilinear' or 'area', got ${echo(method)}.`);
  }
  const tapsFor = method === 'area' ? areaTaps : bilinearTaps;
  return (sample: Sample): Sample => {
    assertSample(sample, 'resize');
    const { height: H, width: W, channels, maskChannels } = sample;
    if (H === height && W === width) return sample;
    const image = applySeparable(sample.image, H, W, channels, tapsFor(H, height), tapsFor(W, width));
    const mask = new Uint8Array(height * width * maskChannels);
    if (maskChannels > 0) {
      const rows = nearestIndex(H, height);
      const cols = nearestIndex(W, width);
      for (let r = 0; r < height; r++) {
        const s = (rows[r] as number) * W;
        const d = r * width;
        for (let c = 0; c < width; c++) {
          const si = (s + (cols[c] as number)) * maskChannels;
          const di = (d + c) * maskChannels;
          for (let k = 0; k < maskChannels; k++) mask[di + k] = sample.mask[si + k] as number;
        }
      }
    }
    return { image, mask, height, width, channels, maskChannels };
  };
}
