import * as tf from '@tensorflow/tfjs-core';
import { fc, test } from '@fast-check/vitest';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupBackend } from '../setup-backend.ts';
import { stockKernel } from './register.ts';
import { axisGeometry, conv2dRef, randomArray, relativeError } from './reference.test-utils.ts';

function depthwiseRef(x: Float32Array, w: Float32Array, k: { H: number; W: number; C: number; M: number; KH: number; KW: number; sh: number; sw: number }) {
  const gh = axisGeometry(k.H, k.KH, k.sh, 'same');
  const gw = axisGeometry(k.W, k.KW, k.sw, 'same');
  const y = new Float64Array(gh.out * gw.out * k.C * k.M);
  for (let i = 0; i < gh.out; i++)
    for (let j = 0; j < gw.out; j++)
      for (let p = 0; p < k.KH; p++)
        for (let q = 0; q < k.KW; q++) {
          const h = i * k.sh + p - gh.before;
          const v = j * k.sw + q - gw.before;
          if (h < 0 || h >= k.H || v < 0 || v >= k.W) continue;
          for (let c = 0; c < k.C; c++)
            for (let m = 0; m < k.M; m++) y[((i * gw.out + j) * k.C + c) * k.M + m]! += x[(h * k.W + v) * k.C + c]! * w[((p * k.KW + q) * k.C + c) * k.M + m]!;
        }
  return y;
}

const shape = fc.record({
  H: fc.integer({ min: 1, max: 9 }),
  W: fc.integer({ min: 1, max: 9 }),
  C: fc.integer({ min: 1, max: 3 }),
  O: fc.integer({ min: 1, max: 3 }),
  KH: fc.integer({ min: 1, max: 4 }),
  KW: fc.integer({ min: 1, max: 4 }),
  sh: fc.integer({ min: 1, max: 3 }),
  sw: fc.integer({ min: 1, max: 3 }),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
});

describe("wasm convolutions with 'same' padding", () => {
  beforeAll(async () => {
    await setupBackend({ backend: 'wasm', threads: 1 });
  });

  test.prop([shape], { numRuns: 80 })('Conv2D, FusedConv2D and DepthwiseConv2dNative match a float64 reference for any kernel and stride', (s) => {
    const k = { ...s, B: 1, pad: 'same' as const };
    const x = randomArray(k.H * k.W * k.C, k.seed);
    const w = randomArray(k.KH * k.KW * k.C * k.O, k.seed + 1);
    const ref = conv2dRef(x, w, k).y;
    const [y, fused, depthwise] = tf.tidy(() => {
      const xt = tf.tensor4d(x, [1, k.H, k.W, k.C]);
      const wt = tf.tensor4d(w, [k.KH, k.KW, k.C, k.O]);
      return [
        tf.conv2d(xt, wt, [k.sh, k.sw], 'same').dataSync(),
        tf.fused.conv2d({ x: xt, filter: wt, strides: [k.sh, k.sw], pad: 'same', bias: tf.zeros([k.O]) }).dataSync(),
        tf.depthwiseConv2d(xt, tf.reshape(wt, [k.KH, k.KW, k.C, k.O]) as tf.Tensor4D, [k.sh, k.sw], 'same').dataSync(),
      ];
    });
    expect(relativeError(y!, ref)).toBeLessThan(1e-5);
    expect(relativeError(fused!, ref)).toBeLessThan(1e-5);
    expect(relativeError(depthwise!, depthwiseRef(x, w, { ...k, M: k.O }))).toBeLessThan(1e-5);
  });

  it('the stock Conv2D returns zeros for a 1x2 kernel (why it is wrapped)', () => {
    const stock = stockKernel('Conv2D', 'wasm');
    expect(stock).toBeDefined();
    const y = tf.tidy(() => {
      const inputs = { x: tf.ones([1, 4, 2, 1]), filter: tf.ones([1, 2, 1, 4]) };
      const attrs = { strides: [2, 2], pad: 'same', dilations: [1, 1], dataFormat: 'NHWC' };
      const info = stock!.kernelFunc({ inputs, backend: tf.backend(), attrs }) as tf.TensorInfo;
      return tf.engine().makeTensorFromTensorInfo(info).dataSync();
    });
    expect(Array.from(y)).toEqual(new Array(8).fill(0));
  });
});
