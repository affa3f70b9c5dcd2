import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ImageEntry, KaggleDataset } from './dataset.ts';
import { DataError, type DataErrorCode } from './errors.ts';
import { createRandom, hashSeed, shuffled } from './random.ts';
import { loadSample, resolveTransform, type Sample, type SampleConfig, type SampleJob, type SampleTransform, type TransformSpec } from './sample.ts';

/** A batch: `images` is NHWC float `[B, H, W, C]`, `masks` is NHWC 0/1 `[B, H, W, classes]`. */
export interface Batch {
  readonly ids: readonly string[];
  readonly images: Float32Array;
  readonly masks: Uint8Array;
  readonly imageShape: readonly [number, number, number, number];
  readonly maskShape: readonly [number, number, number, number];
  readonly epoch: number;
  /** Index of the batch within its epoch. */
  readonly step: number;
}

/** Options of {@link createLoader}. */
export interface LoaderOptions {
  readonly dataset: Pick<KaggleDataset, 'images' | 'height' | 'width' | 'classes'>;
  /** Ids to load, e.g. one side of a split; default every image of `dataset`. */
  readonly ids?: readonly string[];
  readonly batchSize: number;
  /** Seeded shuffle each epoch. Default true. */
  readonly shuffle?: boolean;
  /** Seeds the shuffles and every sample's transform. Default 0. */
  readonly seed?: number;
  /** Epochs to iterate. Default 1. */
  readonly epochs?: number;
  /** Number of the first epoch (seeds depend on it), to resume. Default 0. */
  readonly startEpoch?: number;
  /** Drop the last incomplete batch of an epoch. Default false. */
  readonly dropLast?: boolean;
  /** Image channels: 1 (default) or 3. */
  readonly channels?: 1 | 3;
  /** A function (this thread only) or a {@link TransformSpec} (this thread or workers). */
  readonly transform?: SampleTransform | TransformSpec;
  /** Worker threads that decode and transform; 0 (default) works in this thread (sharp still decodes off-thread). */
  readonly workers?: number;
  /** Most samples submitted but not yet handed out in a batch (bounds memory); at least `batchSize`. Default 2 x batchSize. */
  readonly maxInFlight?: number;
}

/** An async iterator of batches; `return()` (e.g. `break` in `for await`) stops it and terminates its workers. */
export interface Loader extends AsyncGenerator<Batch, void, undefined> {
  /** Batches per epoch. */
  readonly batchesPerEpoch: number;
  /** Worker threads currently running: 0 before the first `next()`, after the end and after `return()`. */
  readonly activeWorkers: number;
}

interface Runner {
  run(job: SampleJob): Promise<Sample>;
  close(): Promise<void>;
  active(): number;
}

