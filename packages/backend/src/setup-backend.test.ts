import * as tf from '@tensorflow/tfjs-core';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { BackendError, isBackendError } from './errors.ts';
import { setupBackend } from './setup-backend.ts';

async function failure(run: () => Promise<unknown>): Promise<BackendError> {
  try {
    await run();
  } catch (error) {
    if (isBackendError(error)) return error;
    throw error;
  }
  throw new Error('expected a BackendError');
}

describe('setupBackend', () => {
  it('starts wasm with the kernel fixes and says why', async () => {
    const setup = await setupBackend({ backend: 'wasm', threads: 1 });
    expect(setup).toMatchObject({ backend: 'wasm', threads: 1 });
    expect(setup.reason).toMatch(/^requested wasm/);
    expect(setup.kernelsRegistered).toEqual(expect.arrayContaining(['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'MaxPoolGrad', 'Conv2D']));
    expect(tf.getBackend()).toBe('wasm');
  });

  it('starts cpu with its resize-gradient fixes', async () => {
    const setup = await setupBackend({ backend: 'cpu' });
    expect(setup).toMatchObject({
      backend: 'cpu',
      threads: 1,
      kernelsRegistered: ['ResizeNearestNeighborGrad', 'ResizeBilinearGrad', 'FusedBatchNorm', 'SteelBroadcastRows', 'SteelAdamUpdate', 'FusedBatchNorm (gradient)', 'Mean (gradient)', 'SteelBatchNormTraining (gradient)'],
    });
    await setupBackend({ backend: 'wasm', threads: 1 });
  });

  it('auto skips what is not installed here and lands on wasm', async () => {
    const setup = await setupBackend({ threads: 1 });
    expect(setup.backend).toBe('wasm');
    expect(setup.reason).toMatch(/^auto \(tensorflow not installed; (webgpu not installed|webgpu: .*)\): wasm/);
  });

  it('names the install command, with CUDA and cuDNN versions, when tfjs-node is missing', async () => {
    const error = await failure(() => setupBackend({ backend: 'tensorflow' }));
    expect(error.code).toBe('NOT_INSTALLED');
    expect(error.message).toMatchInlineSnapshot(
      `"Backend 'tensorflow' needs @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node, and neither is installed. Install one: npm install @tensorflow/tfjs-node@4.22.0 (CPU) or npm install @tensorflow/tfjs-node-gpu@4.22.0 (NVIDIA GPU; needs CUDA 11.2 and cuDNN 8.1)"`,
    );
    expect(tf.getBackend()).toBe('wasm');
  });

  it('fails on webgpu without the Dawn package or a Vulkan adapter', async (ctx) => {
    const error = await failure(() => setupBackend({ backend: 'webgpu' })).catch(() => null);
    if (error === null) {
      console.info('webgpu started here (a Vulkan adapter exists); the no-adapter path is not exercised.');
      ctx.skip();
    }
    expect(['NOT_INSTALLED', 'UNAVAILABLE']).toContain(error!.code);
    if (error!.code === 'NOT_INSTALLED') expect(error!.message).toContain('npm install @tensorflow/tfjs-backend-webgpu@4.22.0 webgpu');
  });

  it.each([
    { options: { backend: 'gpu' as never }, match: /Unknown backend "gpu"; expected one of auto, tensorflow, webgpu, wasm, cpu/ },
    { options: { threads: 0 }, match: /threads to be an integer from 1 to 8, got 0/ },
    { options: { threads: 2.5 }, match: /got 2.5/ },
  ])('rejects $options', async ({ options, match }) => {
    const error = await failure(() => setupBackend(options));
    expect(error).toBeInstanceOf(BackendError);
    expect(error.code).toBe('INVALID_OPTION');
    expect(error.message).toMatch(match);
  });
});

describe('wasm with 2 threads in Node', () => {
  it('starts, computes correctly and lets the process exit', async () => {
    const script = fileURLToPath(new URL('./wasm-threads.fixture.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      timeout: 60_000,
    });
    const result = JSON.parse(stdout.trim().split('\n').pop()!) as { backend: string; threads: number; maxError: number; adamEqual: boolean; dwError: number; winogradError: number; deepError: number; tapsError: number; batchNormError: number; maxPoolError: number };
    expect(result).toMatchObject({ backend: 'wasm', threads: 2, adamEqual: true, productsThreaded: true, winogradUsed: true });
    expect(result.maxError).toBeLessThan(1e-4);
    expect(result.dwError).toBeLessThan(1e-5);
    expect(result.winogradError).toBeLessThan(1e-5);
    expect(result.deepError).toBeLessThan(1e-5);
    expect(result.tapsError).toBeLessThan(1e-5);
    expect(result.batchNormError).toBeLessThan(1e-5);
    expect(result.maxPoolError).toBeLessThan(1e-6);
  }, 90_000);
});
