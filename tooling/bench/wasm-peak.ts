// The arithmetic peak of 128-bit WebAssembly SIMD on this machine, the yardstick for the GFLOP/s that the benches report.
// A hand-assembled loop keeps 12 independent f32x4 accumulators busy: acc = acc · a + b as a multiply and an add
// (plain SIMD: 8 flops per accumulator and iteration) or as one f32x4.relaxed_madd (relaxed SIMD, where the runtime
// has it: the same 8 flops in one instruction, a fused multiply-add where the processor has FMA). 12 chains hide the
// latency of the multiply and the add; with the two constants they fit the 16 vector registers of x86-64.
// The multi-thread figure runs the same loop in `threads` worker threads at once (total flops / slowest thread).
import { Worker } from 'node:worker_threads';
import { uleb } from '../../packages/backend/src/kernels/wasm-heap-module.ts';

/** The parts of the WebAssembly API used here (the benches compile without DOM types). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const simd = (op: number) => [0xfd, ...uleb(op)];
const section = (id: number, content: number[]) => [id, ...uleb(content.length), ...content];
const f32 = (x: number) => [...new Uint8Array(new Float32Array([x]).buffer)];

const CHAINS = 12;
/** Flops of one loop iteration: CHAINS accumulators x 4 lanes x (multiply + add). */
const FLOPS_PER_ITERATION = CHAINS * 4 * 2;

/** peak(iterations): runs the loop and stores the accumulators' sum at address 0 (so nothing is optimised away). */
function peakModule(relaxed: boolean): Uint8Array<ArrayBuffer> {
  const n = 0;
  const [a, b] = [1 + CHAINS, 2 + CHAINS];
  const acc = (k: number) => 1 + k;
  const get = (local: number) => [0x20, ...uleb(local)];
  const set = (local: number) => [0x21, ...uleb(local)];
  const step = (k: number) =>
    relaxed
      ? [...get(acc(k)), ...get(a), ...get(b), ...simd(0x105), ...set(acc(k))] // f32x4.relaxed_madd
      : [...get(acc(k)), ...get(a), ...simd(0xe6), ...get(b), ...simd(0xe4), ...set(acc(k))]; // f32x4.mul, f32x4.add
  const body = [
    ...uleb(1), ...uleb(CHAINS + 2), 0x7b, // locals: CHAINS + 2 v128
    0x43, ...f32(0.999999), ...simd(0x13), ...set(a), // f32x4.splat
    0x43, ...f32(1e-7), ...simd(0x13), ...set(b),
    ...Array.from({ length: CHAINS }, (_, k) => [0x43, ...f32(k / CHAINS), ...simd(0x13), ...set(acc(k))]).flat(),
    0x03, 0x40, // loop
    ...Array.from({ length: CHAINS }, (_, k) => step(k)).flat(),
    ...get(n), 0x41, 1, 0x6b, 0x22, ...uleb(n), // n = n - 1 (tee)
    0x0d, 0, // br_if 0
    0x0b,
    0x41, 0, // address 0
    ...get(acc(0)),
    ...Array.from({ length: CHAINS - 1 }, (_, k) => [...get(acc(k + 1)), ...simd(0xe4)]).flat(),
    ...simd(0x0b), 0, 0, // v128.store
    0x0b,
  ];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 1, 0x7f, 0]), // type: (i32) -> ()
    ...section(3, [1, 0]),
    ...section(5, [1, 0, 1]), // memory: 1 page
    ...section(7, [1, 4, ...Array.from('peak', (c) => c.charCodeAt(0)), 0, 0]),
    ...section(10, [1, ...uleb(body.length), ...body]),
  ]);
}

/** Whether this runtime validates f32x4.relaxed_madd (Node 20 needs --experimental-wasm-relaxed-simd; Node 22 has it). */
export function hasRelaxedSimd(): boolean {
  return wasmApi.validate(peakModule(true));
}

