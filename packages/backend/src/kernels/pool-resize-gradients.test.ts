import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // registers tfjs' gradient functions
import { fc, test } from '@fast-check/vitest';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupBackend } from '../setup-backend.ts';
import { stockKernel } from './register.ts';
import { maxPoolGradOnHeap } from './max-pool-gradient.ts';
import { maxPoolGeometry } from './pool-resize-gradients.ts';
import { maxPoolRef, type PoolCase, randomArray, relativeError } from './reference.test-utils.ts';

const poolCase = fc
  .record({
    B: fc.integer({ min: 1, max: 2 }),
    H: fc.integer({ min: 1, max: 10 }),
    W: fc.integer({ min: 1, max: 10 }),
    // 4, 8 and 12 channels take the heap route on wasm, the others its typed-array fallback.
    C: fc.constantFrom(1, 2, 3, 4, 8, 12),
    KH: fc.integer({ min: 1, max: 3 }),
    KW: fc.integer({ min: 1, max: 3 }),
    sh: fc.integer({ min: 1, max: 2 }),
    sw: fc.integer({ min: 1, max: 2 }),
    pad: fc.constantFrom('same' as const, 'valid' as const),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  })
  .filter((k) => k.pad === 'same' || (k.KH <= k.H && k.KW <= k.W));

// Few distinct values, most of them <= 0: windows full of ties, of zeros (after ReLU) and of negatives.
const TIES = [-2, -1, -1, 0, 0, 0, 0, 1, 1];

function tfjsMaxPool(k: PoolCase, x: Float32Array, dy: Float32Array, OH: number, OW: number) {
  return tf.tidy(() => {
    const xt = tf.tensor4d(x, [k.B, k.H, k.W, k.C]);
    const dyt = tf.tensor4d(dy, [k.B, OH, OW, k.C]);
    const pool = (a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, [k.KH, k.KW], [k.sh, k.sw], k.pad);
    const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(pool(a), dyt)))(xt);
    return { y: pool(xt).dataSync() as Float32Array, dx: dx.dataSync() as Float32Array };
  });
}

describe.each(['wasm', 'cpu'] as const)('MaxPool and MaxPoolGrad on %s', (backend) => {
  beforeAll(async () => {
    await setupBackend({ backend, threads: 1 });
  });

  test.prop([poolCase], { numRuns: 60 })('match a float64 reference with ties and values <= 0', (k) => {
    expect(tf.getBackend()).toBe(backend);
    const { OH, OW } = maxPoolRef(new Float64Array(k.B * k.H * k.W * k.C), null, k);
    const x = randomArray(k.B * k.H * k.W * k.C, k.seed, TIES);
    const dy = randomArray(k.B * OH * OW * k.C, k.seed + 1);
    const ref = maxPoolRef(x, dy, k);
    const got = tfjsMaxPool(k, x, dy, OH, OW);
    expect(Array.from(got.y)).toEqual(Array.from(ref.y));
    expect(relativeError(got.dx, ref.dx)).toBeLessThan(1e-6);
  });
});

describe('MaxPoolGrad on the wasm heap', () => {
  beforeAll(async () => {
    await setupBackend({ backend: 'wasm', threads: 1 });
  });

  const run = (k: PoolCase, x: Float32Array, dy: Float32Array) => {
    const { OH, OW } = maxPoolRef(new Float64Array(k.B * k.H * k.W * k.C), null, k);
    return tf.tidy(() => {
      const input = tf.tensor4d(x, [k.B, k.H, k.W, k.C]);
      const info = maxPoolGeometry(input, { filterSize: [k.KH, k.KW], strides: [k.sh, k.sw], pad: k.pad } as never);
      const out = maxPoolGradOnHeap(tf.backend(), tf.tensor4d(dy, [k.B, OH, OW, k.C]), input, info);
      return out && (tf.engine().makeTensorFromTensorInfo(out).dataSync() as Float32Array);
    });
  };

  it('routes each dy of the ResNet stem pool (3x3, stride 2, same) to its window\'s first maximum, on 64 channels', () => {
    const k: PoolCase = { B: 2, H: 18, W: 22, C: 64, KH: 3, KW: 3, sh: 2, sw: 2, pad: 'same' };
    const x = randomArray(k.B * k.H * k.W * k.C, 3, TIES);
    const { OH, OW } = maxPoolRef(x, null, k);
    const dy = randomArray(k.B * OH * OW * k.C, 4);
    const got = run(k, x, dy);
    expect(got).toBeDefined();
    expect(relativeError(got!, maxPoolRef(x, dy, k).dx)).toBeLessThan(1e-6);
  });

  it('keeps a NaN first value as the maximum and lets NaN elsewhere lose, like the cpu backend', () => {
    const k: PoolCase = { B: 1, H: 2, W: 2, C: 4, KH: 2, KW: 2, sh: 2, sw: 2, pad: 'valid' };
    // Channel 0: NaN first; channel 1: NaN second (1 wins over -1 later); channels 2 and 3: all equal (first wins).
    const x = Float32Array.of(NaN, -1, 5, 5, 0, NaN, 5, 5, 3, -1, 5, 5, 0, 1, 5, 5);
    const got = run(k, x, Float32Array.of(1, 2, 3, 4));
    expect(Array.from(got!)).toEqual([1, 0, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0]);
  });

  it('declines what it does not cover (channels not a multiple of 4), where the typed-array kernel runs', () => {
    const k: PoolCase = { B: 1, H: 4, W: 4, C: 3, KH: 2, KW: 2, sh: 2, sw: 2, pad: 'valid' };
    expect(run(k, randomArray(48, 1), randomArray(12, 2))).toBeUndefined();
  });
});

