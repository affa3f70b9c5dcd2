// Starts tfjs-backend-wasm's threaded SIMD binary in Node, which tfjs 4.22 does not do by itself:
// 1. its flag WASM_HAS_MULTITHREAD_SUPPORT is false in Node;
// 2. the pthread worker script is handed to Emscripten as a `blob:` URL, which Node's Worker rejects (ERR_WORKER_PATH), and
//    the main script reaches the worker as a Blob, which the worker cannot read either; both are written to real files;
// 3. the C++ side caps the thread pool at cores / 2, so the core count is reported as 2 x threads while it starts;
// 4. Emscripten refs a worker while it runs a thread, and pool threads never end, so workers are kept unref'd (the main
//    thread waits for them on shared memory, not on the event loop), otherwise the process would never exit.
// Every patch is undone when `setBackend('wasm')` has resolved.
import type * as tfCore from '@tensorflow/tfjs-core';

/** Emscripten allocates this many pthread workers at start; more threads would wait for workers that never load. */
export const WASM_MAX_THREADS = 8;

const WORKER_BLOB_BRANCH =
  'if(typeof e.data.urlOrBlob=="string"){importScripts(e.data.urlOrBlob)}else{var objectUrl=URL.createObjectURL(e.data.urlOrBlob);importScripts(objectUrl);URL.revokeObjectURL(objectUrl)}';

interface WasmModule {
  setThreadsCount(n: number): void;
}

/** Initialises the wasm backend with `threads` threads (> 1) in Node. Throws if the worker script is not the expected one. */
export async function initWasmThreadsInNode(tf: typeof tfCore, wasm: WasmModule, threads: number): Promise<void> {
  const [{ createRequire }, fs, path, os, workerThreads] = await Promise.all([
    import('node:module'),
    import('node:fs'),
    import('node:path'),
    import('node:os'),
    import('node:worker_threads'),
  ]);
  const require = createRequire(import.meta.url);
  const pkgDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  const { wasmWorkerContents } = require(path.join(pkgDir, 'wasm-out/tfjs-backend-wasm-threaded-simd.worker.js')) as {
    wasmWorkerContents: string;
  };
  // The worker source is a template literal holding "\n" escapes; tfjs escapes them the same way before making its Blob.
  const workerSource = wasmWorkerContents.replace(/\n/g, '\\n');
  if (!workerSource.includes(WORKER_BLOB_BRANCH)) {
    throw new Error('The worker script of @tensorflow/tfjs-backend-wasm is not the one of version 4.22; cannot start threads in Node.');
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'steel-wasm-'));
  const mainScript = path.join(dir, 'tfjs-backend-wasm-threaded-simd.js');
  const workerScript = path.join(dir, 'tfjs-backend-wasm-threaded-simd.worker.js');
  fs.copyFileSync(path.join(pkgDir, 'wasm-out/tfjs-backend-wasm-threaded-simd.js'), mainScript);
  fs.writeFileSync(workerScript, workerSource.replace(WORKER_BLOB_BRANCH, `importScripts(${JSON.stringify(mainScript)});`));

  const nodeOs = os.default;
  const nodeWorkers = workerThreads.default as { Worker: typeof workerThreads.Worker };
  const originalCreateObjectURL = URL.createObjectURL.bind(URL);
  const originalCpus = nodeOs.cpus;
  const OriginalWorker = nodeWorkers.Worker;
  class UnrefWorker extends OriginalWorker {
    constructor(...args: ConstructorParameters<typeof OriginalWorker>) {
      super(...args);
      this.unref();
    }
    override ref(): void {}
  }
  URL.createObjectURL = (obj: Blob) => (obj instanceof Blob && obj.type === 'application/javascript' ? workerScript : originalCreateObjectURL(obj));
  nodeOs.cpus = () => {
    const cpus = originalCpus();
    const first = cpus[0] ?? { model: 'cpu', speed: 0, times: { user: 0, nice: 0, sys: 0, idle: 0, irq: 0 } };
    while (cpus.length < 2 * threads) cpus.push(first);
    return cpus;
  };
  nodeWorkers.Worker = UnrefWorker;
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasm.setThreadsCount(threads);
  try {
    const ok = await tf.setBackend('wasm');
    if (!ok) throw new Error('tf.setBackend("wasm") returned false with threads.');
  } finally {
    URL.createObjectURL = originalCreateObjectURL;
    nodeOs.cpus = originalCpus;
    nodeWorkers.Worker = OriginalWorker;
  }
}
