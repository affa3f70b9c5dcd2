// The tile kernels of gemm.ts on several threads, for tfjs-backend-wasm's threaded build in Node: its heap is a shared
// WebAssembly.Memory, so worker threads that instantiate the same kernels on it read and write the same tensors.
//
// Tile calls are queued (function, arguments) in a shared job list instead of run; `finish()` runs the queue: each thread
// (the calling thread is thread 0) takes, in every call, its own contiguous share of the call's row blocks, then the
// calling thread waits until all are done. A thread's share of a call depends only on the call's row count, so
// successive calls on the same rows of C (the reduction blocks of one product) reach the same thread in order, and
// threads never write the same rows: only products whose calls on one region of C always cover the same rows (as
// `Conv2DBackpropFilter`'s do) may be queued.
import { assembleModule } from './wasm-heap-module.ts';
import { TILE_ROWS, TILE_VECTORS, tileFunctions, type TileKernels } from './gemm.ts';
import { winogradFunctions } from './winograd.ts';
import { batchNormFunctions } from './batch-norm-functions.ts';
import { adamFunctions } from './adam-update.ts';
import { maxPoolGradFunctions } from './max-pool-gradient.ts';

/** Integers per queued call: function index (−1: a barrier), thread (−1: split by rows), then up to ten arguments. */
const CALL_INTS = 12;
/** Atomic loads a thread spins for before it sleeps in a barrier or at the end of a queue. */
const SPIN_LOADS = 20_000;
/** Calls queued before the queue runs by itself. */
const QUEUE_CALLS = 4096;

/** The functions of the worker module, in index order: the tile kernels, then the whole-call heap functions. */
const functionNames = (): string[] => [...TILE_ROWS.flatMap((r) => TILE_VECTORS.map((v) => `tile_${r}_${v}`)), ...wholeFunctions().map((f) => f.name)];
let indexByName: Map<string, number> | undefined;
/** Each worker function's index by name. */
const functionIndex = (): Map<string, number> => (indexByName ??= new Map(functionNames().map((n, i) => [n, i])));
/** Functions queued whole on one thread (the Winograd transforms, the batch-norm passes, Adam's update, MaxPoolGrad). */
const wholeFunctions = () => [...winogradFunctions(), ...batchNormFunctions(), ...adamFunctions(), ...maxPoolGradFunctions()];

/** What each worker runs (CommonJS, evaluated): wait for a generation, run its share of the queue, report. */
const workerSource = (): string => `
const { workerData } = require('node:worker_threads');
const { memory, bytes, control, queue, index, threads } = workerData;
const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), { e: { m: memory } }).exports;
const names = ${JSON.stringify(functionNames())};
const functions = names.map((n) => exports[n]);
const rows = names.map((n) => (n.startsWith('tile_') ? Number(n.split('_')[1]) : 0));
const ctl = new Int32Array(control);
const q = new Int32Array(queue);
const SPIN_LOADS = ${SPIN_LOADS};
${runCall.toString()}
${runShare.toString()}
${barrier.toString()}
let seen = 0;
for (;;) {
  Atomics.wait(ctl, 0, seen);
  seen = Atomics.load(ctl, 0);
  const count = Atomics.load(ctl, 1);
  for (let i = 0; i < count; i++) runCall(functions, rows, q, i, index, threads);
  Atomics.add(ctl, 2, 1);
  Atomics.notify(ctl, 2);
}
`;

/** Runs thread `index`'s part of queued call `i`: its share of a tile call's rows, a whole call queued for it, or a barrier. */
function runCall(functions: ((...args: number[]) => void)[], rows: number[], q: Int32Array, i: number, index: number, threads: number): void {
  const o = i * 12;
  const f = q[o]!;
  const thread = q[o + 1]!;
  if (f < 0) barrier(q, o, threads);
  else if (thread < 0) runShare(functions, rows, q, i, index, threads);
  else if (thread === index) functions[f]!(q[o + 2]!, q[o + 3]!, q[o + 4]!, q[o + 5]!, q[o + 6]!, q[o + 7]!, q[o + 8]!, q[o + 9]!, q[o + 10]!, q[o + 11]!);
}

/** Waits until every thread has reached the barrier queued as call `o / 12` (its arrival count is in the call's first argument). */
function barrier(q: Int32Array, o: number, threads: number): void {
  if (Atomics.add(q, o + 2, 1) + 1 === threads) {
    Atomics.notify(q, o + 2);
    return;
  }
  // Spin a little (tens of µs) before sleeping: waking from Atomics.wait takes that long or longer here.
  for (let i = 0; i < SPIN_LOADS && Atomics.load(q, o + 2) < threads; i++);
  for (let arrived = Atomics.load(q, o + 2); arrived < threads; arrived = Atomics.load(q, o + 2)) Atomics.wait(q, o + 2, arrived);
}

/** Runs thread `index`'s share (of `threads`) of the row blocks of queued tile call `i`. */
function runShare(tiles: ((...args: number[]) => void)[], rows: number[], q: Int32Array, i: number, index: number, threads: number): void {
  const o = i * 12;
  const f = q[o]!;
  const a = o + 2;
  const blocks = q[a + 8]!;
  const first = Math.floor((blocks * index) / threads);
  const end = Math.floor((blocks * (index + 1)) / threads);
  if (end <= first) return;
  const step = rows[f]! * first;
  tiles[f]!(q[a]! + step * q[a + 1]!, q[a + 1]!, q[a + 2]!, q[a + 3]!, q[a + 4]! + step * q[a + 5]!, q[a + 5]!, q[a + 6]!, q[a + 7]!, end - first, q[a + 9]!);
}

