// Child of bench/index.ts: wasm matMul and conv forward with the thread count given as argument.
import * as tf from '@tensorflow/tfjs-core';
import { timeMs } from '../../../tooling/bench/report.ts';
import { setupBackend } from '../src/index.ts';

const threads = Number(process.argv[2] ?? 1);
const [H, W] = process.env['BENCH_QUICK'] === '1' ? [32, 64] : [128, 128];
const setup = await setupBackend({ backend: 'wasm', threads });
const a = tf.randomNormal([1024, 1024]);
const b = tf.randomNormal([1024, 1024]);
const x = tf.randomNormal([2, H, W, 64]) as tf.Tensor4D;
const w = tf.randomNormal([3, 3, 64, 64]) as tf.Tensor4D;
const run = (f: () => tf.Tensor) => () => tf.tidy(() => void f().dataSync());
console.log(
  JSON.stringify({
    threads: setup.threads,
    'matMul 1024x1024': timeMs(run(() => tf.matMul(a, b)), { runs: 10, warmup: 2 }),
    [`conv2d x[2,${H},${W},64] 3x3 64->64`]: timeMs(run(() => tf.conv2d(x, w, 1, 'same')), { runs: 10, warmup: 2 }),
  }),
);
