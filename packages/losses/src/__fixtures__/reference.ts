// Float64 references written from the published formulas, one element at a time, for the tests.
export type Shape = [number, number, number, number];

export interface Case {
  shape: Shape;
  z: Float64Array;
  x: Float64Array;
}

/** Deterministic pseudo-random numbers in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

export function randomCase(seed: number, shape: Shape = [2, 3, 4, 4], scale = 4): Case {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const density = 0.2 + 0.5 * r();
  const z = Float64Array.from({ length: n }, () => (r() < density ? 1 : 0));
  const x = Float64Array.from({ length: n }, () => (2 * r() - 1) * scale);
  return { shape, z, x };
}

const sigmoid = (v: number) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));
/** log(sigmoid(v)), stable. */
const logSigmoid = (v: number) => -(Math.max(-v, 0) + Math.log1p(Math.exp(-Math.abs(v))));

/** Index of (n, y, x, c) in NHWC order, and a loop over classes / images. */
function forEachPair(shape: Shape, perImage: boolean, f: (indices: number[]) => void): void {
  const [n, h, w, c] = shape;
  for (let ci = 0; ci < c; ci++) {
    for (let ni = 0; ni < (perImage ? n : 1); ni++) {
      const indices: number[] = [];
      for (let b = perImage ? ni : 0; b < (perImage ? ni + 1 : n); b++) {
        for (let p = 0; p < h * w; p++) indices.push((b * h * w + p) * c + ci);
      }
      f(indices);
    }
  }
}

/** PyTorch's BCEWithLogitsLoss(pos_weight): (1 - z)x + (1 + (pw - 1)z)(log1p(exp(-|x|)) + max(-x, 0)), mean. */
export function bceRef({ shape, z, x }: Case, posWeight?: number[]): number {
  const c = shape[3];
  let total = 0;
  for (let k = 0; k < x.length; k++) {
    const pw = posWeight?.[k % c] ?? 1;
    const lw = 1 + (pw - 1) * z[k]!;
    total += (1 - z[k]!) * x[k]! + lw * (Math.log1p(Math.exp(-Math.abs(x[k]!))) + Math.max(-x[k]!, 0));
  }
  return total / x.length;
}

/** Soft Dice or Jaccard per class (or per image and class), 1 - mean score. */
export function overlapRef({ shape, z, x }: Case, kind: 'dice' | 'jaccard', smooth = 1, perImage = false): number {
  const scores: number[] = [];
  forEachPair(shape, perImage, (indices) => {
    let inter = 0;
    let sp = 0;
    let st = 0;
    for (const k of indices) {
      const p = sigmoid(x[k]!);
      inter += p * z[k]!;
      sp += p;
      st += z[k]!;
    }
    scores.push(kind === 'dice' ? (2 * inter + smooth) / (sp + st + smooth) : (inter + smooth) / (sp + st - inter + smooth));
  });
  return 1 - scores.reduce((a, b) => a + b, 0) / scores.length;
}

/** The reference recipe's weighted soft Dice: p = w(2p - 1), t = w(2t - 1), 1 - 2Σpt / (Σp² + Σt²) per image and class. */
export function weightedDiceRef({ shape, z, x }: Case, wNeg = 0.2, wPos = 0.8): number {
  const losses: number[] = [];
  forEachPair(shape, true, (indices) => {
    let num = 0;
    let den = 0;
    for (const k of indices) {
      const w = z[k]! === 1 ? wPos : wNeg;
      const p = w * (2 * sigmoid(x[k]!) - 1);
      const t = w * (2 * z[k]! - 1);
      num += p * t;
      den += p * p + t * t;
    }
    losses.push(1 - (2 * num) / den);
  });
  return losses.reduce((a, b) => a + b, 0) / losses.length;
}

/** torchvision's sigmoid_focal_loss, mean. */
export function focalRef({ z, x }: Case, alpha: number | null = 0.25, gamma = 2): number {
  let total = 0;
  for (let k = 0; k < x.length; k++) {
    const ce = -(z[k]! * logSigmoid(x[k]!) + (1 - z[k]!) * logSigmoid(-x[k]!));
    // p_t = p z + (1 - p)(1 - z); 1 - p_t written without cancellation for binary z.
    const oneMinusPt = z[k]! === 1 ? sigmoid(-x[k]!) : sigmoid(x[k]!);
    let loss = ce * oneMinusPt ** gamma;
    if (alpha !== null) loss *= alpha * z[k]! + (1 - alpha) * (1 - z[k]!);
    total += loss;
  }
  return total / x.length;
}

/** Berman et al.'s lovasz_hinge per image and class (or per class), mean. */
export function lovaszRef({ shape, z, x }: Case, perImage = true): number {
  const losses: number[] = [];
  forEachPair(shape, perImage, (indices) => {
    const errors = indices.map((k) => 1 - x[k]! * (2 * z[k]! - 1));
    const gt = indices.map((k) => z[k]!);
    const order = errors.map((_, i) => i).sort((a, b) => errors[b]! - errors[a]!);
    const gts = gt.reduce((a, b) => a + b, 0);
    let cumGt = 0;
    let cumNeg = 0;
    let previous = 0;
    let loss = 0;
    order.forEach((i, rank) => {
      cumGt += gt[i]!;
      cumNeg += 1 - gt[i]!;
      const jaccard = 1 - (gts - cumGt) / (gts + cumNeg);
      const g = rank === 0 ? jaccard : jaccard - previous;
      previous = jaccard;
      loss += Math.max(errors[i]!, 0) * g;
    });
    losses.push(loss);
  });
  return losses.reduce((a, b) => a + b, 0) / losses.length;
}

/** Central differences of `f` at `x` in float64. */
export function numericGradient(f: (x: Float64Array) => number, x: Float64Array, eps = 1e-6): Float64Array {
  const g = new Float64Array(x.length);
  const probe = Float64Array.from(x);
  for (let k = 0; k < x.length; k++) {
    probe[k] = x[k]! + eps;
    const up = f(probe);
    probe[k] = x[k]! - eps;
    const down = f(probe);
    probe[k] = x[k]!;
    g[k] = (up - down) / (2 * eps);
  }
  return g;
}
