// One test vector for the threshold rule shared by every package that turns probabilities into a mask: a pixel is a
// defect when `p > t`, as in the competition kernels, so a probability exactly at the threshold is off.

/** The float32 value next to `x`, above (`up`) or below. */
function nextFloat32(x: number, up: boolean): number {
  const bits = new Int32Array(new Float32Array([x]).buffer);
  bits[0] = bits[0]! + ((x >= 0) === up ? 1 : -1);
  return new Float32Array(bits.buffer)[0]!;
}

/** The threshold of {@link THRESHOLD_VECTOR}: exactly representable in float32 and float64. */
export const THRESHOLD = 0.5;

/**
 * Probabilities around {@link THRESHOLD} (each exactly representable in float32) and the mask `p > t` gives: below, one
 * float32 step below, exactly at, one float32 step above, and well above.
 */
export const THRESHOLD_VECTOR: { readonly probabilities: readonly number[]; readonly mask: readonly number[] } = {
  probabilities: [0, 0.25, nextFloat32(THRESHOLD, false), THRESHOLD, nextFloat32(THRESHOLD, true), 0.75, 1, THRESHOLD],
  mask: [0, 0, 0, 0, 1, 1, 1, 0],
};

/** The vector repeated to `length` values (longer inputs reach vectorised code paths). */
export function repeatThresholdVector(length: number): { probabilities: Float32Array; mask: Uint8Array } {
  const n = THRESHOLD_VECTOR.probabilities.length;
  return {
    probabilities: Float32Array.from({ length }, (_, i) => THRESHOLD_VECTOR.probabilities[i % n]!),
    mask: Uint8Array.from({ length }, (_, i) => THRESHOLD_VECTOR.mask[i % n]!),
  };
}
