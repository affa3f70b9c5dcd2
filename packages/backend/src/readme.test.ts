// Keeps the README's usage example compiling and running.
import * as tf from '@tensorflow/tfjs-core';
import { expect, it, vi } from 'vitest';
import { isBackendError, setupBackend } from './index.ts';

it('runs the README usage example', async () => {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    const { backend, reason, threads } = await setupBackend({ backend: 'auto', threads: 2 });
    console.log(`${backend} (${threads ?? 'own'} threads): ${reason}`);
    console.log(tf.getBackend() === backend); // true
  } catch (error) {
    if (isBackendError(error) && error.code === 'NOT_INSTALLED') console.error(error.message); // says what to install
    else throw error;
  }
  expect(log).toHaveBeenLastCalledWith(true);
  log.mockRestore();
});
