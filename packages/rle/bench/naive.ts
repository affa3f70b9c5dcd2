// A straightforward per-pixel implementation of the competition's RLE, as a baseline: walk the mask column by column,
// build one string per run, split the RLE on spaces and set pixel by pixel.
export function naiveEncode(mask: Uint8Array, height: number, width: number): string {
  const parts: string[] = [];
  let start = -1;
  for (let p = 0; p < height * width; p++) {
    const c = Math.floor(p / height);
    const r = p % height;
    if (mask[r * width + c] !== 0) {
      if (start < 0) start = p;
    } else if (start >= 0) {
      parts.push(`${start + 1} ${p - start}`);
      start = -1;
    }
  }
  if (start >= 0) parts.push(`${start + 1} ${height * width - start}`);
  return parts.join(' ');
}

export function naiveDecode(rle: string, height: number, width: number): Uint8Array {
  const mask = new Uint8Array(height * width);
  if (rle === '') return mask;
  const tokens = rle.split(' ').map(Number);
  for (let t = 0; t < tokens.length; t += 2) {
    const start = tokens[t]! - 1;
    for (let p = start; p < start + tokens[t + 1]!; p++) {
      const c = Math.floor(p / height);
      mask[(p - c * height) * width + c] = 1;
    }
  }
  return mask;
}
