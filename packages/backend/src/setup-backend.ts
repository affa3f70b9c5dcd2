import * as tf from '@tensorflow/tfjs-core';
import { BackendError } from './errors.ts';
import { registerKernelFixes } from './kernels/register.ts';
import { setProductThreads } from './kernels/heap-threads.ts';
import { WASM_MAX_THREADS, initWasmThreadsInNode } from './wasm-node-threads.ts';

/** The backends `setupBackend` can start; `auto` picks the first that works of tensorflow, webgpu (hardware), wasm, cpu. */
export const BACKEND_NAMES = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
/** A backend name accepted by `setupBackend`. */
export type BackendName = (typeof BACKEND_NAMES)[number];
/** A backend `setupBackend` can end up on. */
export type ResolvedBackendName = Exclude<BackendName, 'auto'>;

/** Options of `setupBackend`. */
export interface SetupBackendOptions {
  /** Which backend to start; default `'auto'`. */
  backend?: BackendName;
  /**
   * Threads for the wasm backend (Node and cross-origin-isolated browsers), 1 to 8; default: the number of cores the process
   * may use, at most 8. Ignored by the other backends. Once the wasm backend has started, its thread count is fixed for the
   * life of the process.
   */
  threads?: number;
}

/** What `setupBackend` chose and why. */
export interface BackendSetup {
  /** The active tfjs backend (`tf.getBackend()`). */
  backend: ResolvedBackendName;
  /** One sentence: why this backend (and why not the faster ones, for `auto`). */
  reason: string;
  /** Threads the wasm backend runs (1 for cpu); `null` for backends that manage their own (tensorflow, webgpu). */
  threads: number | null;
  /** Kernels of the active backend that this package replaced or added, e.g. `Conv2DBackpropFilter` on wasm. */
  kernelsRegistered: string[];
}

const TFJS_VERSION = '4.22.0';
const INSTALL = {
  cpu: `npm install @tensorflow/tfjs-backend-cpu@${TFJS_VERSION}`,
  wasm: `npm install @tensorflow/tfjs-backend-wasm@${TFJS_VERSION}`,
  webgpu: `npm install @tensorflow/tfjs-backend-webgpu@${TFJS_VERSION} webgpu`,
  tensorflow: `npm install @tensorflow/tfjs-node@${TFJS_VERSION} (CPU) or npm install @tensorflow/tfjs-node-gpu@${TFJS_VERSION} (NVIDIA GPU; needs CUDA 11.2 and cuDNN 8.1)`,
} as const;

const isNode = (): boolean => typeof process !== 'undefined' && typeof process.versions?.node === 'string';

function isModuleNotFound(error: unknown, specifier: string): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: string }).code;
  const notFound = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || /Cannot find (module|package)|Failed to (load|resolve)/i.test(error.message);
  return notFound && error.message.includes(specifier);
}

/**
 * Dynamic import through a variable, so bundlers and tsc leave packages that may not be installed alone. tfjs-node(-gpu)
 * and the Dawn `webgpu` package are not declared by this package (pnpm would install optional peers, and tfjs-node's
 * install downloads libtensorflow), so under pnpm's strict layout they are looked up from the application's directory too.
 */
async function importOptional(specifier: string): Promise<unknown> {
  try {
    return await import(/* @vite-ignore */ specifier);
  } catch (error) {
    if (!isNode() || !isModuleNotFound(error, specifier)) throw error;
    const [{ createRequire }, { pathToFileURL }, path] = await Promise.all([import('node:module'), import('node:url'), import('node:path')]);
    let resolved: string;
    try {
      resolved = createRequire(path.join(process.cwd(), 'package.json')).resolve(specifier);
    } catch {
      throw error;
    }
    return import(/* @vite-ignore */ pathToFileURL(resolved).href);
  }
}

async function loadPackage(specifier: string, backend: ResolvedBackendName): Promise<unknown> {
  try {
    return await importOptional(specifier);
  } catch (error) {
    if (isModuleNotFound(error, specifier)) {
      throw new BackendError('NOT_INSTALLED', `Backend '${backend}' needs ${specifier}, which is not installed. Install it: ${INSTALL[backend as keyof typeof INSTALL]}`, { cause: error });
    }
    throw new BackendError('UNAVAILABLE', `Backend '${backend}': ${specifier} is installed but failed to load: ${String((error as Error).message ?? error).slice(0, 200)}`, { cause: error });
  }
}

