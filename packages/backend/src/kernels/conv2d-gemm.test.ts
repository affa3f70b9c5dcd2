// The heap product kernels (gemm.ts) and the convolution gradients built on them (conv2d-gemm.ts), with plain SIMD and
// with relaxed SIMD (fused multiply-add), against float64 references, plus the adjoint identity of the gradients.
import v8 from 'node:v8';
import * as tf from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import { fc, test } from '@fast-check/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupBackend } from '../setup-backend.ts';
import { type ConvCase, conv2dGradRef, conv2dRef, convGeometry, dot, randomArray, relativeError } from './reference.test-utils.ts';
import { heapFloats, multiplyAdd, setProductSimd, tileKernels, type TileKernels } from './gemm.ts';
import { backpropFilterOnHeap, backpropInputOnHeap } from './conv2d-gemm.ts';

// Node 20 validates relaxed SIMD only behind this flag (Node 22 has it on); it applies to modules compiled afterwards.
v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

const MODES = ['plain', 'relaxed'] as const;

function kernelsFor(mode: (typeof MODES)[number]): TileKernels {
  setProductSimd(mode);
  const kernels = tileKernels(tf.backend());
  if (!kernels) throw new Error(`no ${mode} SIMD tile kernels on this runtime`);
  expect(kernels.relaxed).toBe(mode === 'relaxed');
  return kernels;
}

const tfPad = (pad: ConvCase['pad']) =>
  typeof pad === 'string' ? pad : ([[0, 0], [pad[0], pad[1]], [pad[2], pad[3]], [0, 0]] as backend_util.ExplicitPadding);

/** Runs both heap gradients of one case and returns them with the float64 reference and the forward output. */
function gradients(kernels: TileKernels, k: ConvCase, seed: number, blockFloats?: number) {
  const { gh, gw } = convGeometry(k);
  const x = randomArray(k.B * k.H * k.W * k.C, seed);
  const w = randomArray(k.KH * k.KW * k.C * k.O, seed + 1);
  const dy = randomArray(k.B * gh.out * gw.out * k.O, seed + 2);
  const info = backend_util.computeConv2DInfo([k.B, k.H, k.W, k.C], [k.KH, k.KW, k.C, k.O], [k.sh, k.sw], 1, tfPad(k.pad));
  const backend = tf.backend();
  const xt = tf.tensor4d(x, [k.B, k.H, k.W, k.C]);
  const wt = tf.tensor4d(w, [k.KH, k.KW, k.C, k.O]);
  const dyt = tf.tensor4d(dy, [k.B, gh.out, gw.out, k.O]);
  const read = (out: tf.TensorInfo) => {
    const t = tf.engine().makeTensorFromTensorInfo(out);
    const values = t.dataSync() as Float32Array;
    t.dispose();
    return values;
  };
  const got = {
    dw: k.O % 4 === 0 ? read(backpropFilterOnHeap(backend, kernels, xt, dyt, info, blockFloats)) : null,
    dx: k.C % 4 === 0 ? read(backpropInputOnHeap(backend, kernels, dyt, wt, info, blockFloats)) : null,
  };
  tf.dispose([xt, wt, dyt]);
  return { x, w, dy, got, ref: conv2dGradRef(x, w, dy, k), y: conv2dRef(x, w, k).y };
}

const convCase = fc
  .record({
    B: fc.integer({ min: 1, max: 2 }),
    H: fc.integer({ min: 1, max: 10 }),
    W: fc.integer({ min: 1, max: 10 }),
    C: fc.constantFrom(1, 3, 4, 8, 12),
    O: fc.constantFrom(4, 8, 12, 20),
    KH: fc.integer({ min: 1, max: 4 }),
    KW: fc.integer({ min: 1, max: 4 }),
    sh: fc.integer({ min: 1, max: 2 }),
    sw: fc.integer({ min: 1, max: 2 }),
    pad: fc.oneof(fc.constantFrom('same' as const, 'valid' as const), fc.tuple(fc.nat(3), fc.nat(3), fc.nat(3), fc.nat(3))),
  })
  .filter((k) => {
    if (k.pad === 'same') return true;
    const [t, b, l, r] = k.pad === 'valid' ? [0, 0, 0, 0] : k.pad;
    return k.KH <= k.H + t + b && k.KW <= k.W + l + r;
  });

