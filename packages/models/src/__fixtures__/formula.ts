// Weights and inputs defined by a formula that scripts/pytorch_reference.py computes bit for bit (see `formula_tensor`
// there): a counter-based hash of (FNV-1a(name), index) mapped to [-1, 1), scaled by the kind of tensor.

/** FNV-1a 32-bit over the UTF-8 bytes of an ASCII name. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** `count` values in [-1, 1), as float64. */
export function uniform(name: string, count: number): Float64Array {
  const seed = fnv1a(name);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    let x = (Math.imul(i, 0x9e3779b9) + seed) >>> 0;
    x = (x ^ (x >>> 16)) >>> 0;
    x = Math.imul(x, 0x85ebca6b) >>> 0;
    x = (x ^ (x >>> 13)) >>> 0;
    x = Math.imul(x, 0xc2b2ae35) >>> 0;
    x = (x ^ (x >>> 16)) >>> 0;
    out[i] = ((x >>> 8) / 16777216) * 2 - 1;
  }
  return out;
}

/** The float32 value of state_dict entry `name` with PyTorch shape `shape`. */
export function formulaTensor(name: string, shape: readonly number[]): Float32Array {
  const count = shape.reduce((a, b) => a * b, 1);
  const v = uniform(name, count);
  const leaf = name.slice(name.lastIndexOf('.') + 1);
  const out = new Float32Array(count);
  if (leaf === 'weight' && shape.length >= 2) {
    const scale = Math.sqrt(3 / shape.slice(1).reduce((a, b) => a * b, 1));
    for (let i = 0; i < count; i++) out[i] = v[i]! * scale;
  } else if (leaf === 'weight') {
    for (let i = 0; i < count; i++) out[i] = 1 + 0.1 * v[i]!;
  } else if (leaf === 'bias' || leaf === 'running_mean') {
    for (let i = 0; i < count; i++) out[i] = 0.1 * v[i]!;
  } else if (leaf === 'running_var') {
    for (let i = 0; i < count; i++) out[i] = 1 + 0.5 * v[i]!;
  } else {
    throw new Error(`no formula for ${name}`);
  }
  return out;
}

/** The formula input in NHWC order (generated in PyTorch's NCHW order, then transposed). */
export function formulaInput([n, h, w, c]: readonly [number, number, number, number]): Float32Array {
  const v = uniform('input', n * c * h * w);
  const out = new Float32Array(n * h * w * c);
  for (let b = 0; b < n; b++)
    for (let k = 0; k < c; k++)
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[((b * h + y) * w + x) * c + k] = v[((b * c + k) * h + y) * w + x]!;
  return out;
}

/** FNV-1a of the sorted `name:d0,d1,...` lines of a state_dict, as the reference script computes it. */
export function namesChecksum(entries: Iterable<[string, { shape: readonly number[] }]>): number {
  const lines = [...entries].map(([name, t]) => `${name}:${t.shape.join(',')}`).sort();
  return fnv1a(lines.join('\n'));
}

/** Shape of a parity fixture written by scripts/pytorch_reference.py. */
export interface ParityFixture {
  source: string;
  name: string;
  architecture: 'unet' | 'fpn';
  encoder: 'resnet18' | 'resnet34' | 'resnet50';
  inChannels: number;
  classes: number;
  classificationHead: boolean;
  input: { shape: [number, number, number, number] };
  stateDict: { count: number; checksum: number };
  /** The encoder's state_dict under torchvision's names. */
  torchvisionStateDict: { count: number; checksum: number };
  parameters: number;
  output: { shape: number[]; mean: number; std: number; absMax: number; samples: [number, number, number, number, number][] };
  classification?: { shape: number[]; values: number[] };
}
