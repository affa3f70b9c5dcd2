// Convolution gradients on wasm, per layer of a UNet-ResNet18 training step on x[8,32,224,1] (the training app's batch):
// the heap product kernels (register-tiled SIMD, plain and, where the runtime has it, relaxed) against the previous
// route through XNNPACK (BatchMatMul for dW, one forward Conv2D per stride phase for dX), with the forward Conv2D of the
// same layer for scale, and the registered kernels as a training step runs them ("as trained": Winograd F(2x2, 3x3) for
// the 3x3 stride-1 layers where it pays; "heap": their other routes), all in this process, on one thread. Times are the process's CPU time (median of the runs), which
// other processes on a loaded machine disturb much less than wall time; GFLOP/s = 2·multiply-adds / CPU time.
// Run: pnpm --filter @steel/backend bench:conv   (with relaxed SIMD on Node 20: node --experimental-wasm-relaxed-simd
// --import tsx bench/conv-gradients.ts in packages/backend)
import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { type BenchRow, report } from '../../../tooling/bench/report.ts';
import { setupBackend } from '../src/index.ts';
import { stockKernel } from '../src/kernels/register.ts';
import { conv2dRunner, createConv2DBackpropFilter, createConv2DBackpropInput, matMulRunner } from '../src/kernels/conv2d-gradients.ts';
import { setProductSimd, tileKernels } from '../src/kernels/gemm.ts';
import { setWinograd } from '../src/kernels/winograd-route.ts';

const threads = 1;
await setupBackend({ backend: 'wasm', threads });

/** Median CPU milliseconds of `fn` over `runs` runs after one warm-up run. */
function cpuMs(fn: () => void, runs: number): number {
  fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.cpuUsage();
    fn();
    const t = process.cpuUsage(t0);
    times.push((t.user + t.system) / 1000);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}
const backend = tf.backend();
const kernel = (name: string) => (stockKernel(name, 'wasm') ?? tf.getKernel(name, 'wasm')).kernelFunc;
const conv = conv2dRunner(kernel('Conv2D'));
const matMul = matMulRunner(kernel('BatchMatMul'));
const xnnFilter = createConv2DBackpropFilter(matMul, undefined, false);
const xnnInput = createConv2DBackpropInput(conv, matMul, false);
const relaxedAvailable = (() => {
  setProductSimd('relaxed');
  const k = tileKernels(backend);
  setProductSimd('auto');
  return k !== undefined;
})();

// [x shape, filter shape, stride]: the layers of the step with the largest gradient times.
const LAYERS: [number[], number[], number][] = [
  [[8, 16, 112, 128], [3, 3, 128, 32], 1],
  [[8, 32, 224, 32], [3, 3, 32, 16], 1],
  [[8, 32, 224, 16], [3, 3, 16, 16], 1],
  [[8, 32, 224, 16], [3, 3, 16, 4], 1],
  [[8, 16, 112, 32], [3, 3, 32, 32], 1],
  [[8, 8, 56, 192], [3, 3, 192, 64], 1],
  [[8, 8, 56, 64], [3, 3, 64, 64], 1],
  [[8, 4, 28, 384], [3, 3, 384, 128], 1],
  [[8, 4, 28, 128], [3, 3, 128, 128], 1],
  [[8, 8, 56, 64], [3, 3, 64, 128], 2],
  [[8, 2, 14, 768], [3, 3, 768, 256], 1],
  [[8, 2, 14, 256], [3, 3, 256, 256], 1],
  [[8, 1, 7, 512], [3, 3, 512, 512], 1],
  [[8, 32, 224, 1], [7, 7, 1, 64], 2],
];

const rows: BenchRow[] = [];
const load1 = () => +os.loadavg()[0]!.toFixed(2);
const runs = Number(process.env['BENCH_RUNS'] ?? 3);
const total: Record<string, number> = {};
for (const [xs, fs, s] of LAYERS) {
  const x = tf.randomNormal(xs);
  const w = tf.randomNormal(fs);
  const attrs = { strides: [s, s], pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined, dilations: [1, 1] };
  const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, s, 'same');
  const dy = tf.randomNormal(y.shape);
  const gflop = (2 * y.size * fs[0]! * fs[1]! * fs[2]!) / 1e9;
  const time = (f: () => tf.TensorInfo) =>
    cpuMs(() => {
      const out = f();
      backend.disposeData(out.dataId);
    }, runs);
  const call = (k: tf.KernelFunc, inputs: Record<string, tf.Tensor>, extra: object) => () =>
    k({ inputs, backend, attrs: { ...attrs, ...extra } as unknown as tf.NamedAttrMap }) as tf.TensorInfo;
  const dW = { inputs: { x, dy }, extra: { filterShape: fs } };
  const dX = { inputs: { dy, filter: w }, extra: { inputShape: xs } };
  const registered = (name: string) => tf.getKernel(name, 'wasm')!.kernelFunc;
  // [name, run, SIMD of the heap products, Winograd on]: "as trained" is what a training step runs (the registered
  // kernels, Winograd where it pays); "heap" the registered kernels' routes without Winograd.
  const variants: [string, () => tf.TensorInfo, ('plain' | 'relaxed' | undefined)?, boolean?][] = [
    ['forward XNNPACK', call(kernel('FusedConv2D'), { x, filter: w }, { activation: 'linear' })],
    ['forward as trained', call(registered('FusedConv2D'), { x, filter: w }, { activation: 'linear' }), undefined, true],
    ['dW XNNPACK product', call(xnnFilter, dW.inputs, dW.extra)],
    ['dW heap plain', call(registered('Conv2DBackpropFilter'), dW.inputs, dW.extra), 'plain'],
    ['dW as trained', call(registered('Conv2DBackpropFilter'), dW.inputs, dW.extra), undefined, true],
    ['dX XNNPACK conv', call(xnnInput, dX.inputs, dX.extra)],
    ['dX heap plain', call(registered('Conv2DBackpropInput'), dX.inputs, dX.extra), 'plain'],
    ['dX as trained', call(registered('Conv2DBackpropInput'), dX.inputs, dX.extra), undefined, true],
  ];
  if (relaxedAvailable) {
    variants.push(['dW heap relaxed', variants[3]![1], 'relaxed'], ['dX heap relaxed', variants[6]![1], 'relaxed']);
  }
  const row: BenchRow = { x: `[${xs.join(',')}]`, filter: `${fs[0]}x${fs[1]} ${fs[2]}->${fs[3]}/${s}`, gflop: +gflop.toFixed(3) };
  for (const [name, f, simd, winograd] of variants) {
    setProductSimd(simd ?? 'auto');
    setWinograd(winograd === true);
    const ms = time(f);
    setWinograd(true);
    setProductSimd('auto');
    row[`${name} ms`] = +ms.toFixed(1);
    row[`${name} GFLOP/s`] = +(gflop / (ms / 1000)).toFixed(2);
    total[name] = (total[name] ?? 0) + ms;
  }
  row['load1'] = load1();
  rows.push(row);
  console.log(JSON.stringify(row));
  tf.dispose([x, w, y, dy]);
}
const totals: BenchRow = { x: 'all layers above', filter: '', gflop: +rows.reduce((a, r) => a + (r['gflop'] as number), 0).toFixed(3) };
for (const [name, ms] of Object.entries(total)) {
  totals[`${name} ms`] = +ms.toFixed(1);
  totals[`${name} GFLOP/s`] = +((totals['gflop'] as number) / (ms / 1000)).toFixed(2);
}
totals['load1'] = load1();
rows.push(totals);
report('conv-gradients', rows, { threads, relaxedSimd: relaxedAvailable });
