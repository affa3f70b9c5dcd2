// The tap route of stride-1 convolutions (conv2d-taps.ts): its runs cover exactly the pixels each tap meets, and the
// forward pass (bias, ReLU), dx and dW match float64 references and are adjoint, with plain and relaxed SIMD products,
// on any padding, filter size and batch, with filter blocks as small as one row. Two threads: wasm-threads.fixture.ts.
import v8 from 'node:v8';
import * as tf from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import { fc, test } from '@fast-check/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupBackend } from '../setup-backend.ts';
import { setProductSimd } from './gemm.ts';
import { backpropFilterByTaps, backpropInputByTaps, conv2dByTaps, forwardFrame, tapRuns } from './conv2d-taps.ts';
import { type ConvCase, conv2dGradRef, conv2dRef, convGeometry, dot, randomArray, relativeError } from './reference.test-utils.ts';

v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

const tfPad = (pad: ConvCase['pad']) =>
  typeof pad === 'string' ? pad : ([[0, 0], [pad[0], pad[1]], [pad[2], pad[3]], [0, 0]] as backend_util.ExplicitPadding);

const infoOf = (k: ConvCase) => backend_util.computeConv2DInfo([k.B, k.H, k.W, k.C], [k.KH, k.KW, k.C, k.O], 1, 1, tfPad(k.pad));

/** Small outputs, as in the deep stages (1 to 4 rows), and any padding, filter size and batch that gives an output. */
const convCase = fc
  .record({
    B: fc.constantFrom(1, 2, 3, 4, 8),
    H: fc.integer({ min: 1, max: 4 }),
    W: fc.integer({ min: 1, max: 9 }),
    C: fc.constantFrom(4, 8, 12, 20),
    O: fc.constantFrom(4, 8, 12, 36),
    KH: fc.integer({ min: 1, max: 5 }),
    KW: fc.integer({ min: 1, max: 5 }),
    pad: fc.oneof(fc.constantFrom('same' as const, 'valid' as const), fc.tuple(fc.nat(3), fc.nat(3), fc.nat(3), fc.nat(3))),
  })
  .map((k) => ({ ...k, sh: 1, sw: 1 }) as ConvCase)
  .filter((k) => {
    const { gh, gw } = convGeometry(k);
    return gh.out >= 1 && gw.out >= 1;
  });

describe('the runs of a tap', () => {
  test.prop([convCase], { numRuns: 200 })('cover each output pixel whose input pixel exists once, at its own rows of x and y', (k) => {
    {
      const frame = forwardFrame(infoOf(k));
      for (let p = 0; p < k.KH; p++) {
        for (let q = 0; q < k.KW; q++) {
          const seen = new Map<number, number>();
          for (const r of tapRuns(frame, p, q)) for (let n = 0; n < r.rows; n++) seen.set(r.y + n, r.x + n);
          const expected = new Map<number, number>();
          for (let i = 0; i < frame.OH; i++) {
            for (let j = 0; j < frame.OW; j++) {
              const [h, w] = [i + p - frame.top, j + q - frame.left];
              if (h < 0 || h >= frame.H || w < 0 || w >= frame.W) continue;
              for (let b = 0; b < frame.B; b++) expected.set((i * frame.OW + j) * frame.B + b, (h * frame.W + w) * frame.B + b);
            }
          }
          expect([...seen].sort((a, b) => a[0] - b[0])).toEqual([...expected].sort((a, b) => a[0] - b[0]));
          expect(tapRuns(frame, p, q).reduce((s, r) => s + r.rows, 0)).toBe(expected.size);
        }
      }
    }
  });

  it('a 3x3 filter on a 1x7 output with same padding: three taps meet the input, 30% of the dense products', () => {
    const info = infoOf({ B: 8, H: 1, W: 7, C: 4, O: 4, KH: 3, KW: 3, sh: 1, sw: 1, pad: 'same' });
    const rows = Array.from({ length: 9 }, (_, t) => tapRuns(forwardFrame(info), Math.floor(t / 3), t % 3).reduce((s, r) => s + r.rows, 0));
    expect(rows).toEqual([0, 0, 0, 48, 56, 48, 0, 0, 0]);
  });
});

