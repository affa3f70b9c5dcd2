/**
 * A mask or a stack of masks as a flat typed array, row-major and channel-last (`[B, H, W, C]`, `[H, W, C]` or `[H, W]`).
 * Integer arrays are binary masks: any non-zero value is a positive pixel. Float arrays are probabilities: a value
 * `> threshold` is a positive pixel (as the competition kernels: a pixel exactly at the threshold is off).
 */
export type MaskData = Uint8Array | Uint8ClampedArray | Int32Array | Float32Array | Float64Array;

/** Options shared by the functions that binarize their input. */
export interface ThresholdOptions {
  /** Float inputs are positive where `value > threshold`. Default 0.5. Integer inputs ignore it (non-zero is positive). */
  threshold?: number;
}

/** Options of the functions that take a stack of masks. */
export interface StackOptions extends ThresholdOptions {
  /**
   * `[batch, height, width, classes]`, `[height, width, classes]` (one image) or `[height, width]` (one image, one class),
   * as `tensor.shape` gives it. Its product must equal the length of both arrays.
   */
  shape: readonly number[];
}

/**
 * Per (image, class) pixel counts. Each array has `images * classes` entries; pair (i, c) is at `i * classes + c`.
 * Positive means "in the mask": `tp` = in both, `fp` = predicted only, `fn` = target only, `tn` = in neither.
 */
export interface ConfusionCounts {
  readonly images: number;
  readonly classes: number;
  readonly tp: Float64Array;
  readonly fp: Float64Array;
  readonly fn: Float64Array;
  readonly tn: Float64Array;
}
