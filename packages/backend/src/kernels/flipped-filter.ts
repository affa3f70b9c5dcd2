// The flipped, in/out-swapped filter that strided input gradients convolve dy with (conv2d-gradients.ts per stride
// phase; winograd.ts flips stride-1 filters on the heap threads with `winograd_transpose`).

/** Writes w[p, q, c, o] for p = tp + sh·(MH−1−m), q = tq + sw·(MW−1−n) as f[m, n, o, c] (flipped, in/out swapped). */
export function flippedPhaseFilter(
  wv: Float32Array,
  f: Float32Array,
  k: { KW: number; C: number; O: number; sh: number; sw: number },
  tp: number,
  tq: number,
  MH: number,
  MW: number,
): void {
  const { KW, C, O, sh, sw } = k;
  const BLOCK = 16;
  for (let m = 0; m < MH; m++) {
    for (let n = 0; n < MW; n++) {
      const p = tp + sh * (MH - 1 - m);
      const q = tq + sw * (MW - 1 - n);
      const src = (p * KW + q) * C * O;
      const dst = (m * MW + n) * O * C;
      // Blocked C x O -> O x C transpose.
      for (let c0 = 0; c0 < C; c0 += BLOCK) {
        const c1 = Math.min(C, c0 + BLOCK);
        for (let o0 = 0; o0 < O; o0 += BLOCK) {
          const o1 = Math.min(O, o0 + BLOCK);
          for (let c = c0; c < c1; c++) {
            const s = src + c * O;
            for (let o = o0; o < o1; o++) f[dst + o * C + c] = wv[s + o]!;
          }
        }
      }
    }
  }
}
