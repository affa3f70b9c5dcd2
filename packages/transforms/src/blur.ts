import { checkNumber, checkRange, echo, TransformError } from './errors.ts';
import type { Rng } from './rng.ts';
import { applySeparable, buildTaps, type Taps } from './separable.ts';
import { assertSample, type Sample, type Transform } from './types.ts';

/** Kernel of {@link blur}. */
export type BlurKind = 'box' | 'gaussian';

/** Options of {@link blur}. */
export interface BlurOptions {
  /** Default `'box'` (albumentations `Blur`); `'gaussian'` is albumentations `GaussianBlur`. */
  readonly kind?: BlurKind;
  /** Odd kernel size, or a `[low, high]` range from which an odd size is drawn uniformly; default 3. */
  readonly size?: number | readonly [number, number];
  /** Gaussian sigma in pixels; default OpenCV's `0.3 * ((size - 1) / 2 - 1) + 0.8`. Ignored for `'box'`. */
  readonly sigma?: number;
}

/** Index `i` reflected into [0, n) without repeating the edge pixel (OpenCV BORDER_REFLECT_101: ... 2 1 | 0 1 2 ... ). */
function reflect101(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * n - 2;
  const j = ((i % period) + period) % period;
  return j < n ? j : period - j;
}

function kernelTaps(length: number, kernel: Float64Array): Taps {
  const radius = (kernel.length - 1) / 2;
  return buildTaps(length, (o) => {
    const taps: Array<readonly [number, number]> = [];
    for (let t = -radius; t <= radius; t++) taps.push([reflect101(o + t, length), kernel[t + radius] as number]);
    return taps;
  });
}

/**
 * Returns a transform that blurs the image with a separable box or Gaussian kernel, borders reflected (OpenCV
 * BORDER_REFLECT_101). The mask is untouched. `Uint8Array` images are rounded. Draws: one `int` when `size` is a range with more
 * than one odd value, else nothing.
 * @throws {TransformError} `INVALID_OPTION` on an unknown kind, no odd size in the range, or a non-positive sigma.
 */
export function blur({ kind = 'box', size = 3, sigma }: BlurOptions = {}): Transform {
  if (kind !== 'box' && kind !== 'gaussian') {
    throw new TransformError('INVALID_OPTION', `blur: expected kind 'box' or 'gaussian', got ${echo(kind)}.`);
  }
  const [low, high] = checkRange('blur', 'size', size, false);
  const sizes: number[] = [];
  for (let k = Math.max(1, Math.ceil(low)); k <= high; k++) if (k % 2 === 1) sizes.push(k);
  if (sizes.length === 0 || (typeof size === 'number' && !Number.isInteger(size))) {
    throw new TransformError('INVALID_OPTION', `blur: expected an odd positive size or a range containing one, got ${echo(size)}.`);
  }
  if (sigma !== undefined) checkNumber('blur', 'sigma', sigma, Number.MIN_VALUE);
  const kernels = new Map<number, Float64Array>();
  for (const k of sizes) {
    const kernel = new Float64Array(k);
    const r = (k - 1) / 2;
    const s = sigma ?? 0.3 * ((k - 1) * 0.5 - 1) + 0.8;
    for (let t = -r; t <= r; t++) kernel[t + r] = kind === 'box' ? 1 : Math.exp(-(t * t) / (2 * s * s));
    const total = kernel.reduce((a, b) => a + b, 0);
    for (let t = 0; t < k; t++) kernel[t] = (kernel[t] as number) / total;
    kernels.set(k, kernel);
  }
  return (sample: Sample, rng: Rng): Sample => {
    assertSample(sample, 'blur');
    const k = sizes.length === 1 ? (sizes[0] as number) : (sizes[rng.int(sizes.length)] as number);
    if (k === 1) return sample;
    const kernel = kernels.get(k) as Float64Array;
    const { height, width, channels } = sample;
    const image = applySeparable(sample.image, height, width, channels, kernelTaps(height, kernel), kernelTaps(width, kernel));
    return { ...sample, image };
  };
}