describe('the stock wasm MaxPoolGrad (why it is replaced)', () => {
  it('misroutes gradients of windows that hold values <= 0', async () => {
    await setupBackend({ backend: 'wasm', threads: 1 });
    const k: PoolCase = { B: 1, H: 8, W: 8, C: 4, KH: 3, KW: 3, sh: 2, sw: 2, pad: 'same' };
    const x = randomArray(256, 7, TIES);
    const dy = randomArray(64, 8);
    const ref = maxPoolRef(x, dy, k);
    const stock = stockKernel('MaxPoolGrad', 'wasm');
    expect(stock).toBeDefined();
    const dx = tf.tidy(() => {
      const xt = tf.tensor4d(x, [1, 8, 8, 4]);
      const inputs = { dy: tf.tensor4d(dy, [1, 4, 4, 4]), input: xt, output: tf.maxPool(xt, 3, 2, 'same') };
      const info = stock!.kernelFunc({ inputs, backend: tf.backend(), attrs: { filterSize: 3, strides: 2, pad: 'same' } }) as tf.TensorInfo;
      return tf.engine().makeTensorFromTensorInfo(info).dataSync();
    });
    expect(relativeError(dx, ref.dx)).toBeGreaterThan(0.1);
  });
});

/** The forward resize as a matrix, read off by resizing one-hot images: m[out * (H·W) + in]. */
function resizeMatrix(kind: 'nearest' | 'bilinear', H: number, W: number, OH: number, OW: number, alignCorners: boolean, halfPixelCenters: boolean) {
  return tf.tidy(() => {
    const eye = tf.reshape(tf.oneHot(tf.range(0, H * W, 1, 'int32'), H * W), [H * W, H, W, 1]) as tf.Tensor4D;
    const y = kind === 'nearest'
      ? tf.image.resizeNearestNeighbor(eye, [OH, OW], alignCorners, halfPixelCenters)
      : tf.image.resizeBilinear(eye, [OH, OW], alignCorners, halfPixelCenters);
    return tf.transpose(tf.reshape(y, [H * W, OH * OW])).dataSync(); // [OH·OW, H·W]
  });
}

const RESIZES = [
  { H: 4, W: 5, OH: 8, OW: 10 },
  { H: 3, W: 3, OH: 7, OW: 5 },
  { H: 6, W: 7, OH: 4, OW: 3 },
  { H: 1, W: 2, OH: 3, OW: 4 },
  { H: 5, W: 4, OH: 5, OW: 4 },
];
const MODES = [
  { alignCorners: false, halfPixelCenters: false },
  { alignCorners: true, halfPixelCenters: false },
  { alignCorners: false, halfPixelCenters: true },
];
const resizeCases = (['nearest', 'bilinear'] as const).flatMap((kind) =>
  RESIZES.flatMap((size) => MODES.map((mode) => ({ kind, ...size, ...mode }))),
);

