// Winograd F(2x2, 3x3) on the heap against float64 references: the forward convolution (with bias and ReLU) and both
// gradients, any padding, odd output sizes, small chunks, plain and relaxed SIMD products, one and two threads.
import v8 from 'node:v8';
import * as tf from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import { fc, test } from '@fast-check/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupBackend } from '../setup-backend.ts';
import { type ConvCase, conv2dGradRef, conv2dRef, convGeometry, dot, randomArray, relativeError } from './reference.test-utils.ts';
import { setProductSimd, tileKernels, type TileKernels } from './gemm.ts';
import { backpropInputShape, type ChunkOptions, winogradConv, winogradFilterGradient, winogradShape, winogradTransforms } from './winograd.ts';

v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

const tfPad = (pad: ConvCase['pad']) =>
  typeof pad === 'string' ? pad : ([[0, 0], [pad[0], pad[1]], [pad[2], pad[3]], [0, 0]] as backend_util.ExplicitPadding);

function read(out: tf.TensorInfo): Float32Array {
  const t = tf.engine().makeTensorFromTensorInfo(out);
  const values = t.dataSync() as Float32Array;
  t.dispose();
  return values;
}

/** Forward output (+ bias, ReLU) and dx of one case by Winograd, with the float64 references. */
function run(kernels: TileKernels, k: ConvCase, seed: number, relu: boolean, chunking: ChunkOptions = {}) {
  const { gh, gw } = convGeometry(k);
  const x = randomArray(k.B * k.H * k.W * k.C, seed);
  const w = randomArray(9 * k.C * k.O, seed + 1);
  const bias = randomArray(k.O, seed + 3);
  const dy = randomArray(k.B * gh.out * gw.out * k.O, seed + 2);
  const info = backend_util.computeConv2DInfo([k.B, k.H, k.W, k.C], [3, 3, k.C, k.O], 1, 1, tfPad(k.pad));
  const backend = tf.backend();
  const transforms = winogradTransforms(backend)!;
  const [xt, wt, bt, dyt] = [tf.tensor4d(x, [k.B, k.H, k.W, k.C]), tf.tensor4d(w, [3, 3, k.C, k.O]), tf.tensor1d(bias), tf.tensor4d(dy, [k.B, gh.out, gw.out, k.O])];
  const y = read(winogradConv(backend, kernels, transforms, xt, wt, winogradShape(info)!, { bias: bt, relu }, chunking));
  const dx = read(winogradConv(backend, kernels, transforms, dyt, wt, backpropInputShape(info)!, { flipped: true }, chunking));
  const dw = read(winogradFilterGradient(backend, kernels, transforms, xt, dyt, winogradShape(info)!, chunking));
  tf.dispose([xt, wt, bt, dyt]);
  const yRef = conv2dRef(x, w, k).y.map((v, i) => v + bias[i % k.O]!).map((v) => (relu ? Math.max(0, v) : v));
  const ref = conv2dGradRef(x, w, dy, k);
  return { x, w, dy, y, dx, dw, yRef, dxRef: ref.dx, dwRef: ref.dw, yPlain: conv2dRef(x, w, k).y };
}

const convCase = fc
  .record({
    B: fc.integer({ min: 1, max: 2 }),
    H: fc.integer({ min: 1, max: 11 }),
    W: fc.integer({ min: 1, max: 11 }),
    C: fc.constantFrom(4, 8, 12),
    O: fc.constantFrom(4, 8, 20),
    pad: fc.oneof(fc.constantFrom('same' as const, 'valid' as const), fc.tuple(fc.nat(2), fc.nat(2), fc.nat(2), fc.nat(2))),
  })
  .map((k) => ({ ...k, KH: 3, KW: 3, sh: 1, sw: 1 }) as ConvCase)
  .filter((k) => {
    if (k.pad === 'same') return true;
    const [t, b, l, r] = k.pad === 'valid' ? [0, 0, 0, 0] : k.pad;
    return 3 <= k.H + t + b && 3 <= k.W + l + r;
  });

