// The page's script: src/client bundled with esbuild (tfjs, its backends and the @steel packages, read from source).
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { build } from 'esbuild';
import { VIEWER_ROOT } from './sources.ts';

/** The bundled client script and the folders holding tfjs-backend-wasm's and onnxruntime-web's `.wasm` binaries. */
export interface ClientBundle {
  readonly js: string;
  readonly wasmDir: string;
  readonly ortDir: string;
  readonly seconds: number;
}

let cached: Promise<ClientBundle> | undefined;

/** Bundles the page's script once per process (about a second); later calls return the same bundle. */
export function bundleClient(): Promise<ClientBundle> {
  cached ??= (async () => {
    const started = performance.now();
    const result = await build({
      entryPoints: [join(VIEWER_ROOT, 'src', 'client', 'main.ts')],
      bundle: true,
      write: false,
      outfile: join(VIEWER_ROOT, 'dist', 'app.js'),
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      minify: true,
      legalComments: 'none',
      conditions: ['@steel/source'],
      // Node-only branches of the packages (dynamic imports that never run in a browser).
      external: ['node:*', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'webgpu', 'worker_threads', 'fs', 'path', 'os', 'crypto', 'perf_hooks'],
      define: { 'process.env.NODE_ENV': '"production"' },
      logLevel: 'silent',
    });
    const js = result.outputFiles.find((f) => f.path.endsWith('.js'))?.text;
    if (js === undefined) throw new Error('esbuild produced no script for the page.');
    const require = createRequire(import.meta.url);
    const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    // onnxruntime-web's exports map hides dist/; its Node entry lives there too.
    const ortDir = dirname(require.resolve('onnxruntime-web'));
    return { js, wasmDir, ortDir, seconds: (performance.now() - started) / 1000 };
  })();
  return cached;
}
