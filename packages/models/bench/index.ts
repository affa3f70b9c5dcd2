// Training-step and forward-pass timings of UNet-ResNet18/34 on every tfjs backend that starts here, with PyTorch's time
// for the same shapes (Debian python3-torch, all cores) as a ratio when /usr/bin/python3 has torch.
// STEEL_BENCH_BACKENDS=wasm,cpu limits the backends. Training steps on the cpu backend are opt-in (STEEL_BENCH_CPU_TRAIN=1):
// its stock Conv2DBackpropFilter makes one UNet-ResNet18 step take about 90 s even at [2,32,64] and ~20 min at [2,128,256].
// STEEL_BENCH_CASES=train-8x32x224x1,forward-1x256x1600x1 runs only those cases (op-shape, any encoder).
// STEEL_BENCH_THREADS=1 runs wasm and PyTorch on that many threads (default: all cores) and names the result files
// models-1t.json and models-profile-1t.json.
// Wall times (`ms`, `pytorchMs`) alternate the two engines step by step in one PyTorch process kept open (three warm-up
// steps each, then the median of five): the first wasm steps run before V8 has optimised the kernels' JavaScript, and on
// a shared machine the load moves within seconds. CPU time and peak memory of PyTorch come from a separate run.
// Wasm training rows also time the step without Winograd (`directMs`, `setWinograd(false)`), right after.
// Each row has wall and CPU time per step (both sides; on one thread the CPU-time ratio is the one other processes' load
// disturbs least), the peak resident memory of its steps (both sides) and the 1-minute load averages; each wasm
// training case is also profiled per kernel (bench-results/models-profile.json), with the convolutions' GFLOP/s against
// the measured peak of wasm SIMD on this machine (tooling/bench/wasm-peak.ts).
import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { createAdam, setupBackend, setWinograd, type ResolvedBackendName } from '@steel/backend';
import { pytorchLabel, pytorchTimings, startPytorchRunner } from '../../../tooling/bench/pytorch.ts';
import { report, timeMsAsync, type BenchRow } from '../../../tooling/bench/report.ts';
import { measureWasmPeak, type WasmPeak } from '../../../tooling/bench/wasm-peak.ts';
import { peakRssMiB, profileStep, resetPeakRss, type KernelTime } from './kernel-profile.ts';
import { createModel, type EncoderName } from '../src/index.ts';

interface Case {
  op: 'train' | 'forward';
  encoder: EncoderName;
  shape: [number, number, number, number];
  /** The floor this case must reach on wasm (ms), if any. */
  wasmFloorMs?: number;
}

const CASES: Case[] = [
  { op: 'train', encoder: 'resnet18', shape: [2, 128, 256, 1], wasmFloorMs: 3700 },
  // The training app's main job: batches of 8 crops 32 x 224.
  { op: 'train', encoder: 'resnet18', shape: [8, 32, 224, 1] },
  { op: 'train', encoder: 'resnet34', shape: [2, 256, 384, 1] },
  // `train bench --shape 8x192x192x1`: full-resolution NEU-Seg-sized crops.
  { op: 'train', encoder: 'resnet18', shape: [8, 192, 192, 1] },
  // The main job's batch (`pnpm --filter train start`): 16 crops of 32 x 96.
  { op: 'train', encoder: 'resnet18', shape: [16, 32, 96, 1] },
  { op: 'forward', encoder: 'resnet18', shape: [1, 256, 1600, 1] },
  { op: 'forward', encoder: 'resnet34', shape: [1, 256, 1600, 1] },
];

const only = process.env['STEEL_BENCH_CASES']?.split(',');
const cases = only ? CASES.filter((c) => only.includes(`${c.op}-${c.shape.join('x')}`)) : CASES;

const threadsWanted = process.env['STEEL_BENCH_THREADS'] ? Number(process.env['STEEL_BENCH_THREADS']) : undefined;
const suffix = threadsWanted ? `-${threadsWanted}t` : '';

const torchByCase = new Map<Case, { ms: number | null; cpuMs: number | null; peakRssMiB: number | null }>();

/**
 * PyTorch's median time and peak resident memory for a case (its own process), measured once, right after the first
 * tfjs measurement of it (same machine load).
 */
function torch(c: Case): { ms: number | null; cpuMs: number | null; peakRssMiB: number | null } {
  if (!torchByCase.has(c)) {
    const { ms, cpuMs, peakRssMiB } = pytorchTimings([c], threadsWanted ? { threads: threadsWanted } : {});
    torchByCase.set(c, { ms: ms[0] ?? null, cpuMs: cpuMs[0] ?? null, peakRssMiB });
  }
  return torchByCase.get(c)!;
}