interface WorkerLike {
  unref(): void;
}
type WorkerThreads = { Worker: new (code: string, options: { eval: true; workerData: unknown }) => WorkerLike };

interface Pool {
  threads: number;
  control: Int32Array;
  queue: Int32Array;
  /** The worker module's functions instantiated on the calling thread, by index, and each tile function's rows (0: whole calls). */
  functions: ((...args: number[]) => void)[];
  rows: number[];
}

const pools = new WeakMap<object, Map<boolean, Pool | null>>();

/** Worker threads on `memory` (created once per memory and kind of SIMD), or null where Node's worker_threads are missing. */
function poolFor(memory: object, threads: number, relaxed: boolean): Pool | null {
  let byKind = pools.get(memory);
  if (!byKind) pools.set(memory, (byKind = new Map()));
  const cached = byKind.get(relaxed);
  if (cached !== undefined && (cached === null || cached.threads === threads)) return cached;
  const getBuiltin = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule;
  const workerThreads = getBuiltin?.('node:worker_threads') as WorkerThreads | undefined;
  if (!workerThreads) {
    byKind.set(relaxed, null);
    return null;
  }
  const control = new SharedArrayBuffer(3 * 4);
  const queue = new SharedArrayBuffer(QUEUE_CALLS * CALL_INTS * 4);
  const bytes = assembleModule([...tileFunctions(relaxed), ...wholeFunctions()], true);
  for (let index = 1; index < threads; index++) {
    // Unref'd: a worker waiting for work must not keep the process alive.
    new workerThreads.Worker(workerSource(), { eval: true, workerData: { memory, bytes, control, queue, index, threads } }).unref();
  }
  // The calling thread runs the same module's functions as the workers.
  const wasm = (globalThis as unknown as { WebAssembly: { Instance: new (m: object, i: object) => { exports: Record<string, (...args: number[]) => void> }; Module: new (b: Uint8Array) => object } }).WebAssembly;
  const { exports } = new wasm.Instance(new wasm.Module(bytes), { e: { m: memory } });
  const names = functionNames();
  const functions = names.map((n) => exports[n]!);
  const rows = names.map((n) => (n.startsWith('tile_') ? Number(n.split('_')[1]) : 0));
  const pool = { threads, control: new Int32Array(control), queue: new Int32Array(queue), functions, rows };
  byKind.set(relaxed, pool);
  return pool;
}

let productThreads = 1;

/** Sets how many threads the queued heap products use (`setupBackend` sets the wasm backend's thread count). */
export function setProductThreads(threads: number): void {
  productThreads = Math.max(1, Math.floor(threads));
}

/** The thread count set by `setProductThreads` (1 until then). */
export const productThreadCount = (): number => productThreads;

/**
 * `kernels` on `threads` threads (see the file comment for which products may use them): tile calls are queued, and
 * `finish()` runs them and returns when all threads are done. Returns `kernels` itself for one thread, an unshared
 * `memory` (the single-threaded wasm build) or where workers cannot start.
 */
export function threadedTiles(kernels: TileKernels, memory: object | undefined, threads = productThreads): TileKernels {
  const shared = typeof SharedArrayBuffer !== 'undefined' && (memory as { buffer?: unknown } | undefined)?.buffer instanceof SharedArrayBuffer;
  const pool = threads > 1 && memory && shared ? poolFor(memory, threads, kernels.relaxed) : null;
  if (!pool) return kernels;
  const { functions, rows } = pool;
  let count = 0;
  const finish = () => {
    if (count === 0) return;
    const ctl = pool.control;
    Atomics.store(ctl, 1, count);
    Atomics.store(ctl, 2, 0);
    Atomics.add(ctl, 0, 1);
    Atomics.notify(ctl, 0);
    for (let i = 0; i < count; i++) runCall(functions, rows, pool.queue, i, 0, pool.threads);
    for (let i = 0; i < SPIN_LOADS && Atomics.load(ctl, 2) < pool.threads - 1; i++); // as in `barrier`
    for (let done = Atomics.load(ctl, 2); done < pool.threads - 1; done = Atomics.load(ctl, 2)) Atomics.wait(ctl, 2, done);
    count = 0;
  };
  const q = pool.queue;
  const queue = (f: number, thread: number, args: number[]) => {
    if (count === QUEUE_CALLS) finish();
    const o = count * CALL_INTS;
    q[o] = f;
    q[o + 1] = thread;
    for (let i = 0; i < CALL_INTS - 2; i++) q[o + 2 + i] = i < args.length ? args[i]! : 0;
    count++;
  };
  return {
    relaxed: kernels.relaxed,
    threads: pool.threads,
    tile: (r, v) => {
      const f = TILE_ROWS.indexOf(r) * TILE_VECTORS.length + TILE_VECTORS.indexOf(v);
      return (...args) => queue(f, -1, args);
    },
    call: (name, args, thread) => {
      const f = functionIndex().get(name);
      if (f === undefined) throw new Error(`No heap function named ${name} in the worker module.`);
      queue(f, thread % pool.threads, args);
    },
    barrier: () => queue(-1, 0, []),
    finish,
  };
}