async function activate(name: string): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok || tf.getBackend() !== name) throw new BackendError('UNAVAILABLE', `tf.setBackend('${name}') failed; see the warning tfjs printed above.`);
  await tf.ready();
}

function defaultThreads(): number {
  let cores = 1;
  if (isNode()) {
    const os = (globalThis as { process?: { getBuiltinModule?: (m: string) => unknown } }).process?.getBuiltinModule?.('os') as
      | { availableParallelism?: () => number; cpus(): unknown[] }
      | undefined;
    cores = os ? (os.availableParallelism?.() ?? os.cpus().length) : 1;
  } else {
    cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
  }
  return Math.max(1, Math.min(WASM_MAX_THREADS, cores));
}

async function setupCpu(): Promise<Partial<BackendSetup>> {
  await loadPackage('@tensorflow/tfjs-backend-cpu', 'cpu');
  registerKernelFixes('cpu');
  await activate('cpu');
  return { threads: 1, reason: 'cpu: pure JavaScript, correct but slow for convolutions' };
}

let wasmStartedWith: number | undefined;

/**
 * Emscripten's Node glue adds process handlers that rethrow every unhandled rejection as an uncaught exception (printing
 * its whole minified source line); they are removed again so that the host keeps Node's (or the test runner's) handling.
 */
async function withoutEmscriptenProcessHandlers<T>(run: () => Promise<T>): Promise<T> {
  if (!isNode()) return run();
  const events = ['uncaughtException', 'unhandledRejection'] as const;
  const listeners = (event: (typeof events)[number]) => process.listeners(event as 'uncaughtException') as ((...args: unknown[]) => void)[];
  const before = events.map((event) => new Set(listeners(event)));
  try {
    return await run();
  } finally {
    events.forEach((event, i) => {
      for (const listener of listeners(event)) if (!before[i]!.has(listener)) process.removeListener(event, listener);
    });
  }
}

async function setupWasm(threads: number): Promise<Partial<BackendSetup>> {
  const wasm = (await loadPackage('@tensorflow/tfjs-backend-wasm', 'wasm')) as {
    setThreadsCount(n: number): void;
    getThreadsCount(): number;
  };
  registerKernelFixes('wasm');
  // The cpu backend is registered too when its package is loaded; keep its kernels correct as well.
  if (tf.findBackendFactory('cpu')) registerKernelFixes('cpu');
  let note = '';
  if (wasmStartedWith === undefined) {
    await withoutEmscriptenProcessHandlers(async () => {
      if (threads > 1 && isNode()) {
        try {
          await initWasmThreadsInNode(tf, wasm, threads);
        } catch (error) {
          note = `; ${threads} threads failed (${String((error as Error).message ?? error).slice(0, 120)}), fell back to 1`;
          tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
          wasm.setThreadsCount(1);
          await activate('wasm');
        }
      } else {
        wasm.setThreadsCount(threads);
        await activate('wasm');
      }
    });
    wasmStartedWith = threads;
  } else {
    await activate('wasm');
  }
  const actual = wasm.getThreadsCount();
  setProductThreads(actual);
  if (wasmStartedWith !== threads && actual !== threads) note += `; already started with ${actual} thread(s), which cannot change in a running process`;
  return { threads: actual, reason: `wasm: XNNPACK SIMD kernels, ${actual} thread(s)${note}` };
}

const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|swiftshader|softpipe|software|microsoft basic render/i;

async function setupWebgpu(forAuto: boolean): Promise<Partial<BackendSetup>> {
  const g = globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } };
  if (!g.navigator?.gpu && isNode()) {
    const dawn = (await loadPackage('webgpu', 'webgpu')) as { create(flags: string[]): unknown; globals: object };
    Object.assign(globalThis, dawn.globals);
    const gpu = dawn.create([]);
    if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
    else (globalThis as { navigator?: unknown }).navigator = { gpu };
  }
  const gpu = g.navigator?.gpu;
  if (!gpu) throw new BackendError('UNAVAILABLE', 'webgpu: this runtime has no navigator.gpu.');
  const adapter = (await gpu.requestAdapter()) as { info?: Record<string, unknown>; isFallbackAdapter?: boolean } | null;
  if (!adapter) throw new BackendError('UNAVAILABLE', 'webgpu: no GPU adapter (on Linux this needs a Vulkan driver: mesa-vulkan-drivers or the NVIDIA driver).');
  const info = adapter.info ?? {};
  const label = [info['vendor'], info['architecture'], info['device'], info['description']].filter((s) => typeof s === 'string' && s).join(' ') || 'unknown adapter';
  const software = adapter.isFallbackAdapter === true || SOFTWARE_ADAPTER.test(label);
  if (software && forAuto) throw new BackendError('UNAVAILABLE', `webgpu: the only adapter is a software one (${label}), slower than wasm.`);
  await loadPackage('@tensorflow/tfjs-backend-webgpu', 'webgpu');
  await activate('webgpu');
  return { threads: null, reason: `webgpu on ${label}${software ? ' (software adapter: slower than wasm)' : ''}` };
}

