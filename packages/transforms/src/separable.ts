import type { ImageArray } from './types.ts';

/** For each output index `o`, input indices `index[ptr[o] .. ptr[o + 1])` with weights `weight[...]` along one axis. */
export interface Taps {
  readonly ptr: Int32Array;
  readonly index: Int32Array;
  readonly weight: Float64Array;
}

/** Builds {@link Taps} from a function listing `[index, weight]` pairs for each output index. */
export function buildTaps(outLength: number, tapsOf: (o: number) => Array<readonly [number, number]>): Taps {
  const ptr = new Int32Array(outLength + 1);
  const index: number[] = [];
  const weight: number[] = [];
  for (let o = 0; o < outLength; o++) {
    for (const [i, w] of tapsOf(o)) {
      index.push(i);
      weight.push(w);
    }
    ptr[o + 1] = index.length;
  }
  return { ptr, index: Int32Array.from(index), weight: Float64Array.from(weight) };
}

/**
 * Applies `rows` taps (vertical) and `cols` taps (horizontal) to an `[h, w, channels]` image: output `[rows.out, cols.out,
 * channels]` of the same array type, `Uint8Array` results rounded half to even and saturated to 0-255.
 */
export function applySeparable<T extends ImageArray>(src: T, h: number, w: number, channels: number, rows: Taps, cols: Taps): T {
  const outH = rows.ptr.length - 1;
  const outW = cols.ptr.length - 1;
  const C = channels;
  // Horizontal pass into float32 [h, outW, C], reading float32 only (one native conversion for bytes keeps the loop monomorphic).
  const input = src instanceof Float32Array ? src : Float32Array.from(src);
  const tmp = new Float32Array(h * outW * C);
  const { ptr: cp, index: ci, weight: cw } = cols;
  if (C === 1) {
    for (let r = 0; r < h; r++) {
      const sBase = r * w;
      const tBase = r * outW;
      for (let o = 0; o < outW; o++) {
        let acc = 0;
        for (let t = cp[o] as number, e = cp[o + 1] as number; t < e; t++) acc += (input[sBase + (ci[t] as number)] as number) * (cw[t] as number);
        tmp[tBase + o] = acc;
      }
    }
  } else {
    for (let r = 0; r < h; r++) {
      const sBase = r * w * C;
      const tBase = r * outW * C;
      for (let o = 0; o < outW; o++) {
        const d = tBase + o * C;
        for (let t = cp[o] as number, e = cp[o + 1] as number; t < e; t++) {
          const s = sBase + (ci[t] as number) * C;
          const wt = cw[t] as number;
          for (let k = 0; k < C; k++) tmp[d + k] = (tmp[d + k] as number) + (input[s + k] as number) * wt;
        }
      }
    }
  }
  // Vertical pass, one output row at a time.
  const rowLength = outW * C;
  const acc = new Float64Array(rowLength);
  const isBytes = src instanceof Uint8Array;
  const out = (isBytes ? new Uint8Array(outH * rowLength) : new Float32Array(outH * rowLength)) as T;
  const target = isBytes ? new Uint8ClampedArray(out.buffer) : out;
  const { ptr: rp, index: ri, weight: rw } = rows;
  for (let o = 0; o < outH; o++) {
    acc.fill(0);
    for (let t = rp[o] as number, e = rp[o + 1] as number; t < e; t++) {
      const base = (ri[t] as number) * rowLength;
      const wt = rw[t] as number;
      for (let x = 0; x < rowLength; x++) acc[x] = (acc[x] as number) + (tmp[base + x] as number) * wt;
    }
    target.set(acc, o * rowLength);
  }
  return out;
}
