import * as tf from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // registers tfjs' gradient functions
import { fc, test } from '@fast-check/vitest';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupBackend } from '../setup-backend.ts';
import { type ConvCase, convGeometry, conv2dGradRef, conv2dRef, dot, randomArray, relativeError } from './reference.test-utils.ts';
import { stockKernel } from './register.ts';
import { createConv2DBackpropFilter, matMulRunner } from './conv2d-gradients.ts';
import { conv2dOnHeap } from './conv2d-products.ts';

const convCase = fc
  .record({
    B: fc.integer({ min: 1, max: 2 }),
    H: fc.integer({ min: 1, max: 11 }),
    W: fc.integer({ min: 1, max: 11 }),
    C: fc.integer({ min: 1, max: 9 }),
    O: fc.integer({ min: 1, max: 5 }),
    KH: fc.integer({ min: 1, max: 4 }),
    KW: fc.integer({ min: 1, max: 4 }),
    sh: fc.integer({ min: 1, max: 2 }),
    sw: fc.integer({ min: 1, max: 2 }),
    pad: fc.oneof(
      fc.constantFrom('same' as const, 'valid' as const),
      fc.tuple(fc.nat(4), fc.nat(4), fc.nat(4), fc.nat(4)),
    ),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  })
  .filter((k) => {
    if (k.pad === 'same') return true;
    const [t, b, l, r] = k.pad === 'valid' ? [0, 0, 0, 0] : k.pad;
    return k.KH <= k.H + t + b && k.KW <= k.W + l + r;
  });

const tfPad = (pad: ConvCase['pad']) => (typeof pad === 'string' ? pad : ([[0, 0], [pad[0], pad[1]], [pad[2], pad[3]], [0, 0]] as tf.backend_util.ExplicitPadding));

/** Runs the gradient of sum(conv2d(x, w) · dy) through the engine, i.e. through the registered kernels. */
function tfjsGrads(k: ConvCase, x: Float32Array, w: Float32Array, dy: Float32Array, OH: number, OW: number) {
  return tf.tidy(() => {
    const xt = tf.tensor4d(x, [k.B, k.H, k.W, k.C]);
    const wt = tf.tensor4d(w, [k.KH, k.KW, k.C, k.O]);
    const dyt = tf.tensor4d(dy, [k.B, OH, OW, k.O]);
    const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, [k.sh, k.sw], tfPad(k.pad)), dyt));
    const [gx, gw] = tf.grads(f)([xt, wt]);
    const y = tf.conv2d(xt, wt, [k.sh, k.sw], tfPad(k.pad));
    return { dx: gx!.dataSync() as Float32Array, dw: gw!.dataSync() as Float32Array, y: y.dataSync() as Float32Array };
  });
}

