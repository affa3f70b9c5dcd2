import { EnsembleError } from './errors.ts';

/**
 * Ground truth of one image: either one row-major `[H, W]` mask per class, or one `[H, W, C]` array, channels last
 * (as one image of an NHWC mask tensor). Pixels > 0 are defect.
 */
export type GroundTruth = readonly ArrayLike<number>[] | ArrayLike<number>;

/** Resolves ground truth to (values, offset, stride) per class (internal). */
export function truthAccessor(truth: GroundTruth, pixels: number, channels: number): { values: ArrayLike<number>; offset: number; stride: number }[] {
  if (Array.isArray(truth) && truth.length > 0 && typeof truth[0] === 'object') {
    const masks = truth as readonly ArrayLike<number>[];
    if (masks.length !== channels) {
      throw new EnsembleError('SHAPE_MISMATCH', `Expected ${channels} ground-truth masks (one per class), got ${masks.length}.`);
    }
    return masks.map((m, k) => {
      if (m === null || typeof m !== 'object' || m.length !== pixels) {
        throw new EnsembleError('SHAPE_MISMATCH', `truth[${k}]: expected a mask of ${pixels} pixels, got ${m?.length ?? typeof m}.`);
      }
      return { values: m, offset: 0, stride: 1 };
    });
  }
  const flat = truth as ArrayLike<number>;
  if (flat === null || typeof flat !== 'object' || flat.length !== pixels * channels) {
    throw new EnsembleError(
      'SHAPE_MISMATCH',
      `Expected ground truth as ${channels} masks of ${pixels} pixels or one array of ${pixels * channels} values (channels last), got ${flat?.length ?? typeof flat} values.`,
    );
  }
  return Array.from({ length: channels }, (_, k) => ({ values: flat, offset: k, stride: channels }));
}
