// Forward-pass timings of the exported UNet-ResNet34 and FPN-ResNet34 (1 channel, 4 classes) in onnxruntime-node (CPU,
// 2 intra-op threads, graph optimisation 'all') next to PyTorch (Debian python3-torch, 2 threads, same run) and tfjs
// wasm (2 threads), at [1,1,256,1600] and [4,1,256,1600]. Floors: ONNX Runtime <= 0.9x PyTorch at batch 1, <= 0.8x at
// batch 4. After one warm-up pass each, the engines alternate pass by pass (a PyTorch process holds its model and times
// one pass per request), so their medians see the same load on a shared machine: STEEL_BENCH_RUNS passes (default 5;
// tfjs at most 3). The load average is recorded per row.
// STEEL_BENCH_TFJS=0 skips tfjs; STEEL_BENCH_TFJS_BATCHES=1 times it at batch 1 only (its batch-4 passes take ~15 s each).
import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { setupBackend } from '@steel/backend';
import { createModel, type ArchitectureName } from '@steel/models';
import { pytorchLabel, startPytorchRunner } from '../../../tooling/bench/pytorch.ts';
import { report, type BenchRow } from '../../../tooling/bench/report.ts';
import { exportOnnx } from '../src/index.ts';

const THREADS = 2;
const RUNS = Number(process.env['STEEL_BENCH_RUNS'] ?? 5);
const WITH_TFJS = process.env['STEEL_BENCH_TFJS'] !== '0';
const TFJS_RUNS = Math.min(RUNS, 3);
const TFJS_BATCHES = (process.env['STEEL_BENCH_TFJS_BATCHES'] ?? '1,4').split(',').map(Number);
const MODELS: ArchitectureName[] = ['unet', 'fpn'];
const BATCHES = [1, 4];
const FLOOR: Record<number, number> = { 1: 0.9, 4: 0.8 };
const [H, W] = [256, 1600];

const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
const loadBefore = load();
const { threads: tfjsThreads } = await setupBackend({ backend: 'wasm', threads: THREADS });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

const rows: BenchRow[] = [];
for (const architecture of MODELS) {
  const model = createModel({ architecture, encoder: 'resnet34', inChannels: 1, classes: 4, seed: 0 });
  const session = await ort.InferenceSession.create(exportOnnx(model), {
    intraOpNumThreads: THREADS,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  for (const n of BATCHES) {
    const data = Float32Array.from({ length: n * H * W }, (_, i) => ((i * 2654435761) % 1000) / 1000);
    const image = new ort.Tensor('float32', data, [n, 1, H, W]);
    const torch = await startPytorchRunner({ op: 'forward', architecture, encoder: 'resnet34', shape: [n, H, W, 1] }, { threads: THREADS });
    const x = WITH_TFJS && TFJS_BATCHES.includes(n) ? tf.tensor4d(data, [n, H, W, 1]) : null;
    const tfjsPass = async () => {
      const y = model.predict(x!) as tf.Tensor;
      await y.data();
      y.dispose();
    };
    // One warm-up pass each, then the engines alternate pass by pass, so each median sees the same machine load.
    await session.run({ image });
    await torch?.run();
    if (x) await tfjsPass();
    const times = { ort: [] as number[], torch: [] as number[], tfjs: [] as number[] };
    for (let r = 0; r < RUNS; r++) {
      times.ort.push(await timed(() => session.run({ image })));
      if (torch) times.torch.push(await torch.run());
      if (x && r < TFJS_RUNS) times.tfjs.push(await timed(tfjsPass));
    }
    torch?.close();
    x?.dispose();
    const ortMs = median(times.ort);
    const torchMs = torch ? median(times.torch) : null;
    const tfjsMs = x ? median(times.tfjs) : null;
    const ratio = torchMs == null ? null : ortMs / torchMs;
    rows.push({
      model: `${architecture}-resnet34`,
      shape: `[${n},1,${H},${W}]`,
      onnxruntimeMs: Math.round(ortMs),
      pytorchMs: torchMs == null ? null : Math.round(torchMs),
      tfjsWasmMs: tfjsMs == null ? null : Math.round(tfjsMs),
      ortVsPytorch: ratio == null ? null : Number(ratio.toFixed(2)),
      floor: `<= ${FLOOR[n]}x`,
      meetsFloor: ratio == null ? null : ratio <= FLOOR[n]!,
      ortVsTfjs: tfjsMs == null ? null : Number((ortMs / tfjsMs).toFixed(2)),
      loadavg: load(),
    });
    console.log(JSON.stringify(rows.at(-1)), JSON.stringify(times));
  }
  await session.release();
  model.dispose();
}
report('onnx', rows, {
  onnxruntime: `onnxruntime-node ${ort.env.versions.node ?? ''}, CPU, ${THREADS} intra-op threads, graphOptimizationLevel all`,
  pytorch: pytorchLabel,
  tfjs: `tfjs wasm, ${tfjsThreads} threads`,
  runs: RUNS,
  tfjsRuns: TFJS_RUNS,
  loadavg: { before: loadBefore, after: load() },
});
