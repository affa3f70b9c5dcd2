// Test setup for every package that runs tfjs: the backend comes from @steel/backend (with its kernel fixes, so no test
// trains on a broken kernel), no tfjs-node banner, and a tensor-leak check per test.
// STEEL_TEST_BACKEND picks the backend (default wasm: what training uses on CPU machines); STEEL_TEST_THREADS its wasm
// threads (default 1: test files already run in parallel).
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeEach, expect } from 'vitest';
import { BACKEND_NAMES, type BackendName, setupBackend } from '../../packages/backend/src/index.ts';

process.env['IS_TEST'] = 'true';
const backend = (process.env['STEEL_TEST_BACKEND'] ?? 'wasm') as BackendName;
if (!BACKEND_NAMES.includes(backend)) throw new Error(`STEEL_TEST_BACKEND must be one of ${BACKEND_NAMES.join(', ')}, got ${backend}.`);
await setupBackend({ backend, threads: Number(process.env['STEEL_TEST_THREADS'] ?? 1) });
// The cpu backend is started too (with its fixes), so tests can compare against it with tf.setBackend('cpu').
if (backend !== 'cpu') {
  await setupBackend({ backend: 'cpu' });
  await setupBackend({ backend, threads: Number(process.env['STEEL_TEST_THREADS'] ?? 1) });
}

let before = 0;
beforeEach(() => {
  before = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors, 'tensors leaked by this test').toBe(before);
});
