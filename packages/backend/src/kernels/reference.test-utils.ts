// Float64 references and helpers for the kernel tests (not published: matched by the test-file globs of the package).
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomArray(n: number, seed: number, values?: readonly number[]): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = values ? values[Math.floor(r() * values.length)]! : r() * 2 - 1;
  return out;
}

/** Output size and leading padding of one spatial axis, as TensorFlow defines 'same' and 'valid'. */
export function axisGeometry(size: number, k: number, s: number, pad: 'same' | 'valid'): { out: number; before: number } {
  if (pad === 'valid') return { out: Math.ceil((size - k + 1) / s), before: 0 };
  const out = Math.ceil(size / s);
  const total = Math.max((out - 1) * s + k - size, 0);
  return { out, before: Math.floor(total / 2) };
}

/** Explicit padding [top, bottom, left, right]. */
export type ExplicitPad = [number, number, number, number];

export interface ConvCase {
  B: number; H: number; W: number; C: number; O: number; KH: number; KW: number; sh: number; sw: number; pad: 'same' | 'valid' | ExplicitPad;
}

/** Output size and leading padding of both spatial axes of a convolution case. */
export function convGeometry(k: ConvCase): { gh: { out: number; before: number }; gw: { out: number; before: number } } {
  if (typeof k.pad === 'string') return { gh: axisGeometry(k.H, k.KH, k.sh, k.pad), gw: axisGeometry(k.W, k.KW, k.sw, k.pad) };
  const [t, b, l, r] = k.pad;
  return {
    gh: { out: Math.floor((k.H + t + b - k.KH) / k.sh) + 1, before: t },
    gw: { out: Math.floor((k.W + l + r - k.KW) / k.sw) + 1, before: l },
  };
}

/** y = conv2d(x, w) in float64 (NHWC, HWIO). */
export function conv2dRef(x: ArrayLike<number>, w: ArrayLike<number>, k: ConvCase): { y: Float64Array; OH: number; OW: number } {
  const { gh, gw } = convGeometry(k);
  const [OH, OW] = [gh.out, gw.out];
  const y = new Float64Array(k.B * OH * OW * k.O);
  for (let b = 0; b < k.B; b++)
    for (let i = 0; i < OH; i++)
      for (let j = 0; j < OW; j++)
        for (let p = 0; p < k.KH; p++)
          for (let q = 0; q < k.KW; q++) {
            const h = i * k.sh + p - gh.before;
            const v = j * k.sw + q - gw.before;
            if (h < 0 || h >= k.H || v < 0 || v >= k.W) continue;
            for (let c = 0; c < k.C; c++) {
              const xv = x[((b * k.H + h) * k.W + v) * k.C + c]!;
              for (let o = 0; o < k.O; o++) y[((b * OH + i) * OW + j) * k.O + o]! += xv * w[((p * k.KW + q) * k.C + c) * k.O + o]!;
            }
          }
  return { y, OH, OW };
}

/** dx and dw of <conv2d(x, w), dy> in float64. */
export function conv2dGradRef(x: ArrayLike<number>, w: ArrayLike<number>, dy: ArrayLike<number>, k: ConvCase): { dx: Float64Array; dw: Float64Array } {
  const { gh, gw } = convGeometry(k);
  const [OH, OW] = [gh.out, gw.out];
  const dx = new Float64Array(k.B * k.H * k.W * k.C);
  const dw = new Float64Array(k.KH * k.KW * k.C * k.O);
  for (let b = 0; b < k.B; b++)
    for (let i = 0; i < OH; i++)
      for (let j = 0; j < OW; j++)
        for (let p = 0; p < k.KH; p++)
          for (let q = 0; q < k.KW; q++) {
            const h = i * k.sh + p - gh.before;
            const v = j * k.sw + q - gw.before;
            if (h < 0 || h >= k.H || v < 0 || v >= k.W) continue;
            for (let c = 0; c < k.C; c++) {
              const xi = ((b * k.H + h) * k.W + v) * k.C + c;
              for (let o = 0; o < k.O; o++) {
                const g = dy[((b * OH + i) * OW + j) * k.O + o]!;
                const wi = ((p * k.KW + q) * k.C + c) * k.O + o;
                dx[xi]! += g * w[wi]!;
                dw[wi]! += g * x[xi]!;
              }
            }
          }
  return { dx, dw };
}

/** max |a − b| / max |b| (0 when both are all zero). */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return den === 0 ? num : num / den;
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export interface PoolCase { B: number; H: number; W: number; C: number; KH: number; KW: number; sh: number; sw: number; pad: 'same' | 'valid' }

/** Max pooling and its gradient in float64: the first maximum of each window (padding excluded) takes the window's dy. */
export function maxPoolRef(x: ArrayLike<number>, dy: ArrayLike<number> | null, k: PoolCase) {
  const gh = axisGeometry(k.H, k.KH, k.sh, k.pad);
  const gw = axisGeometry(k.W, k.KW, k.sw, k.pad);
  const y = new Float64Array(k.B * gh.out * gw.out * k.C);
  const dx = new Float64Array(k.B * k.H * k.W * k.C);
  for (let b = 0; b < k.B; b++)
    for (let i = 0; i < gh.out; i++)
      for (let j = 0; j < gw.out; j++)
        for (let c = 0; c < k.C; c++) {
          let best = -Infinity;
          let at = -1;
          for (let p = 0; p < k.KH; p++)
            for (let q = 0; q < k.KW; q++) {
              const h = i * k.sh + p - gh.before;
              const w = j * k.sw + q - gw.before;
              if (h < 0 || h >= k.H || w < 0 || w >= k.W) continue;
              const idx = ((b * k.H + h) * k.W + w) * k.C + c;
              if (at < 0 || x[idx]! > best) [best, at] = [x[idx]!, idx];
            }
          const o = ((b * gh.out + i) * gw.out + j) * k.C + c;
          y[o] = best;
          if (dy) dx[at]! += dy[o]!;
        }
  return { y, dx, OH: gh.out, OW: gw.out };
}

/** Training-mode batch norm (batch statistics, biased variance) and the gradients of Σ y · dy w.r.t. x, γ and β, in float64. */
export function trainingBatchNormRef(x: Float32Array, gamma: Float32Array, dy: Float32Array, C: number, eps: number) {
  const N = x.length / C;
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  for (let i = 0; i < x.length; i++) mean[i % C] = mean[i % C]! + x[i]! / N;
  for (let i = 0; i < x.length; i++) variance[i % C] = variance[i % C]! + (x[i]! - mean[i % C]!) ** 2 / N;
  const xhat = Float64Array.from(x, (v, i) => (v - mean[i % C]!) / Math.sqrt(variance[i % C]! + eps));
  const sumG = new Float64Array(C);
  const sumGX = new Float64Array(C);
  const dBeta = new Float64Array(C);
  const dGamma = new Float64Array(C);
  for (let i = 0; i < x.length; i++) {
    const c = i % C;
    const g = dy[i]! * gamma[c]!;
    sumG[c] = sumG[c]! + g;
    sumGX[c] = sumGX[c]! + g * xhat[i]!;
    dBeta[c] = dBeta[c]! + dy[i]!;
    dGamma[c] = dGamma[c]! + dy[i]! * xhat[i]!;
  }
  const dx = Float64Array.from(x, (_, i) => {
    const c = i % C;
    return ((N * dy[i]! * gamma[c]! - sumG[c]! - xhat[i]! * sumGX[c]!) / N) / Math.sqrt(variance[c]! + eps);
  });
  return { dx, dGamma, dBeta, xhat };
}