describe.each(['wasm', 'cpu'] as const)('resize gradients on %s', (backend) => {
  beforeAll(async () => {
    await setupBackend({ backend, threads: 1 });
  });

  it.each(resizeCases)('$kind $H x $W -> $OH x $OW, alignCorners $alignCorners, halfPixelCenters $halfPixelCenters is the adjoint of the forward resize', (c) => {
    const [B, C] = [2, 3];
    const m = resizeMatrix(c.kind, c.H, c.W, c.OH, c.OW, c.alignCorners, c.halfPixelCenters);
    const dy = randomArray(B * c.OH * c.OW * C, 3);
    const ref = new Float64Array(B * c.H * c.W * C);
    for (let b = 0; b < B; b++)
      for (let o = 0; o < c.OH * c.OW; o++)
        for (let i = 0; i < c.H * c.W; i++) {
          const weight = m[o * c.H * c.W + i]!;
          if (weight !== 0) for (let ch = 0; ch < C; ch++) ref[(b * c.H * c.W + i) * C + ch]! += weight * dy[(b * c.OH * c.OW + o) * C + ch]!;
        }
    const got = tf.tidy(() => {
      const x = tf.tensor4d(randomArray(B * c.H * c.W * C, 4), [B, c.H, c.W, C]);
      const dyt = tf.tensor4d(dy, [B, c.OH, c.OW, C]);
      const f = (a: tf.Tensor) => {
        const y = c.kind === 'nearest'
          ? tf.image.resizeNearestNeighbor(a as tf.Tensor4D, [c.OH, c.OW], c.alignCorners, c.halfPixelCenters)
          : tf.image.resizeBilinear(a as tf.Tensor4D, [c.OH, c.OW], c.alignCorners, c.halfPixelCenters);
        return tf.sum(tf.mul(y, dyt));
      };
      return tf.grad(f)(x).dataSync();
    });
    expect(relativeError(got, ref)).toBeLessThan(1e-5);
  });

  it('x2 nearest upsampling has the 2x2 block sum of dy as gradient', () => {
    const [B, H, W, C] = [2, 5, 3, 4];
    const dy = randomArray(B * 2 * H * 2 * W * C, 9);
    const ref = new Float64Array(B * H * W * C);
    for (let b = 0; b < B; b++)
      for (let r = 0; r < 2 * H; r++)
        for (let s = 0; s < 2 * W; s++)
          for (let ch = 0; ch < C; ch++) ref[((b * H + (r >> 1)) * W + (s >> 1)) * C + ch]! += dy[((b * 2 * H + r) * 2 * W + s) * C + ch]!;
    const got = tf.tidy(() =>
      tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.image.resizeNearestNeighbor(a as tf.Tensor4D, [2 * H, 2 * W]), tf.tensor4d(dy, [B, 2 * H, 2 * W, C]))))(
        tf.zeros([B, H, W, C]),
      ).dataSync(),
    );
    expect(relativeError(got, ref)).toBeLessThan(1e-6);
  });
});

describe('the stock cpu resize gradients (why they are replaced)', () => {
  it.each(['ResizeNearestNeighborGrad', 'ResizeBilinearGrad'])('%s fails the adjoint test on x2 upsampling', async (kernelName) => {
    await setupBackend({ backend: 'cpu' });
    const stock = stockKernel(kernelName, 'cpu');
    expect(stock).toBeDefined();
    const [x, dy] = [randomArray(2 * 4 * 5 * 3, 1), randomArray(2 * 8 * 10 * 3, 2)];
    const gap = tf.tidy(() => {
      const xt = tf.tensor4d(x, [2, 4, 5, 3]);
      const dyt = tf.tensor4d(dy, [2, 8, 10, 3]);
      const y = kernelName === 'ResizeBilinearGrad' ? tf.image.resizeBilinear(xt, [8, 10]) : tf.image.resizeNearestNeighbor(xt, [8, 10]);
      const attrs = { alignCorners: false, halfPixelCenters: false, size: [8, 10] };
      const info = stock!.kernelFunc({ inputs: { images: xt, dy: dyt }, backend: tf.backend(), attrs }) as tf.TensorInfo;
      const dx = tf.engine().makeTensorFromTensorInfo(info);
      if (dx.shape.join() !== xt.shape.join()) return Infinity; // not even the input's shape
      const lhs = tf.sum(tf.mul(y, dyt)).dataSync()[0]!;
      return Math.abs(lhs - tf.sum(tf.mul(xt, dx)).dataSync()[0]!) / Math.abs(lhs);
    });
    expect(gap).toBeGreaterThan(1e-2);
  });
});
