// Picks the tfjs backend in the browser: WebGL, else WebAssembly (binaries served by the viewer), else plain JS.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerKernelFixes } from '@steel/backend';

/** Backends in the order they are tried. */
export const BACKEND_ORDER = ['webgl', 'wasm', 'cpu'] as const;
export type BrowserBackend = (typeof BACKEND_ORDER)[number];

/** The chosen backend and why the ones before it were skipped. */
export interface BackendChoice {
  readonly name: BrowserBackend;
  readonly skipped: readonly string[];
}

/** Whether WebGL would run without a GPU: no context without a major performance caveat, or a software renderer (SwiftShader, llvmpipe). */
function softwareWebgl(): boolean {
  try {
    const canvas = document.createElement('canvas');
    const gl = canvas.getContext('webgl2', { failIfMajorPerformanceCaveat: true }) ?? canvas.getContext('webgl', { failIfMajorPerformanceCaveat: true });
    if (gl === null) return true;
    const debug = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(gl.getParameter(debug ? debug.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return /swiftshader|llvmpipe|softpipe|software|basic render/i.test(renderer);
  } catch {
    return true;
  }
}

/**
 * Sets the first backend that starts and runs a small convolution. `only` (from `?backend=` in the page's address) tries
 * just that one first.
 */
export async function initBackend(only?: string | null): Promise<BackendChoice> {
  setWasmPaths('/wasm/');
  const order = only && (BACKEND_ORDER as readonly string[]).includes(only) ? [only as BrowserBackend, ...BACKEND_ORDER.filter((b) => b !== only)] : [...BACKEND_ORDER];
  const skipped: string[] = [];
  for (const name of order) {
    if (name === 'webgl' && only !== 'webgl' && softwareWebgl()) {
      skipped.push('webgl: only a software renderer (slower than wasm here)');
      continue;
    }
    try {
      if (!(await tf.setBackend(name))) {
        skipped.push(`${name}: did not start`);
        continue;
      }
      await tf.ready();
      registerKernelFixes(name);
      const probe = tf.tidy(() => tf.sum(tf.conv2d(tf.ones([1, 8, 8, 1]) as tf.Tensor4D, tf.ones([3, 3, 1, 2]) as tf.Tensor4D, 1, 'same')));
      const value = (await probe.data())[0];
      probe.dispose();
      if (value !== 2 * (36 * 9 + 24 * 6 + 4 * 4)) {
        skipped.push(`${name}: wrong result of a test convolution (${String(value)})`);
        continue;
      }
      return { name, skipped };
    } catch (error) {
      skipped.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  throw new Error(`No TensorFlow.js backend works in this browser (${skipped.join('; ')}).`);
}