// V8 first runs a module's functions as baseline code and compiles the optimised code in the background (slowly on a
// loaded machine); a call already running keeps its code. So the loop is called in short runs until it stops getting
// faster (at least 10 runs, at most ~3 s) before any run is timed.
const WARM_UP = `
function warmUp(peak, n) {
  let best = 0, since = 0;
  const t0 = performance.now();
  for (let run = 0; (run < 10 || since < 3) && performance.now() - t0 < 3000; run++) {
    const t = performance.now();
    peak(n);
    const rate = n / (performance.now() - t);
    if (rate > best * 1.1) { best = rate; since = 0; } else since++;
  }
  return best;
}
`;

// Runs in each worker: compile, warm up, wait for the others, time the loop.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { bytes, iterations, gate } = workerData;
const peak = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.peak;
${WARM_UP}
warmUp(peak, Math.max(1000, Math.round(iterations / 20)));
const flag = new Int32Array(gate);
Atomics.add(flag, 1, 1);
while (Atomics.load(flag, 0) === 0) {}
const t0 = performance.now();
peak(iterations);
parentPort.postMessage(performance.now() - t0);
`;

const warmUp = new Function(`${WARM_UP}; return warmUp;`)() as (peak: (n: number) => void, n: number) => number;

async function runThreads(bytes: Uint8Array, threads: number, iterations: number): Promise<number> {
  const gate = new SharedArrayBuffer(8);
  const flag = new Int32Array(gate);
  const workers = Array.from({ length: threads }, () => new Worker(WORKER, { eval: true, workerData: { bytes, iterations, gate } }));
  const done = workers.map((w) => new Promise<number>((resolve, reject) => w.once('message', resolve).once('error', reject)));
  while (Atomics.load(flag, 1) < threads) await new Promise((r) => setTimeout(r, 1));
  Atomics.store(flag, 0, 1);
  const times = await Promise.all(done);
  await Promise.all(workers.map((w) => w.terminate()));
  return Math.max(...times);
}

/** Measured peak of one kind of loop, in GFLOP/s. */
export interface WasmPeak {
  /** `mul+add` (plain SIMD) or `relaxed_madd`. */
  kind: string;
  threads: number;
  /** Flops per second of wall time (on a loaded machine, less than the processor can do). */
  gflops: number;
  /**
   * 1 thread only: flops per second of the process's CPU time, what one core does when it runs the loop (close to the
   * unloaded figure even when other processes share the core).
   */
  gflopsPerCpuSecond?: number;
}

/**
 * Best-of-5 GFLOP/s of the loop on 1 thread and on `threads` threads at once, for plain SIMD and (where the runtime
 * validates it) relaxed SIMD. Each run takes about `ms` milliseconds; the best run is the one least disturbed by other
 * processes, so on a loaded machine this is still the machine's peak.
 */
export async function measureWasmPeak(threads: number, ms = 150): Promise<WasmPeak[]> {
  const out: WasmPeak[] = [];
  for (const relaxed of hasRelaxedSimd() ? [false, true] : [false]) {
    const bytes = peakModule(relaxed);
    const peak = (new wasmApi.Instance(new wasmApi.Module(bytes)).exports as unknown as { peak(n: number): void }).peak;
    const perIteration = 1 / warmUp(peak, 50_000); // ms
    const iterations = Math.max(100_000, Math.round(ms / perIteration));
    let t0: number;
    const gflops = (time: number, n: number) => (n * FLOPS_PER_ITERATION * iterations) / (time * 1e6);
    for (const t of threads > 1 ? [1, threads] : [1]) {
      const runs: number[] = [];
      const cpuRuns: number[] = [];
      for (let r = 0; r < 5; r++) {
        if (t === 1) {
          const cpu0 = process.cpuUsage();
          t0 = performance.now();
          peak(iterations);
          runs.push(gflops(performance.now() - t0, 1));
          const cpu = process.cpuUsage(cpu0);
          cpuRuns.push(gflops((cpu.user + cpu.system) / 1000, 1));
        } else {
          runs.push(gflops(await runThreads(bytes, t, iterations), t));
        }
      }
      const best = (xs: number[]) => +Math.max(...xs).toFixed(1);
      out.push({ kind: relaxed ? 'relaxed_madd' : 'mul+add', threads: t, gflops: best(runs), ...(t === 1 ? { gflopsPerCpuSecond: best(cpuRuns) } : {}) });
    }
  }
  return out;
}