interface Timing {
  ms: number;
  /** PyTorch's median wall time per step, its steps alternating with these (null without torch). */
  alternatingTorchMs: number | null;
  /** Median CPU time of the process per step (all its threads). */
  cpuMs: number;
  /** Peak resident memory of the process while the timed steps ran (MiB; includes what earlier cases left allocated). */
  peakRssMiB: number;
  /** Per-kernel profile of one more step (wasm training steps only). */
  profile: KernelTime[] | null;
  /** Wall and CPU time of the same step without Winograd (wasm training steps only), timed right after. */
  direct: { ms: number; cpuMs: number } | null;
}

const ALTERNATING_WARMUP = 3;
const ALTERNATING_RUNS = 5;
const medianOf = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Times `step` and PyTorch's step of the same case alternately (warm-up steps of both first), returning both medians and
 * the median CPU time of `step` (this process, all threads); null without torch.
 */
async function alternateWithPytorch(c: Case, step: () => Promise<void>): Promise<{ ms: number; cpuMs: number; torchMs: number } | null> {
  const runner = await startPytorchRunner({ op: c.op, encoder: c.encoder, shape: c.shape }, threadsWanted ? { threads: threadsWanted } : {});
  if (!runner) return null;
  const [ours, cpu, theirs]: [number[], number[], number[]] = [[], [], []];
  try {
    for (let i = 0; i < ALTERNATING_WARMUP + ALTERNATING_RUNS; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await step();
      const t1 = performance.now();
      const used = process.cpuUsage(c0);
      const torchMs = await runner.run();
      if (i >= ALTERNATING_WARMUP) {
        ours.push(t1 - t0);
        cpu.push((used.user + used.system) / 1000);
        theirs.push(torchMs);
      }
    }
  } finally {
    runner.close();
  }
  return { ms: medianOf(ours), cpuMs: medianOf(cpu), torchMs: medianOf(theirs) };
}

async function timeCase(c: Case, backend: ResolvedBackendName): Promise<Timing> {
  const model = createModel({ architecture: 'unet', encoder: c.encoder, inChannels: 1, classes: 4, seed: 0 });
  const x = tf.randomUniform(c.shape, 0, 1, 'float32', 1);
  const y = tf.cast(tf.greater(tf.randomUniform([...c.shape.slice(0, 3), 4], 0, 1, 'float32', 2), 0.9), 'float32');
  const optimizer = createAdam(1e-3); // what the training app uses
  const variables = model.trainableWeights.map((v) => v.read() as tf.Variable);
  const slow = backend === 'cpu';
  const step = async () => {
    if (c.op === 'train') {
      const loss = optimizer.minimize(
        () => tf.losses.sigmoidCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
        true,
        variables,
      )!;
      await loss.data();
      loss.dispose();
    } else {
      const out = model.predict(x) as tf.Tensor;
      await out.data();
      out.dispose();
    }
  };
  try {
    resetPeakRss();
    const cpu: number[] = [];
    const timed = async () => {
      const c0 = process.cpuUsage();
      await step();
      const used = process.cpuUsage(c0);
      cpu.push((used.user + used.system) / 1000);
    };
    const runs = slow ? 1 : 3;
    const median = () => cpu.slice(-runs).sort((a, b) => a - b)[Math.floor(runs / 2)]!;
    const alternating = slow ? null : await alternateWithPytorch(c, step);
    const ms = alternating ? alternating.ms : await timeMsAsync(timed, { runs, warmup: slow ? 0 : 1 });
    const cpuMs = alternating ? alternating.cpuMs : median();
    const rss = peakRssMiB();
    const profile = backend === 'wasm' && c.op === 'train' ? await profileStep(step) : null;
    let direct: Timing['direct'] = null;
    if (backend === 'wasm' && c.op === 'train') {
      setWinograd(false);
      try {
        direct = { ms: await timeMsAsync(timed, { runs, warmup: 1 }), cpuMs: median() };
      } finally {
        setWinograd(true);
      }
    }
    return { ms, alternatingTorchMs: alternating?.torchMs ?? null, cpuMs, peakRssMiB: rss, profile, direct };
  } finally {
    optimizer.dispose();
    model.dispose();
    tf.dispose([x, y]);
  }
}

const wanted = (process.env['STEEL_BENCH_BACKENDS'] ?? 'tensorflow,webgpu,wasm,cpu').split(',') as ResolvedBackendName[];
const rows: BenchRow[] = [];
const profileRows: BenchRow[] = [];
const skipped: Record<string, string> = {};
const load1 = () => +os.loadavg()[0]!.toFixed(2);
let peaks: WasmPeak[] = [];

