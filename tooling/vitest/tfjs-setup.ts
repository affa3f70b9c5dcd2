// Test setup for every package that runs tfjs: a known backend, no tfjs-node banner, and a tensor-leak check per test.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterEach, beforeEach, expect } from 'vitest';

process.env['IS_TEST'] = 'true';
await tf.setBackend('cpu');
await tf.ready();

let before = 0;
beforeEach(() => {
  before = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors, 'tensors leaked by this test').toBe(before);
});