function workerEntry(): { entry: string | URL; eval: boolean; execArgv: string[] } {
  // From source (vitest, tsx) the worker is TypeScript: a small script registers tsx in the worker, then imports it.
  // From dist it is plain JavaScript beside this file.
  if (import.meta.url.endsWith('.ts')) {
    const api = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
    const worker = new URL('./loader-worker.ts', import.meta.url).href;
    const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(worker)}); });`;
    return { entry: code, eval: true, execArgv: ['--conditions=@steel/source'] };
  }
  return { entry: new URL('./loader-worker.js', import.meta.url), eval: false, execArgv: [] };
}

function rebuildError(error: { name: string; message: string; code?: string; file?: string; expected?: string; found?: string }): Error {
  if (error.name === 'DataError') {
    const details = { ...(error.file === undefined ? {} : { file: error.file }), ...(error.expected === undefined ? {} : { expected: error.expected }), ...(error.found === undefined ? {} : { found: error.found }) };
    return new DataError((error.code ?? 'WORKER_FAILED') as DataErrorCode, error.message, details);
  }
  return new DataError('WORKER_FAILED', `Loader worker failed: ${error.name}: ${error.message}`);
}

function workerPool(size: number, config: SampleConfig, transform: TransformSpec | undefined): Runner {
  const { entry, eval: isEval, execArgv } = workerEntry();
  const waiting = new Map<number, { resolve: (s: Sample) => void; reject: (e: Error) => void; worker: number }>();
  const load = new Array<number>(size).fill(0);
  let alive = size;
  let nextId = 0;
  let closed = false;
  const failAll = (worker: number, error: Error): void => {
    for (const [id, w] of waiting) if (w.worker === worker) {
      waiting.delete(id);
      w.reject(error);
    }
  };
  const workers = Array.from({ length: size }, (_, index) => {
    const worker = new Worker(entry, { eval: isEval, execArgv, workerData: { ...config, transform } });
    worker.on('message', (message: { jobId: number; sample?: Sample; error?: Parameters<typeof rebuildError>[0] }) => {
      const entry = waiting.get(message.jobId);
      if (entry === undefined) return;
      waiting.delete(message.jobId);
      load[index]! -= 1;
      if (message.error !== undefined) entry.reject(rebuildError(message.error));
      else entry.resolve(message.sample!);
    });
    worker.on('error', (error) => failAll(index, new DataError('WORKER_FAILED', `Loader worker ${index} crashed: ${error.message}`, {}, { cause: error })));
    worker.on('exit', (code) => {
      alive--;
      if (!closed) failAll(index, new DataError('WORKER_FAILED', `Loader worker ${index} exited with code ${code}.`));
    });
    return worker;
  });
  return {
    run(job) {
      let best = 0;
      for (let i = 1; i < size; i++) if (load[i]! < load[best]!) best = i;
      load[best]! += 1;
      const jobId = nextId++;
      return new Promise<Sample>((resolve, reject) => {
        waiting.set(jobId, { resolve, reject, worker: best });
        workers[best]!.postMessage({ jobId, job });
      });
    },
    active: () => alive,
    async close() {
      closed = true;
      await Promise.all(workers.map((w) => w.terminate()));
      for (const [id, w] of waiting) {
        waiting.delete(id);
        w.reject(new DataError('WORKER_FAILED', 'Loader closed.'));
      }
    },
  };
}

function inThread(config: SampleConfig, transform: SampleTransform | TransformSpec | undefined): Runner {
  let resolved: Promise<SampleTransform | undefined> | undefined;
  return {
    async run(job) {
      resolved ??= typeof transform === 'object' ? resolveTransform(transform) : Promise.resolve(transform);
      return loadSample(job, config, await resolved);
    },
    async close() {},
    active: () => 0,
  };
}

function checkInt(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new DataError('INVALID_ARGUMENT', `createLoader: expected ${name} to be an integer >= ${min}, got ${value}.`, { column: name, expected: `integer >= ${min}`, found: String(value) });
  }
}

/**
 * Returns an async iterator of batches over `ids` for `epochs` epochs: seeded shuffling, decoding and the transform in
 * this thread or on `workers` worker threads, prefetching up to `maxInFlight` samples. The order of batches and every
 * sample's transform seed depend only on `seed`, epoch and position, never on worker timing, so a run with workers
 * equals a run without.
 * @throws {DataError} `INVALID_ARGUMENT` for bad options, `INVALID_SPLIT` for an id not in the dataset (at call time);
 * while iterating, errors of {@link readImage} or the transform, or `WORKER_FAILED`.
 * @example for await (const batch of createLoader({ dataset, ids: split.train, batchSize: 2, seed: 1, workers: 2 })) train(batch);
 */
export function createLoader(options: LoaderOptions): Loader {
  const { dataset, batchSize, shuffle = true, seed = 0, epochs = 1, startEpoch = 0, dropLast = false, channels = 1, transform, workers = 0 } = options;
  checkInt('batchSize', batchSize, 1);
  checkInt('epochs', epochs, 0);
  checkInt('startEpoch', startEpoch, 0);
  checkInt('workers', workers, 0);
  const maxInFlight = options.maxInFlight ?? 2 * batchSize;
  checkInt('maxInFlight', maxInFlight, batchSize);
  if (channels !== 1 && channels !== 3) throw new DataError('INVALID_ARGUMENT', `createLoader: expected channels 1 or 3, got ${String(channels)}.`);
  if (workers > 0 && typeof transform === 'function') {
    throw new DataError('INVALID_ARGUMENT', 'createLoader: a transform function cannot cross to worker threads; pass a TransformSpec { module, exportName, options } or set workers: 0.', { column: 'transform', expected: 'TransformSpec', found: 'function' });
  }
  let entries: readonly ImageEntry[] = dataset.images;
  if (options.ids !== undefined) {
    const byId = new Map(dataset.images.map((e) => [e.id, e]));
    entries = options.ids.map((id) => {
      const entry = byId.get(id);
      if (entry === undefined) throw new DataError('INVALID_SPLIT', `createLoader: id ${id} is not an image of the dataset.`, { found: id });
      return entry;
    });
  }
  const perEpoch = dropLast ? Math.floor(entries.length / batchSize) : Math.ceil(entries.length / batchSize);
  const config: SampleConfig = { height: dataset.height, width: dataset.width, classes: dataset.classes, channels };
  const state = { runner: undefined as Runner | undefined };
  const generator = iterate(entries, { batchSize, shuffle, seed, epochs, startEpoch, perEpoch, maxInFlight, config, transform, workers }, state);
  return Object.defineProperties(generator, {
    batchesPerEpoch: { value: perEpoch, enumerable: true },
    activeWorkers: { get: () => state.runner?.active() ?? 0, enumerable: true },
  }) as Loader;
}

interface Plan {
  batchSize: number;
  shuffle: boolean;
  seed: number;
  epochs: number;
  startEpoch: number;
  perEpoch: number;
  maxInFlight: number;
  config: SampleConfig;
  transform: SampleTransform | TransformSpec | undefined;
  workers: number;
}

async function* iterate(entries: readonly ImageEntry[], plan: Plan, state: { runner: Runner | undefined }): AsyncGenerator<Batch, void, undefined> {
  const { batchSize, shuffle, seed, epochs, startEpoch, perEpoch, maxInFlight, config, workers } = plan;
  if (perEpoch === 0 || epochs === 0) return;
  const transform = plan.transform;
  const runner = workers > 0 ? workerPool(workers, config, transform as TransformSpec | undefined) : inThread(config, transform);
  state.runner = runner;
  // Flatten epochs into one sequence of batches; each batch is a list of (epoch, position) jobs.
  const batches: { epoch: number; step: number; jobs: SampleJob[] }[] = [];
  for (let e = startEpoch; e < startEpoch + epochs; e++) {
    const order = shuffle ? shuffled(entries, createRandom(hashSeed(seed, e, 0x5a5a))) : entries;
    for (let step = 0; step < perEpoch; step++) {
      const jobs = order.slice(step * batchSize, (step + 1) * batchSize).map((entry, k): SampleJob => {
        const index = step * batchSize + k;
        return { id: entry.id, file: entry.file, rles: entry.rles, seed: hashSeed(seed, e, index), epoch: e, index };
      });
      batches.push({ epoch: e, step, jobs });
    }
  }
  const pending: Promise<Sample>[][] = [];
  let submitted = 0; // samples submitted and not yet handed out
  let nextBatch = 0;
  const fill = (): void => {
    while (nextBatch < batches.length && submitted + batches[nextBatch]!.jobs.length <= maxInFlight) {
      const promises = batches[nextBatch]!.jobs.map((job) => {
        const p = runner.run(job);
        p.catch(() => undefined); // observed when awaited; avoids unhandled rejections after an early stop
        return p;
      });
      pending.push(promises);
      submitted += promises.length;
      nextBatch++;
    }
  };
  try {
    for (const batch of batches) {
      fill();
      const samples = await Promise.all(pending.shift()!);
      submitted -= samples.length;
      fill();
      yield assemble(batch, samples, config.classes);
    }
  } finally {
    await runner.close();
  }
}

function assemble(batch: { epoch: number; step: number; jobs: SampleJob[] }, samples: Sample[], classes: number): Batch {
  const first = samples[0]!;
  const { height, width, channels } = first;
  for (const [k, s] of samples.entries()) {
    if (s.height !== height || s.width !== width || s.channels !== channels) {
      throw new DataError('INVALID_ARGUMENT', `Batch ${batch.step} of epoch ${batch.epoch}: sample ${batch.jobs[k]!.id} is ${s.height}x${s.width}x${s.channels}, expected ${height}x${width}x${channels} like the first; the transform must give one size per batch.`);
    }
  }
  const imageSize = height * width * channels;
  const maskSize = height * width * classes;
  const images = new Float32Array(samples.length * imageSize);
  const masks = new Uint8Array(samples.length * maskSize);
  samples.forEach((s, k) => {
    images.set(s.image, k * imageSize);
    masks.set(s.mask, k * maskSize);
  });
  return {
    ids: batch.jobs.map((j) => j.id),
    images,
    masks,
    imageShape: [samples.length, height, width, channels],
    maskShape: [samples.length, height, width, classes],
    epoch: batch.epoch,
    step: batch.step,
  };
}