describe.each(['plain', 'relaxed'] as const)('the tap route with %s SIMD products on 1 thread', (mode) => {
  beforeAll(async () => {
    await setupBackend({ backend: 'wasm', threads: 1 });
    setProductSimd(mode);
  });
  afterAll(() => setProductSimd('auto'));

  test.prop([convCase, fc.boolean(), fc.integer({ min: 0, max: 2 ** 30 }), fc.constantFrom(undefined, 1, 40)], { numRuns: 40 })(
    'forward (bias, ReLU), dx and dW match float64 references; dx and dW are adjoint to the forward convolution',
    (k, relu, seed, blockFloats) => {
      const info = infoOf(k);
      const { gh, gw } = convGeometry(k);
      const x = randomArray(k.B * k.H * k.W * k.C, seed);
      const w = randomArray(k.KH * k.KW * k.C * k.O, seed + 1);
      const dy = randomArray(k.B * gh.out * gw.out * k.O, seed + 2);
      const bias = randomArray(k.O, seed + 3);
      const backend = tf.backend();
      const [xt, wt, dyt, bt] = [tf.tensor4d(x, [k.B, k.H, k.W, k.C]), tf.tensor4d(w, [k.KH, k.KW, k.C, k.O]), tf.tensor4d(dy, [k.B, gh.out, gw.out, k.O]), tf.tensor1d(bias)];
      const read = (out: tf.TensorInfo | undefined) => {
        const t = tf.engine().makeTensorFromTensorInfo(out!);
        const values = t.dataSync() as Float32Array;
        t.dispose();
        return values;
      };
      const y = read(conv2dByTaps(backend, xt, wt, bt, relu, info, blockFloats));
      const yPlain = read(conv2dByTaps(backend, xt, wt, undefined, false, info, blockFloats));
      const dxTaps = backpropInputByTaps(backend, dyt, wt, info);
      // dx by taps needs runs of a multiple of 4 rows: a batch of 4, or rows that happen to be.
      if (k.B % 4 === 0) expect(dxTaps).toBeDefined();
      const dx = dxTaps ? read(dxTaps) : null;
      const dw = read(backpropFilterByTaps(backend, xt, dyt, info));
      tf.dispose([xt, wt, dyt, bt]);
      const plain = conv2dRef(x, w, k).y;
      const yRef = plain.map((v, i) => v + bias[i % k.O]!).map((v) => (relu ? Math.max(0, v) : v));
      const ref = conv2dGradRef(x, w, dy, k);
      expect(relativeError(y, yRef)).toBeLessThan(1e-5);
      expect(relativeError(yPlain, plain)).toBeLessThan(1e-5);
      if (dx) expect(relativeError(dx, ref.dx)).toBeLessThan(1e-5);
      expect(relativeError(dw, ref.dw)).toBeLessThan(1e-5);
      const scale = Math.sqrt(dot(yPlain, yPlain) * dot(dy, dy)) + 1e-12;
      if (dx) expect(Math.abs(dot(x, dx) - dot(yPlain, dy)) / scale).toBeLessThan(1e-5);
      expect(Math.abs(dot(w, dw) - dot(yPlain, dy)) / scale).toBeLessThan(1e-5);
    },
  );

  it('declines strides, dilations and channel counts that are not a multiple of 4', () => {
    const x = tf.zeros([1, 4, 4, 8]);
    const w = tf.zeros([3, 3, 8, 6]);
    const dy = tf.zeros([1, 4, 4, 6]);
    const strided = backend_util.computeConv2DInfo([1, 4, 4, 8], [3, 3, 8, 8], 2, 1, 'same');
    const odd = backend_util.computeConv2DInfo([1, 4, 4, 8], [3, 3, 8, 6], 1, 1, 'same');
    expect(conv2dByTaps(tf.backend(), x, w, undefined, false, strided)).toBeUndefined();
    expect(conv2dByTaps(tf.backend(), x, w, undefined, false, odd)).toBeUndefined();
    expect(backpropFilterByTaps(tf.backend(), x, dy, odd)).toBeUndefined();
    const dilated = backend_util.computeConv2DInfo([1, 4, 4, 8], [3, 3, 8, 8], 1, 2, 'same');
    expect(backpropInputByTaps(tf.backend(), x, w, dilated)).toBeUndefined();
    tf.dispose([x, w, dy]);
  });
});