describe.each([
  ['plain', 1],
  ['relaxed', 1],
] as const)('Winograd F(2x2, 3x3) with %s SIMD products on %i thread (two threads: wasm-threads.fixture.ts)', (mode, threads) => {
  let kernels: TileKernels;
  beforeAll(async () => {
    await setupBackend({ backend: 'wasm', threads });
    setProductSimd(mode);
    const tiles = tileKernels(tf.backend());
    if (!tiles) throw new Error(`no ${mode} SIMD tile kernels on this runtime`);
    expect(tiles.relaxed).toBe(mode === 'relaxed');
    kernels = tiles;
  });
  afterAll(() => setProductSimd('auto'));

  // Chunks: the defaults, or as few tiles as 1 per chunk (strips: parts of one tile row), padding whole or by strips.
  const chunking = fc.record({ chunkFloats: fc.integer({ min: 1, max: 4096 }), strips: fc.boolean() }, { requiredKeys: ['strips'] });

  test.prop([convCase, fc.boolean(), fc.integer({ min: 0, max: 2 ** 30 }), chunking], { numRuns: 40 })(
    'forward (bias, ReLU), dx and dW match float64 references; dx and dW are adjoint to the forward convolution',
    (k, relu, seed, chunks) => {
      const { x, w, dy, y, dx, dw, yRef, dxRef, dwRef, yPlain } = run(kernels, k, seed, relu, chunks);
      expect(relativeError(y, yRef)).toBeLessThan(1e-5);
      expect(relativeError(dx, dxRef)).toBeLessThan(1e-5);
      expect(relativeError(dw, dwRef)).toBeLessThan(1e-5);
      const scale = Math.sqrt(dot(yPlain, yPlain) * dot(dy, dy)) + 1e-12;
      expect(Math.abs(dot(x, dx) - dot(yPlain, dy)) / scale).toBeLessThan(1e-5);
      expect(Math.abs(dot(w, dw) - dot(yPlain, dy)) / scale).toBeLessThan(1e-5);
    },
  );

  it.each([
    { B: 2, H: 16, W: 40, C: 16, O: 32, KH: 3, KW: 3, sh: 1, sw: 1, pad: 'same' as const },
    { B: 1, H: 9, W: 13, C: 32, O: 8, KH: 3, KW: 3, sh: 1, sw: 1, pad: 'same' as const },
  ])('matches the references on a UNet-like layer, whole, in one-row chunks and in padded strips of a few tiles %o', (k: ConvCase) => {
    for (const chunks of [{}, { chunkFloats: 1, strips: false }, { strips: true }, { chunkFloats: 1, strips: true }, { chunkFloats: 2000, strips: true }]) {
      const { y, dx, dw, yRef, dxRef, dwRef } = run(kernels, k, 11, true, chunks);
      expect(relativeError(y, yRef)).toBeLessThan(1e-5);
      expect(relativeError(dx, dxRef)).toBeLessThan(1e-5);
      expect(relativeError(dw, dwRef)).toBeLessThan(1e-5);
    }
  });
});

describe('winogradShape', () => {
  it('takes only 3x3 stride-1 undilated NHWC convolutions with channels in multiples of 4', () => {
    const shape = (filter: [number, number, number, number], strides: number, dilations: number) =>
      winogradShape(backend_util.computeConv2DInfo([1, 8, 8, filter[2]], filter, strides, dilations, 'same'));
    expect(shape([3, 3, 8, 16], 1, 1)).toMatchObject({ top: 1, left: 1, outHeight: 8, inChannels: 8, outChannels: 16 });
    expect(shape([3, 3, 8, 16], 2, 1)).toBeUndefined();
    expect(shape([3, 3, 8, 16], 1, 2)).toBeUndefined();
    expect(shape([1, 1, 8, 16], 1, 1)).toBeUndefined();
    expect(shape([3, 3, 6, 16], 1, 1)).toBeUndefined();
    expect(shape([3, 3, 8, 10], 1, 1)).toBeUndefined();
  });
});