async function setupTensorflow(): Promise<Partial<BackendSetup>> {
  let lastError: unknown;
  for (const specifier of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await loadPackage(specifier, 'tensorflow');
      await activate('tensorflow');
      return { threads: null, reason: `tensorflow: native libtensorflow through ${specifier}` };
    } catch (error) {
      lastError = error;
      if (!(error instanceof BackendError && error.code === 'NOT_INSTALLED')) throw error;
    }
  }
  throw new BackendError('NOT_INSTALLED', `Backend 'tensorflow' needs @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node, and neither is installed. Install one: ${INSTALL.tensorflow}`, { cause: lastError });
}

async function setupOne(name: ResolvedBackendName, threads: number, forAuto: boolean): Promise<Partial<BackendSetup>> {
  switch (name) {
    case 'tensorflow':
      return setupTensorflow();
    case 'webgpu':
      return setupWebgpu(forAuto);
    case 'wasm':
      return setupWasm(threads);
    case 'cpu':
      return setupCpu();
  }
}

/**
 * Starts a tfjs backend, registers this package's kernel fixes for it (so that convolutional networks train correctly and
 * fast), makes it the active backend and says what it chose and why. `auto` tries tensorflow (tfjs-node-gpu, then
 * tfjs-node), webgpu on a hardware adapter, wasm, then cpu, and takes the first that starts.
 * Safe to call again; the wasm thread count is fixed by the first call that starts wasm.
 * @throws {BackendError} `INVALID_OPTION` for an unknown backend or bad `threads`; `NOT_INSTALLED` (with the install command)
 * when the requested backend's package is missing; `UNAVAILABLE` when it is installed but cannot run here; `NO_BACKEND` when
 * `auto` found nothing.
 * @example
 * const { backend, reason } = await setupBackend({ backend: 'auto' });
 */
export async function setupBackend(options: SetupBackendOptions = {}): Promise<BackendSetup> {
  const { backend = 'auto', threads = defaultThreads() } = options;
  if (!(BACKEND_NAMES as readonly string[]).includes(backend)) {
    throw new BackendError('INVALID_OPTION', `Unknown backend ${JSON.stringify(String(backend)).slice(0, 80)}; expected one of ${BACKEND_NAMES.join(', ')}.`);
  }
  if (!Number.isInteger(threads) || threads < 1 || threads > WASM_MAX_THREADS) {
    throw new BackendError('INVALID_OPTION', `Expected threads to be an integer from 1 to ${WASM_MAX_THREADS}, got ${String(threads).slice(0, 80)}.`);
  }
  const finish = (name: ResolvedBackendName, partial: Partial<BackendSetup>, prefix = ''): BackendSetup => ({
    backend: name,
    reason: `${prefix}${partial.reason ?? name}`,
    threads: partial.threads ?? null,
    kernelsRegistered: registerKernelFixes(name),
  });
  if (backend !== 'auto') return finish(backend, await setupOne(backend, threads, false), 'requested ');
  const skipped: string[] = [];
  for (const name of ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const) {
    try {
      const partial = await setupOne(name, threads, true);
      return finish(name, partial, skipped.length ? `auto (${skipped.join('; ')}): ` : 'auto: ');
    } catch (error) {
      if (!(error instanceof BackendError)) throw error;
      skipped.push(error.code === 'NOT_INSTALLED' ? `${name} not installed` : error.message);
    }
  }
  throw new BackendError('NO_BACKEND', `No tfjs backend could start: ${skipped.join('; ')}. Install one: ${INSTALL.wasm}`);
}