/** Per-kernel rows of a profiled step; GFLOP/s against the plain-SIMD peak at the backend's thread count. */
function addProfile(c: Case, threads: number, profile: KernelTime[], load: number) {
  const peak = peaks.find((p) => p.kind === 'mul+add' && p.threads === threads)?.gflops ?? null;
  const total = profile.reduce((a, k) => a + k.ms, 0);
  const conv = profile.filter((k) => k.gflop !== null);
  const convRow = {
    kernel: 'all convolutions and products',
    calls: conv.reduce((a, k) => a + k.calls, 0),
    ms: conv.reduce((a, k) => a + k.ms, 0),
    gflop: conv.reduce((a, k) => a + k.gflop!, 0),
  };
  for (const k of [...profile.slice(0, 14), convRow, { kernel: 'total (profiled step)', calls: profile.reduce((a, p) => a + p.calls, 0), ms: total, gflop: null }]) {
    const gflops = k.gflop === null || k.ms === 0 ? null : k.gflop / (k.ms / 1000);
    profileRows.push({
      model: `unet-${c.encoder}`,
      shape: `[${c.shape.join(',')}]`,
      kernel: k.kernel,
      calls: k.calls,
      ms: +k.ms.toFixed(1),
      share: `${((100 * k.ms) / total).toFixed(1)}%`,
      gflop: k.gflop === null ? null : +k.gflop.toFixed(1),
      gflops: gflops === null ? null : +gflops.toFixed(2),
      ofPeak: gflops === null || peak === null ? null : `${((100 * gflops) / peak).toFixed(0)}%`,
      load1: load,
    });
  }
}

for (const backend of wanted) {
  let threads: number | null = null;
  try {
    const setup = await setupBackend(threadsWanted ? { backend, threads: threadsWanted } : { backend });
    threads = setup.threads;
    if (backend === 'wasm') {
      peaks = await measureWasmPeak(threads ?? 1);
      console.log(`wasm SIMD peak (load ${load1()}): ${peaks.map((p) => `${p.kind} ${p.threads} thread(s) ${p.gflops} GFLOP/s`).join(', ')}`);
    }
  } catch (error) {
    skipped[backend] = (error as Error).message.slice(0, 200);
    console.log(`skipping ${backend}: ${skipped[backend]}`);
    continue;
  }
  for (const c of cases) {
    if (backend === 'cpu' && c.op === 'train' && process.env['STEEL_BENCH_CPU_TRAIN'] !== '1') {
      skipped[`cpu ${c.op} unet-${c.encoder}`] = 'stock cpu Conv2DBackpropFilter takes minutes per step; set STEEL_BENCH_CPU_TRAIN=1';
      continue;
    }
    const { ms, alternatingTorchMs, cpuMs, peakRssMiB: rssMiB, profile, direct } = await timeCase(c, backend);
    const load = load1();
    const { ms: oneShotTorchMs, cpuMs: torchCpu, peakRssMiB: torchRssMiB } = torch(c);
    const torchTime = alternatingTorchMs ?? oneShotTorchMs;
    const loadAfter = load1();
    if (profile) addProfile(c, threads ?? 1, profile, load);
    rows.push({
      backend,
      threads,
      model: `unet-${c.encoder}`,
      op: c.op === 'train' ? 'train step (fwd+BCE+bwd+Adam)' : 'forward',
      shape: `[${c.shape.join(',')}]`,
      ms: Math.round(ms),
      pytorchMs: torchTime === null ? null : Math.round(torchTime),
      vsPytorch: torchTime === null ? null : `${(ms / torchTime).toFixed(1)}x`,
      // CPU time per step of each process: on one thread, the ratio that other processes' load disturbs least.
      cpuMs: Math.round(cpuMs),
      pytorchCpuMs: torchCpu === null ? null : Math.round(torchCpu),
      cpuVsPytorch: torchCpu === null ? null : `${(cpuMs / torchCpu).toFixed(2)}x`,
      floorMs: backend === 'wasm' ? (c.wasmFloorMs ?? null) : null,
      // The same step with the 3x3 convolutions computed directly (no Winograd), right after.
      directMs: direct ? Math.round(direct.ms) : null,
      directCpuMs: direct ? Math.round(direct.cpuMs) : null,
      peakRssMiB: rssMiB,
      pytorchPeakRssMiB: torchRssMiB,
      load1: load,
      pytorchLoad1: loadAfter,
    });
    console.log(JSON.stringify(rows.at(-1)));
  }
}
report(`models${suffix}`, rows, { pytorch: pytorchLabel, skipped, wasmPeak: peaks });
if (profileRows.length) report(`models-profile${suffix}`, profileRows, { wasmPeak: peaks });
