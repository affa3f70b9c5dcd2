// The webgpu kernels a segmentation model trains through, against float64 references and adjoint identities. They run
// on any Vulkan adapter (llvmpipe here: tiny shapes) and are skipped with a message where webgpu does not start.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // registers tfjs' gradient functions
import { fc, test } from '@fast-check/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAndDispose, webgpuGate } from '../../../../tooling/vitest/webgpu.ts';
import { setupBackend } from '../setup-backend.ts';
import { fusedBatchNormGradConfig } from './batch-norm-gradient.ts';
import { stockKernel } from './register.ts';
import {
  type ConvCase,
  conv2dGradRef,
  conv2dRef,
  convGeometry,
  dot,
  maxPoolRef,
  type PoolCase,
  randomArray,
  relativeError,
  trainingBatchNormRef,
} from './reference.test-utils.ts';

const gate = await webgpuGate('backend', tf);

const tfPad = (pad: ConvCase['pad']) => (typeof pad === 'string' ? pad : ([[0, 0], [pad[0], pad[1]], [pad[2], pad[3]], [0, 0]] as tf.backend_util.ExplicitPadding));

describe.skipIf(gate.skip)('webgpu kernels', () => {
  beforeAll(async () => {
    gate.require();
    await setupBackend({ backend: 'webgpu' });
  });
  afterAll(async () => {
    await setupBackend({ backend: 'wasm', threads: 1 });
  });

  /** y, dx and dW of sum(conv2d(x, w) · dy) through the registered kernels, and the float64 reference. */
  async function convCheck(k: ConvCase, seed: number) {
    expect(tf.getBackend()).toBe('webgpu');
    const { gh, gw } = convGeometry(k);
    const x = randomArray(k.B * k.H * k.W * k.C, seed);
    const w = randomArray(k.KH * k.KW * k.C * k.O, seed + 1);
    const dy = randomArray(k.B * gh.out * gw.out * k.O, seed + 2);
    const [y, dx, dw] = await readAndDispose(
      ...tf.tidy(() => {
        const xt = tf.tensor4d(x, [k.B, k.H, k.W, k.C]);
        const wt = tf.tensor4d(w, [k.KH, k.KW, k.C, k.O]);
        const dyt = tf.tensor4d(dy, [k.B, gh.out, gw.out, k.O]);
        const conv = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, [k.sh, k.sw], tfPad(k.pad));
        const [gx, gwt] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a, b), dyt)))([xt, wt]);
        return [conv(xt, wt), gx!, gwt!];
      }),
    );
    const ref = conv2dGradRef(x, w, dy, k);
    expect(relativeError(y!, conv2dRef(x, w, k).y)).toBeLessThan(1e-5);
    expect(relativeError(dx!, ref.dx)).toBeLessThan(1e-5);
    expect(relativeError(dw!, ref.dw)).toBeLessThan(1e-5);
    // Adjoint: <conv(x, w), dy> = <x, dX(dy)> = <w, dW(dy)>, from the backend's own float32 results.
    const yDotDy = dot(y!, dy);
    const scale = Math.sqrt(dot(y!, y!) * dot(dy, dy)) + 1e-12;
    expect(Math.abs(dot(x, dx!) - yDotDy) / scale).toBeLessThan(1e-5);
    expect(Math.abs(dot(w, dw!) - yDotDy) / scale).toBeLessThan(1e-5);
  }

  it.each([
    // The layers of UNet/FPN on ResNet: 7x7/2 stem, 3x3/2 and 1x1/2 downsampling, 3x3 blocks, deep layers, the 1x1 head.
    { B: 2, H: 16, W: 12, C: 1, O: 8, KH: 7, KW: 7, sh: 2, sw: 2, pad: [3, 3, 3, 3] as ConvCase['pad'] },
    { B: 1, H: 15, W: 17, C: 3, O: 8, KH: 7, KW: 7, sh: 2, sw: 2, pad: 'same' as const },
    { B: 2, H: 9, W: 8, C: 8, O: 16, KH: 3, KW: 3, sh: 2, sw: 2, pad: [1, 1, 1, 1] as ConvCase['pad'] },
    { B: 2, H: 8, W: 6, C: 8, O: 16, KH: 1, KW: 1, sh: 2, sw: 2, pad: 'valid' as const },
    { B: 2, H: 6, W: 5, C: 12, O: 12, KH: 3, KW: 3, sh: 1, sw: 1, pad: 'same' as const },
    { B: 2, H: 2, W: 1, C: 40, O: 96, KH: 3, KW: 3, sh: 1, sw: 1, pad: 'same' as const },
    { B: 1, H: 7, W: 5, C: 6, O: 4, KH: 1, KW: 1, sh: 1, sw: 1, pad: 'valid' as const },
    // Uneven 'same' padding with a non-square kernel and strides (what broke wasm).
    { B: 1, H: 6, W: 7, C: 3, O: 5, KH: 2, KW: 3, sh: 1, sw: 2, pad: 'same' as const },
  ])('Conv2D, Conv2DBackpropInput and Conv2DBackpropFilter match the reference on %o', (k: ConvCase) => convCheck(k, 11));

  test.prop(
    [
      fc.record({
        B: fc.integer({ min: 1, max: 2 }),
        H: fc.integer({ min: 1, max: 9 }),
        W: fc.integer({ min: 1, max: 9 }),
        C: fc.integer({ min: 1, max: 6 }),
        O: fc.integer({ min: 1, max: 5 }),
        KH: fc.integer({ min: 1, max: 4 }),
        KW: fc.integer({ min: 1, max: 4 }),
        sh: fc.integer({ min: 1, max: 2 }),
        sw: fc.integer({ min: 1, max: 2 }),
        seed: fc.integer({ min: 0, max: 2 ** 30 }),
      }),
    ],
    { numRuns: 12 },
  )("Conv2D and its gradients match the reference for any kernel and stride with 'same' padding", ({ seed, ...s }) =>
    convCheck({ ...s, pad: 'same' }, seed),
  );

  it.each([
    { activation: 'linear' as const, bias: true },
    { activation: 'relu' as const, bias: true },
    { activation: 'relu' as const, bias: false },
  ])('FusedConv2D matches the reference with %o', async ({ activation, bias }) => {
    const k: ConvCase = { B: 2, H: 5, W: 4, C: 7, O: 9, KH: 3, KW: 3, sh: 1, sw: 1, pad: 'same' };
    const x = randomArray(k.B * k.H * k.W * k.C, 71);
    const w = randomArray(k.KH * k.KW * k.C * k.O, 72);
    const b = randomArray(k.O, 73);
    const ref = conv2dRef(x, w, k).y.map((v, i) => {
      const z = v + (bias ? b[i % k.O]! : 0);
      return activation === 'relu' ? Math.max(0, z) : z;
    });
    const input = { x: tf.tensor4d(x, [k.B, k.H, k.W, k.C]), filter: tf.tensor4d(w, [k.KH, k.KW, k.C, k.O]), ...(bias ? { bias: tf.tensor1d(b) } : {}) };
    const [got] = await readAndDispose(tf.fused.conv2d({ ...input, strides: 1, pad: 'same', activation }));
    tf.dispose(Object.values(input));
    expect(relativeError(got!, ref)).toBeLessThan(1e-5);
  });

  // Few distinct values, most of them <= 0: windows full of ties, of zeros (after ReLU) and of negatives.
  const TIES = [-2, -1, -1, 0, 0, 0, 0, 1, 1];
  it.each([
    { B: 2, H: 8, W: 8, C: 4, KH: 3, KW: 3, sh: 2, sw: 2, pad: 'same' as const },
    { B: 1, H: 7, W: 9, C: 3, KH: 3, KW: 3, sh: 2, sw: 2, pad: 'same' as const },
    { B: 2, H: 6, W: 5, C: 2, KH: 2, KW: 2, sh: 2, sw: 2, pad: 'valid' as const },
  ])('MaxPool and MaxPoolGrad match the reference with ties and values <= 0 on %o', async (k: PoolCase) => {
    const { OH, OW } = maxPoolRef(new Float64Array(k.B * k.H * k.W * k.C), null, k);
    const x = randomArray(k.B * k.H * k.W * k.C, 5, TIES);
    const dy = randomArray(k.B * OH * OW * k.C, 6);
    const ref = maxPoolRef(x, dy, k);
    const [y, dx] = await readAndDispose(
      ...tf.tidy(() => {
        const xt = tf.tensor4d(x, [k.B, k.H, k.W, k.C]);
        const pool = (a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, [k.KH, k.KW], [k.sh, k.sw], k.pad);
        return [pool(xt), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(pool(a), tf.tensor4d(dy, [k.B, OH, OW, k.C]))))(xt)];
      }),
    );
    expect(Array.from(y!)).toEqual(Array.from(ref.y));
    expect(relativeError(dx!, ref.dx)).toBeLessThan(1e-6);
  });

  it.each([
    { kind: 'nearest' as const, H: 4, W: 5, OH: 8, OW: 10, alignCorners: false, halfPixelCenters: false },
    { kind: 'nearest' as const, H: 3, W: 3, OH: 7, OW: 5, alignCorners: false, halfPixelCenters: true },
    { kind: 'nearest' as const, H: 3, W: 3, OH: 7, OW: 5, alignCorners: true, halfPixelCenters: false },
    { kind: 'bilinear' as const, H: 4, W: 5, OH: 8, OW: 10, alignCorners: false, halfPixelCenters: false },
    { kind: 'bilinear' as const, H: 2, W: 2, OH: 8, OW: 8, alignCorners: true, halfPixelCenters: false },
    { kind: 'bilinear' as const, H: 6, W: 7, OH: 4, OW: 3, alignCorners: false, halfPixelCenters: true },
  ])('$kind resize $H x $W -> $OH x $OW (alignCorners $alignCorners, halfPixelCenters $halfPixelCenters): forward equals cpu, gradient is its adjoint', async (c) => {
    const [B, C] = [2, 3];
    const x = randomArray(B * c.H * c.W * C, 4);
    const dy = randomArray(B * c.OH * c.OW * C, 3);
    const resize = (a: tf.Tensor) =>
      c.kind === 'nearest'
        ? tf.image.resizeNearestNeighbor(a as tf.Tensor4D, [c.OH, c.OW], c.alignCorners, c.halfPixelCenters)
        : tf.image.resizeBilinear(a as tf.Tensor4D, [c.OH, c.OW], c.alignCorners, c.halfPixelCenters);
    const run = () =>
      tf.tidy(() => {
        const xt = tf.tensor4d(x, [B, c.H, c.W, C]);
        return [resize(xt), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(resize(a), tf.tensor4d(dy, [B, c.OH, c.OW, C]))))(xt)];
      });
    const [y, dx] = await readAndDispose(...run());
    await setupBackend({ backend: 'cpu' }); // cpu's resize gradients are this package's float64-tested ones
    const [yCpu, dxCpu] = await readAndDispose(...run());
    await setupBackend({ backend: 'webgpu' });
    expect(relativeError(y!, yCpu!)).toBeLessThan(1e-6);
    const lhs = dot(y!, dy);
    expect(Math.abs(lhs - dot(x, dx!)) / (Math.sqrt(dot(y!, y!) * dot(dy, dy)) + 1e-12)).toBeLessThan(1e-5);
    expect(relativeError(dx!, dxCpu!)).toBeLessThan(1e-5);
  });

  it('the stock MaxPoolGrad gives ties to the last maximum, and the stock resize gradients miss halfPixelCenters (why they are replaced)', async () => {
    const run = (kernelName: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap) =>
      tf.engine().makeTensorFromTensorInfo(stockKernel(kernelName, 'webgpu')!.kernelFunc({ inputs, backend: tf.backend(), attrs }) as tf.TensorInfo);
    const k: PoolCase = { B: 1, H: 6, W: 6, C: 2, KH: 2, KW: 2, sh: 2, sw: 2, pad: 'valid' };
    const x = randomArray(72, 9, TIES);
    const dy = randomArray(18, 10);
    const pool = { filterSize: 2, strides: 2, pad: 'valid' };
    const xt = tf.tensor4d(x, [1, 6, 6, 2]);
    const y = tf.maxPool(xt, 2, 2, 'valid');
    const dyt = tf.tensor4d(dy, [1, 3, 3, 2]);
    const [poolDx] = await readAndDispose(run('MaxPoolGrad', { dy: dyt, input: xt, output: y }, pool), dyt);
    expect(relativeError(poolDx!, maxPoolRef(x, dy, k).dx)).toBeGreaterThan(0.1);
    // Bilinear 6x7 -> 4x3 with half-pixel centres: the stock gradient fails the adjoint identity <resize(a), g> = <a, dx(g)>.
    const a = tf.tensor4d(randomArray(42, 11), [1, 6, 7, 1]);
    const g = tf.tensor4d(randomArray(12, 12), [1, 4, 3, 1]);
    const resized = tf.image.resizeBilinear(a, [4, 3], false, true);
    const [resizeDx, av, gv, rv] = await readAndDispose(run('ResizeBilinearGrad', { images: a, dy: g }, { alignCorners: false, halfPixelCenters: true }), a, g, resized);
    expect(Math.abs(dot(rv!, gv!) - dot(av!, resizeDx!)) / Math.sqrt(dot(rv!, rv!) * dot(gv!, gv!))).toBeGreaterThan(1e-3);
    tf.dispose([xt, y]);
  });

  it('gives the training-mode batch-norm gradient through tf.moments (float64 reference and finite differences)', async () => {
    expect(tf.getGradient('FusedBatchNorm')).toBe(fusedBatchNormGradConfig);
    const [shape, C, n, EPS] = [[2, 5, 6, 4], 4, 240, 1e-3];
    const x = randomArray(n, 31).map((v, i) => 3 * v + (i % C));
    const gamma = randomArray(C, 32);
    const dy = randomArray(n, 34);
    const ref = trainingBatchNormRef(x, gamma, dy, C, EPS);
    const f = (xt: tf.Tensor, g: tf.Tensor) => {
      const { mean, variance } = tf.moments(xt, [0, 1, 2]);
      return tf.sum(tf.mul(tf.batchNorm(xt, mean, variance, tf.zeros([C]), g, EPS), tf.tensor(dy, shape)));
    };
    const [dx, dGamma] = await readAndDispose(...tf.tidy(() => tf.grads(f as (...t: tf.Tensor[]) => tf.Tensor)([tf.tensor(x, shape), tf.tensor(gamma)])));
    expect(relativeError(dx!, ref.dx)).toBeLessThan(1e-4);
    expect(relativeError(dGamma!, ref.dGamma)).toBeLessThan(1e-5);
    // Central differences of the float32 forward pass along a random direction of (x, γ).
    const [vx, vg, h] = [randomArray(n, 35), randomArray(C, 36), 1e-2];
    const at = async (t: number) => {
      const [v] = await readAndDispose(tf.tidy(() => f(tf.tensor(x.map((a, i) => a + t * vx[i]!), shape), tf.tensor(gamma.map((a, i) => a + t * vg[i]!)))));
      return v![0]!;
    };
    const numeric = ((await at(h)) - (await at(-h))) / (2 * h);
    const analytic = dot(dx!, vx) + dot(dGamma!, vg);
    expect(Math.abs(numeric - analytic) / Math.abs(analytic)).toBeLessThan(1e-2);
  });
});
