// Each kernel fix against the stock (or fallback) kernel on the shapes of a ResNet18-UNet step on x[2,128,256,1], and
// wasm matMul / conv forward with 1 vs 2 threads (each in its own process: the thread count is fixed per process).
// Run: pnpm --filter @steel/backend bench   (BENCH_QUICK=1 for smaller shapes)
import * as tf from '@tensorflow/tfjs-core';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type BenchRow, report, timeMs } from '../../../tooling/bench/report.ts';
import { setupBackend } from '../src/index.ts';
import { stockKernel } from '../src/kernels/register.ts';
import { fusedBatchNormGradConfig, stockFusedBatchNormGradient } from '../src/kernels/batch-norm-gradient.ts';
import '@tensorflow/tfjs-layers'; // registers tfjs' gradients (setupBackend below puts this package's FusedBatchNorm one back)

tf.env().set('IS_TEST', true);
const quick = process.env['BENCH_QUICK'] === '1';
const rows: BenchRow[] = [];

/** Median ms of one direct kernel call (result freed), inputs created on the active backend. */
function timeKernel(kernel: tf.KernelConfig | undefined, inputs: Record<string, tf.Tensor>, attrs: object, runs: number): number {
  if (!kernel) return Number.NaN;
  const backend = tf.backend();
  return timeMs(
    () => {
      const out = kernel.kernelFunc({ inputs, backend, attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo;
      backend.readSync(out.dataId);
      backend.disposeData(out.dataId);
    },
    { runs, warmup: 1 },
  );
}

function row(kernel: string, backend: string, shape: string, ours: number, baseline: number, baselineName: string) {
  rows.push({ kernel, backend, shape, ours_ms: +ours.toFixed(1), baseline: baselineName, baseline_ms: +baseline.toFixed(1), speedup: +(baseline / ours).toFixed(2) });
  console.log(`${kernel} ${backend} ${shape}: ${ours.toFixed(1)} ms vs ${baselineName} ${baseline.toFixed(1)} ms`);
}

const current = (name: string, backend: string) => tf.getKernel(name, backend);
const [H, W] = quick ? [32, 64] : [128, 128];

await setupBackend({ backend: 'cpu' });
await setupBackend({ backend: 'wasm', threads: 1 });
{
  // 3x3 64->64 conv layer of the decoder / layer1.
  const x = tf.randomNormal([2, H, W, 64]);
  const w = tf.randomNormal([3, 3, 64, 64]);
  const dy = tf.randomNormal([2, H, W, 64]);
  const attrs = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined, dilations: [1, 1] };
  const shape = `x[2,${H},${W},64] 3x3 64->64`;
  const fwd = timeKernel(current('Conv2D', 'wasm'), { x, filter: w }, attrs, 5);
  rows.push({ kernel: 'Conv2D (forward, for scale)', backend: 'wasm', shape, ours_ms: +fwd.toFixed(1), baseline: '', baseline_ms: null, speedup: null });
  const dX = timeKernel(current('Conv2DBackpropInput', 'wasm'), { dy, filter: w }, { ...attrs, inputShape: x.shape }, 5);
  const dXStock = timeKernel(stockKernel('Conv2DBackpropInput', 'wasm'), { dy, filter: w }, { ...attrs, inputShape: x.shape }, 3);
  row('Conv2DBackpropInput', 'wasm', shape, dX, dXStock, 'stock wasm');
  const dW = timeKernel(current('Conv2DBackpropFilter', 'wasm'), { x, dy }, { ...attrs, filterShape: [3, 3, 64, 64] }, 5);
  rows.push({ kernel: 'Conv2DBackpropFilter', backend: 'wasm', shape, ours_ms: +dW.toFixed(1), baseline: 'none (missing in wasm)', baseline_ms: null, speedup: null });
  tf.dispose([x, w, dy]);
}
{
  // dW against the cpu fallback on a smaller layer (the cpu kernel takes minutes at full size).
  const small = [2, 32, 32, 64];
  const args = (t: tf.Tensor[]) => ({ x: t[0]!, dy: t[1]! });
  const attrs = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: [3, 3, 64, 64] };
  const wasmT = [tf.randomNormal(small), tf.randomNormal(small)];
  const ours = timeKernel(current('Conv2DBackpropFilter', 'wasm'), args(wasmT), attrs, 5);
  await tf.setBackend('cpu');
  const cpuT = [tf.randomNormal(small), tf.randomNormal(small)];
  const cpu = timeKernel(current('Conv2DBackpropFilter', 'cpu'), args(cpuT), attrs, 1);
  row('Conv2DBackpropFilter', 'wasm', 'x[2,32,32,64] 3x3 64->64', ours, cpu, 'cpu kernel');
  tf.dispose([...cpuT]);
  await tf.setBackend('wasm');
  tf.dispose(wasmT);
}
{
  // Stem max pool 3x3/2 'same' after ReLU: x[2,64,128,64] for the x[2,128,256,1] input.
  const [ph, pw] = quick ? [32, 64] : [64, 128];
  const make = () => {
    const input = tf.relu(tf.randomNormal([2, ph, pw, 64]));
    const output = tf.maxPool(input as tf.Tensor4D, 3, 2, 'same');
    return { input, output, dy: tf.randomNormal(output.shape) };
  };
  const attrs = { filterSize: [3, 3], strides: [2, 2], pad: 'same', dimRoundingMode: undefined };
  const w = make();
  const ours = timeKernel(current('MaxPoolGrad', 'wasm'), w, attrs, 5);
  const stock = timeKernel(stockKernel('MaxPoolGrad', 'wasm'), w, attrs, 5);
  await tf.setBackend('cpu');
  const c = make();
  const cpu = timeKernel(current('MaxPoolGrad', 'cpu'), c, attrs, 3);
  row('MaxPoolGrad', 'wasm', `x[2,${ph},${pw},64] 3x3/2`, ours, cpu, 'cpu kernel (fallback)');
  rows.push({ kernel: 'MaxPoolGrad (stock, wrong)', backend: 'wasm', shape: `x[2,${ph},${pw},64] 3x3/2`, ours_ms: +stock.toFixed(1), baseline: '', baseline_ms: null, speedup: null });
  // Decoder x2 upsampling gradients on cpu.
  for (const [name, size] of [['ResizeNearestNeighborGrad', ph], ['ResizeBilinearGrad', ph]] as const) {
    const images = tf.randomNormal([2, size / 2, pw / 2, 64]);
    const dy = tf.randomNormal([2, size, pw, 64]);
    const attrs2 = { alignCorners: name === 'ResizeBilinearGrad', halfPixelCenters: false, size: [size, pw] };
    const ours2 = timeKernel(current(name, 'cpu'), { images, dy }, attrs2, 5);
    const stock2 = timeKernel(stockKernel(name, 'cpu'), { images, dy }, attrs2, 3);
    row(name, 'cpu', `x[2,${size / 2},${pw / 2},64] x2`, ours2, stock2, 'stock cpu (wrong)');
    tf.dispose([images, dy]);
  }
  tf.dispose(Object.values(c));
  await tf.setBackend('wasm');
  tf.dispose(Object.values(w));
}

