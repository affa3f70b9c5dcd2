// Independent references for the tests: line-by-line ports of the Kaggle kernels' numpy helpers.

/** mask2rle: pixels = [0, *img.T.flatten(), 0]; runs = where(pixels[1:] != pixels[:-1]) + 1; runs[1::2] -= runs[::2]. */
export function referenceEncode(data: ArrayLike<number>, height: number, width: number): string {
  const pixels = new Uint8Array(height * width + 2);
  for (let c = 0; c < width; c++) for (let r = 0; r < height; r++) pixels[1 + c * height + r] = data[r * width + c] !== 0 ? 1 : 0;
  const runs: number[] = [];
  for (let i = 1; i < pixels.length; i++) if (pixels[i] !== pixels[i - 1]) runs.push(i);
  for (let k = 1; k < runs.length; k += 2) runs[k]! -= runs[k - 1]!;
  return runs.join(' ');
}

/** rle2mask: img = zeros(width * height); img[start - 1 : start - 1 + length] = 1; img.reshape(width, height).T. */
export function referenceDecode(rle: string, height: number, width: number): Uint8Array {
  const s = rle.split(/\s+/).filter(Boolean).map(Number);
  const flat = new Uint8Array(height * width);
  for (let k = 0; k < s.length; k += 2) flat.fill(1, s[k]! - 1, s[k]! - 1 + s[k + 1]!);
  const out = new Uint8Array(height * width);
  for (let c = 0; c < width; c++) for (let r = 0; r < height; r++) out[r * width + c] = flat[c * height + r]!;
  return out;
}

/** Column-major pixels from alternating `[on, length]` runs (cut at the last pixel): runs wrap from one column into the next. */
export function columnMajorFromRuns(n: number, runs: readonly (readonly [boolean, number])[]): Uint8Array {
  const columnMajor = new Uint8Array(n);
  let p = 0;
  for (const [on, length] of runs) {
    if (on) columnMajor.fill(1, p, Math.min(n, p + length));
    p += length;
  }
  return columnMajor;
}
