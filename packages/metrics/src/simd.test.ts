import { fc, test } from '@fast-check/vitest';
import { describe, expect, it, vi } from 'vitest';
import { confusionCounts } from './confusion.ts';
import { countKernel, float32Threshold } from './simd.ts';

// Independent reference: per (image, class), element by element; float predictions are positive when value > threshold.
function reference(pred: ArrayLike<number>, target: ArrayLike<number>, images: number, classes: number, threshold: number) {
  const perImage = pred.length / images;
  const float = pred instanceof Float32Array;
  const tp: number[] = [];
  const fp: number[] = [];
  const fn: number[] = [];
  for (let img = 0; img < images; img++) {
    for (let c = 0; c < classes; c++) {
      let a = 0;
      let b = 0;
      let d = 0;
      for (let k = img * perImage + c; k < (img + 1) * perImage; k += classes) {
        const p = float ? pred[k]! > threshold : pred[k] !== 0;
        const t = target[k] !== 0;
        if (p && t) a++;
        else if (p) b++;
        else if (t) d++;
      }
      tp.push(a);
      fp.push(b);
      fn.push(d);
    }
  }
  return { tp, fp, fn };
}

const next32 = (x: number, up: boolean): number => {
  if (x === 0) return up ? 2 ** -149 : -(2 ** -149);
  const bits = new Int32Array(new Float32Array([x]).buffer);
  bits[0] = bits[0]! + ((x >= 0) === up ? 1 : -1);
  return new Float32Array(bits.buffer)[0]!;
};

// Sizes that cross the kernel's 255-vector blocks and 16320-element chunks, with tails that are not whole vectors.
const pairs = fc
  .record({
    images: fc.integer({ min: 1, max: 2 }),
    pixels: fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 3000, max: 9000 })),
    classes: fc.constantFrom(1, 2, 3, 4, 5),
    predKind: fc.constantFrom('u8', 'u8-255', 'clamped', 'f32'),
    targetKind: fc.constantFrom('u8', 'clamped'),
    predOffset: fc.integer({ min: 0, max: 5 }),
    targetOffset: fc.integer({ min: 0, max: 5 }),
    threshold: fc.constantFrom(0.5, 0.1, 0.3, 1 / 3, 0, -0.25, 1e-40, 2 ** -126),
    seed: fc.integer(),
  })
  .map(({ images, pixels, classes, predKind, targetKind, predOffset, targetOffset, threshold, seed }) => {
    const n = images * pixels * classes;
    let s = seed >>> 0;
    const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const density = rand();
    const t32 = Math.fround(threshold);
    // Values at, just below and just above the threshold (in float32), NaN, signed zeros, and spread values.
    const edges = [threshold, t32, next32(t32, true), next32(t32, false), Number.NaN, 0, -0, Infinity, -Infinity];
    let pred: Uint8Array | Uint8ClampedArray | Float32Array;
    if (predKind === 'f32') {
      pred = new Float32Array(n + predOffset).subarray(predOffset);
      for (let k = 0; k < n; k++) pred[k] = rand() < 0.3 ? edges[Math.floor(rand() * edges.length)]! : 2 * rand() - 0.5;
    } else {
      const on = predKind === 'u8-255' ? 255 : predKind === 'clamped' ? 7 : 1;
      const base = predKind === 'clamped' ? new Uint8ClampedArray(n + predOffset) : new Uint8Array(n + predOffset);
      pred = base.subarray(predOffset);
      for (let k = 0; k < n; k++) pred[k] = rand() < density ? on : 0;
    }
    const tBase = targetKind === 'clamped' ? new Uint8ClampedArray(n + targetOffset) : new Uint8Array(n + targetOffset);
    const target = tBase.subarray(targetOffset);
    for (let k = 0; k < n; k++) target[k] = rand() < density ? (rand() < 0.5 ? 1 : 200) : 0;
    return { pred, target, images, pixels, classes, threshold };
  });

describe('the WebAssembly SIMD counting path', () => {
  it('is available in Node', () => {
    expect(countKernel()).toBeDefined();
  });

  test.prop([pairs], { numRuns: 60 })('equals the element-by-element reference', ({ pred, target, images, pixels, classes, threshold }) => {
    const expected = reference(pred, target, images, classes, threshold);
    const counts = confusionCounts(pred, target, { shape: [images, 1, pixels, classes], threshold });
    expect(Array.from(counts.tp)).toEqual(expected.tp);
    expect(Array.from(counts.fp)).toEqual(expected.fp);
    expect(Array.from(counts.fn)).toEqual(expected.fn);
  });

  test.prop([fc.double({ noNaN: true, noDefaultInfinity: true }), fc.float({ noNaN: true })])(
    'float32Threshold keeps value > threshold for every float32 value',
    (threshold, value) => {
      const t = float32Threshold(threshold);
      expect(Math.fround(t)).toBe(t);
      expect(value > t).toBe(value > threshold);
      expect(t <= threshold).toBe(true);
      expect(next32(t, true) <= threshold).toBe(false);
    },
  );
});

describe('without WebAssembly', () => {
  test.prop([pairs], { numRuns: 30 })('the JavaScript path equals the reference too', async ({ pred, target, images, pixels, classes, threshold }) => {
    vi.resetModules();
    vi.stubGlobal('WebAssembly', undefined);
    try {
      const simd = await import('./simd.ts');
      expect(simd.countKernel()).toBeUndefined();
      const { confusionCounts: jsCounts } = await import('./confusion.ts');
      const expected = reference(pred, target, images, classes, threshold);
      const counts = jsCounts(pred, target, { shape: [images, 1, pixels, classes], threshold });
      expect(Array.from(counts.tp)).toEqual(expected.tp);
      expect(Array.from(counts.fp)).toEqual(expected.fp);
      expect(Array.from(counts.fn)).toEqual(expected.fn);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});