describe('wasm Conv2DBackpropFilter and Conv2DBackpropInput', () => {
  beforeAll(async () => {
    await setupBackend({ backend: 'wasm', threads: 1 });
  });

  test.prop([convCase], { numRuns: 80 })('match a float64 reference and are adjoint to the forward conv', (k) => {
    expect(tf.getBackend()).toBe('wasm');
    const { gh, gw } = convGeometry(k);
    const [OH, OW] = [gh.out, gw.out];
    const x = randomArray(k.B * k.H * k.W * k.C, k.seed);
    const w = randomArray(k.KH * k.KW * k.C * k.O, k.seed + 1);
    const dy = randomArray(k.B * OH * OW * k.O, k.seed + 2);
    const got = tfjsGrads(k, x, w, dy, OH, OW);
    const ref = conv2dGradRef(x, w, dy, k);
    expect(relativeError(got.dx, ref.dx)).toBeLessThan(1e-5);
    expect(relativeError(got.dw, ref.dw)).toBeLessThan(1e-5);
    expect(relativeError(got.y, conv2dRef(x, w, k).y)).toBeLessThan(1e-5);
    // Adjoint: <conv(x, w), dy> = <x, dX(dy)> = <w, dW(dy)>, all from the backend's own float32 results.
    const yDotDy = dot(got.y, dy);
    const scale = Math.sqrt(dot(got.y, got.y) * dot(dy, dy)) + 1e-12;
    expect(Math.abs(dot(x, got.dx) - yDotDy) / scale).toBeLessThan(1e-5);
    expect(Math.abs(dot(w, got.dw) - yDotDy) / scale).toBeLessThan(1e-5);
  });

  it.each([
    { B: 2, H: 33, W: 31, C: 8, O: 16, KH: 3, KW: 3, sh: 2, sw: 2, pad: 'same' as const },
    { B: 1, H: 30, W: 40, C: 3, O: 8, KH: 7, KW: 7, sh: 2, sw: 2, pad: 'same' as const },
    { B: 2, H: 17, W: 12, C: 16, O: 4, KH: 1, KW: 1, sh: 2, sw: 2, pad: 'valid' as const },
    { B: 2, H: 9, W: 11, C: 12, O: 6, KH: 3, KW: 3, sh: 2, sw: 2, pad: 'valid' as const },
    // Deep layers (no more output pixels than output channels): forward, dx and dW as products on the weights.
    { B: 2, H: 4, W: 3, C: 8, O: 96, KH: 3, KW: 3, sh: 1, sw: 1, pad: 'same' as const },
    { B: 1, H: 5, W: 6, C: 6, O: 40, KH: 3, KW: 3, sh: 2, sw: 2, pad: [1, 1, 1, 1] as ConvCase['pad'] },
    { B: 2, H: 6, W: 4, C: 5, O: 12, KH: 1, KW: 1, sh: 2, sw: 2, pad: 'valid' as const },
    // Padding as large as the filter: dx by matrix product and scatter-add whatever the channels.
    { B: 1, H: 6, W: 5, C: 7, O: 3, KH: 2, KW: 3, sh: 1, sw: 2, pad: [3, 1, 0, 4] as ConvCase['pad'] },
  ])('matches the reference on a ResNet-like layer %o', (k: ConvCase) => {
    const { gh, gw } = convGeometry(k);
    const [OH, OW] = [gh.out, gw.out];
    const x = randomArray(k.B * k.H * k.W * k.C, 11);
    const w = randomArray(k.KH * k.KW * k.C * k.O, 12);
    const dy = randomArray(k.B * OH * OW * k.O, 13);
    const got = tfjsGrads(k, x, w, dy, OH, OW);
    const ref = conv2dGradRef(x, w, dy, k);
    expect(relativeError(got.dx, ref.dx)).toBeLessThan(1e-5);
    expect(relativeError(got.dw, ref.dw)).toBeLessThan(1e-5);
    expect(relativeError(got.y, conv2dRef(x, w, k).y)).toBeLessThan(1e-5);
  });

  it.each([
    { activation: 'linear' as const, bias: true },
    { activation: 'relu' as const, bias: true },
    { activation: 'relu' as const, bias: false },
    { activation: 'elu' as const, bias: true },
  ])('FusedConv2D of a deep layer matches the reference with %o', ({ activation, bias }) => {
    const k: ConvCase = { B: 2, H: 3, W: 3, C: 7, O: 80, KH: 3, KW: 3, sh: 1, sw: 1, pad: 'same' };
    const x = randomArray(k.B * k.H * k.W * k.C, 71);
    const w = randomArray(k.KH * k.KW * k.C * k.O, 72);
    const b = randomArray(k.O, 73);
    const act = (v: number) => (activation === 'relu' ? Math.max(0, v) : activation === 'elu' ? (v < 0 ? Math.exp(v) - 1 : v) : v);
    const ref = conv2dRef(x, w, k).y.map((v, i) => act(v + (bias ? b[i % k.O]! : 0)));
    const got = tf.tidy(() =>
      tf.fused
        .conv2d({
          x: tf.tensor4d(x, [k.B, k.H, k.W, k.C]),
          filter: tf.tensor4d(w, [k.KH, k.KW, k.C, k.O]),
          strides: 1,
          pad: 'same',
          ...(bias ? { bias: tf.tensor1d(b) } : {}),
          activation,
        })
        .dataSync(),
    );
    expect(relativeError(got, ref)).toBeLessThan(1e-5);
  });

  it.each([1, 50, 700, 1 << 17])('a deep layer forward by heap products (bias, ReLU) matches the reference with filter blocks of %i floats', (block) => {
    const k: ConvCase = { B: 2, H: 3, W: 4, C: 12, O: 40, KH: 3, KW: 3, sh: 1, sw: 1, pad: 'same' };
    const x = randomArray(k.B * k.H * k.W * k.C, 81);
    const w = randomArray(k.KH * k.KW * k.C * k.O, 82);
    const b = randomArray(k.O, 83);
    const ref = conv2dRef(x, w, k).y.map((v, i) => Math.max(0, v + b[i % k.O]!));
    const info = backend_util.computeConv2DInfo([k.B, k.H, k.W, k.C], [3, 3, k.C, k.O], 1, 1, 'same');
    const got = tf.tidy(() => {
      const [xt, wt, bt] = [tf.tensor4d(x, [k.B, k.H, k.W, k.C]), tf.tensor4d(w, [3, 3, k.C, k.O]), tf.tensor1d(b)];
      return tf.engine().makeTensorFromTensorInfo(conv2dOnHeap(tf.backend(), xt, wt, bt, true, info, block)!).dataSync();
    });
    expect(relativeError(got, ref)).toBeLessThan(1e-5);
  });

  it.each([1, 7, 40])('Conv2DBackpropFilter gives the same dW when its product is split (operand limit %i floats)', (limit) => {
    const k: ConvCase = { B: 2, H: 7, W: 6, C: 3, O: 5, KH: 3, KW: 2, sh: 2, sw: 1, pad: 'same' };
    const { gh, gw } = convGeometry(k);
    const x = randomArray(k.B * k.H * k.W * k.C, 61);
    const dy = randomArray(k.B * gh.out * gw.out * k.O, 62);
    const kernel = createConv2DBackpropFilter(matMulRunner((stockKernel('BatchMatMul', 'wasm') ?? tf.getKernel('BatchMatMul', 'wasm')).kernelFunc), limit);
    const dw = tf.tidy(() => {
      const xt = tf.tensor4d(x, [k.B, k.H, k.W, k.C]);
      const dyt = tf.tensor4d(dy, [k.B, gh.out, gw.out, k.O]);
      const attrs = { strides: [k.sh, k.sw], pad: k.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: [k.KH, k.KW, k.C, k.O] };
      const out = kernel({ inputs: { x: xt, dy: dyt }, backend: tf.backend(), attrs: attrs as unknown as tf.NamedAttrMap }) as tf.TensorInfo;
      return tf.engine().makeTensorFromTensorInfo(out).dataSync();
    });
    expect(relativeError(dw, conv2dGradRef(x, randomArray(k.KH * k.KW * k.C * k.O, 63), dy, k).dw)).toBeLessThan(1e-5);
  });
});