{
  // Training-mode batch norm (tf.moments + tf.batchNorm, as tfjs-layers runs it) forward and backward on the stem's
  // activations, with this package's FusedBatchNorm gradient and with tfjs' own.
  const [bh, bw] = quick ? [32, 64] : [64, 128];
  const x = tf.randomNormal([2, bh, bw, 64]);
  const gamma = tf.ones([64]);
  const beta = tf.zeros([64]);
  const dy = tf.randomNormal([2, bh, bw, 64]);
  const f = (xt: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
    const { mean, variance } = tf.moments(xt, [0, 1, 2]);
    return tf.sum(tf.mul(tf.batchNorm(xt, mean, variance, b, g, 1e-5), dy));
  };
  const step = () => tf.tidy(() => tf.grads(f as (...t: tf.Tensor[]) => tf.Tensor)([x, gamma, beta]).forEach((g) => g.dataSync()));
  const ours = timeMs(step, { runs: 5, warmup: 1 });
  tf.registerGradient(stockFusedBatchNormGradient()!);
  // Direct kernel calls would not put ours back, but tf.batchNorm does (see keepingGradient): time tfjs' with the stock forward.
  tf.unregisterKernel('FusedBatchNorm', 'wasm');
  tf.registerKernel(stockKernel('FusedBatchNorm', 'wasm')!);
  const theirs = timeMs(step, { runs: 3, warmup: 1 });
  await setupBackend({ backend: 'wasm', threads: 1 });
  if (tf.getGradient('FusedBatchNorm') !== fusedBatchNormGradConfig) throw new Error('FusedBatchNorm gradient not restored');
  row('FusedBatchNorm gradient (training BN fwd+bwd)', 'wasm', `x[2,${bh},${bw},64]`, ours, theirs, "tfjs' gradient (tile)");
  tf.dispose([x, gamma, beta, dy]);
}

// Threads: a child process per thread count.
const child = fileURLToPath(new URL('./threads.ts', import.meta.url));
const threadRows: Record<string, number>[] = [];
for (const threads of [1, 2]) {
  const out = execFileSync(process.execPath, ['--import', 'tsx', child, String(threads)], { encoding: 'utf8' });
  threadRows.push(JSON.parse(out.trim().split('\n').pop()!) as Record<string, number>);
}
for (const op of ['matMul 1024x1024', `conv2d x[2,${H},${W},64] 3x3 64->64`]) {
  const [one, two] = threadRows.map((r) => r[op]!);
  rows.push({ kernel: op, backend: 'wasm', shape: '2 threads vs 1', ours_ms: +two!.toFixed(1), baseline: '1 thread', baseline_ms: +one!.toFixed(1), speedup: +(one! / two!).toFixed(2) });
}
report('backend-kernels', rows, { threads: threadRows });