describe.each(MODES)('heap product kernels with %s SIMD', (mode) => {
  let kernels: TileKernels;
  beforeAll(async () => {
    await setupBackend({ backend: 'wasm', threads: 1 });
    kernels = kernelsFor(mode);
  });
  afterAll(() => setProductSimd('auto'));

  test.prop([fc.integer({ min: 1, max: 13 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 40 }), fc.nat(3), fc.nat(7)], { numRuns: 40 })(
    'multiplyAdd adds A·B to C as a float64 product does (any rows, 4k columns, strided operands)',
    (m, n4, k, padA, padC) => {
      const n = 4 * n4;
      const [lda, ldb, ldc] = [k + padA, n + 4, n + 4 * padC];
      const a = randomArray(m * lda, 1);
      const b = randomArray(k * ldb, 2);
      const c = randomArray(m * ldc, 3);
      const expected = Float64Array.from(c);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let q = 0; q < k; q++) expected[i * ldc + j]! += a[i * lda + q]! * b[q * ldb + j]!;
      const got = tf.tidy(() => {
        const [at, bt, ct] = [tf.tensor1d(a), tf.tensor1d(b), tf.tensor1d(c)];
        const backend = tf.backend();
        multiplyAdd(kernels, { a: heapFloats(backend, at), lda, b: heapFloats(backend, bt), ldb, c: heapFloats(backend, ct), ldc, m, n, k });
        return ct.dataSync() as Float32Array;
      });
      // Padding columns of C (j >= n) must be untouched.
      expect(relativeError(got, expected)).toBeLessThan(1e-6);
      for (let i = 0; i < m; i++) for (let j = n; j < ldc; j++) expect(got[i * ldc + j]).toBe(c[i * ldc + j]);
    },
  );

  test.prop([fc.integer({ min: 1, max: 13 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 40 })], { numRuns: 20 })(
    'multiplyAdd reads A transposed (lda 1, aStep m) as a float64 product of Aᵀ does',
    (m, n4, k) => {
      const n = 4 * n4;
      const at = randomArray(k * m, 4); // Aᵀ[k, m]
      const b = randomArray(k * n, 5);
      const expected = new Float64Array(m * n);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let q = 0; q < k; q++) expected[i * n + j]! += at[q * m + i]! * b[q * n + j]!;
      const got = tf.tidy(() => {
        const [a, bt, ct] = [tf.tensor1d(at), tf.tensor1d(b), tf.zeros([m * n])];
        const backend = tf.backend();
        multiplyAdd(kernels, { a: heapFloats(backend, a), lda: 1, aStep: m, b: heapFloats(backend, bt), ldb: n, c: heapFloats(backend, ct), ldc: n, m, n, k });
        return ct.dataSync() as Float32Array;
      });
      expect(relativeError(got, expected)).toBeLessThan(1e-6);
    },
  );

  test.prop([convCase, fc.integer({ min: 0, max: 2 ** 30 })], { numRuns: 60 })(
    'dW and dX match a float64 reference and are adjoint to the forward convolution',
    (k, seed) => {
      const { x, w, dy, got, ref, y } = gradients(kernels, k, seed);
      const yDotDy = dot(y, dy);
      const scale = Math.sqrt(dot(y, y) * dot(dy, dy)) + 1e-12;
      expect(got.dw).not.toBeNull();
      expect(relativeError(got.dw!, ref.dw)).toBeLessThan(1e-5);
      expect(Math.abs(dot(w, got.dw!) - yDotDy) / scale).toBeLessThan(1e-5);
      if (got.dx) {
        expect(relativeError(got.dx, ref.dx)).toBeLessThan(1e-5);
        expect(Math.abs(dot(x, got.dx) - yDotDy) / scale).toBeLessThan(1e-5);
      }
    },
  );

  it.each([
    { B: 2, H: 8, W: 20, C: 16, O: 32, KH: 3, KW: 3, sh: 1, sw: 1, pad: 'same' as const },
    { B: 2, H: 16, W: 24, C: 8, O: 12, KH: 3, KW: 3, sh: 2, sw: 2, pad: 'same' as const },
    { B: 1, H: 20, W: 30, C: 1, O: 16, KH: 7, KW: 7, sh: 2, sw: 2, pad: 'same' as const },
  ])('matches the reference on a UNet-like layer, whole and in small cache blocks %o', (k: ConvCase) => {
    for (const blockFloats of [undefined, 64]) {
      const { got, ref } = gradients(kernels, k, 7, blockFloats);
      expect(relativeError(got.dw!, ref.dw)).toBeLessThan(1e-5);
      if (got.dx) expect(relativeError(got.dx, ref.dx)).toBeLessThan(1e-5);
    }
  });
});
