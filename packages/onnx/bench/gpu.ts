// GPU timings, run by scripts/gpu-bench.sh: UNet training steps and forward passes on tfjs' webgpu backend (Dawn on Vulkan),
// and the forward pass of the same model exported to ONNX on onnxruntime-node's CUDA execution provider when it is
// installed (its CPU provider as the reference). On a software Vulkan device (llvmpipe) the shapes are small and the rows
// say so. Environment: STEEL_GPU_BENCH_SIZE=small|full (default: full on a hardware adapter, small on a software one),
// STEEL_GPU_INFO (JSON from nvidia-smi, set by the script).
import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import * as ort from 'onnxruntime-node';
import { setupBackend } from '@steel/backend';
import { createModel, type EncoderName } from '@steel/models';
import { report, timeMsAsync, type BenchRow } from '../../../tooling/bench/report.ts';
import { exportOnnx } from '../src/index.ts';

interface Case {
  op: 'train' | 'forward';
  encoder: EncoderName;
  /** NHWC. */
  shape: [number, number, number, number];
}

const CASES: Record<'small' | 'full', Case[]> = {
  small: [
    { op: 'train', encoder: 'resnet18', shape: [2, 64, 64, 1] },
    { op: 'forward', encoder: 'resnet18', shape: [1, 64, 320, 1] },
  ],
  full: [
    // The same shapes as the models bench on wasm, and the competition's full image.
    { op: 'train', encoder: 'resnet18', shape: [2, 128, 256, 1] },
    { op: 'train', encoder: 'resnet18', shape: [8, 256, 416, 1] },
    { op: 'train', encoder: 'resnet34', shape: [8, 256, 416, 1] },
    { op: 'forward', encoder: 'resnet18', shape: [1, 256, 1600, 1] },
    { op: 'forward', encoder: 'resnet34', shape: [8, 256, 1600, 1] },
  ],
};

const setup = await setupBackend({ backend: 'webgpu' });
const software = /software adapter/.test(setup.reason);
const size = (process.env['STEEL_GPU_BENCH_SIZE'] ?? (software ? 'small' : 'full')) as 'small' | 'full';
if (!(size in CASES)) throw new Error(`STEEL_GPU_BENCH_SIZE must be small or full, got ${size}.`);
const device = software ? 'software Vulkan (llvmpipe): not a GPU; times are CPU times' : 'hardware adapter';
console.log(`${setup.reason}\n${size} shapes`);

const rows: BenchRow[] = [];
const row = (engine: string, c: Case, ms: number | null, note = '') => {
  rows.push({ engine, model: `unet-${c.encoder}`, op: c.op === 'train' ? 'train step (fwd+BCE+bwd+Adam)' : 'forward', shape: `[${c.shape.join(',')}]`, ms: ms === null ? null : Math.round(ms), imagesPerS: ms === null ? null : Number(((c.shape[0] * 1000) / ms).toFixed(2)), note });
  console.log(JSON.stringify(rows.at(-1)));
};

/** The median over 3 runs after one warm-up (shader compilation) of a training step or a forward pass on webgpu. */
async function timeWebgpu(c: Case): Promise<number> {
  const model = createModel({ architecture: 'unet', encoder: c.encoder, inChannels: c.shape[3], classes: 4, seed: 0 });
  const x = tf.randomUniform(c.shape, 0, 1, 'float32', 1);
  const y = tf.cast(tf.greater(tf.randomUniform([...c.shape.slice(0, 3), 4], 0, 1, 'float32', 2), 0.9), 'float32');
  const optimizer = tf.train.adam(1e-3);
  try {
    return await timeMsAsync(
      async () => {
        const out = c.op === 'train'
          ? optimizer.minimize(() => tf.losses.sigmoidCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true)!
          : (model.predict(x) as tf.Tensor);
        await out.data();
        out.dispose();
      },
      { runs: 3, warmup: 1 },
    );
  } finally {
    optimizer.dispose();
    model.dispose();
    tf.dispose([x, y]);
  }
}

/** The median forward pass of the exported model on onnxruntime-node with one execution provider (NCHW input). */
async function timeOnnx(c: Case, provider: 'cuda' | 'cpu'): Promise<number> {
  const model = createModel({ architecture: 'unet', encoder: c.encoder, inChannels: c.shape[3], classes: 4, seed: 0 });
  const bytes = exportOnnx(model);
  model.dispose();
  const session = await ort.InferenceSession.create(bytes, { executionProviders: [provider], graphOptimizationLevel: 'all' });
  try {
    const [n, h, w, ch] = c.shape;
    const image = new ort.Tensor('float32', new Float32Array(n * ch * h * w).map((_, i) => (i % 251) / 251), [n, ch, h, w]);
    return await timeMsAsync(async () => void (await session.run({ image })), { runs: 3, warmup: 1 });
  } finally {
    await session.release();
  }
}

for (const c of CASES[size]) row('tfjs webgpu', c, await timeWebgpu(c), software ? 'llvmpipe (CPU)' : '');

const skipped: Record<string, string> = {};
for (const provider of ['cuda', 'cpu'] as const) {
  for (const c of CASES[size].filter((k) => k.op === 'forward')) {
    try {
      row(`onnxruntime-node ${provider}`, c, await timeOnnx(c, provider));
    } catch (error) {
      const hint = provider === 'cuda' ? ' (the CUDA provider comes from onnxruntime-node\'s install script: see scripts/gpu-bench.sh)' : '';
      skipped[`onnxruntime-node ${provider}`] = `${String((error as Error).message ?? error).split('\n')[0]!.slice(0, 300)}${hint}`;
      console.log(`onnxruntime-node ${provider}: ${skipped[`onnxruntime-node ${provider}`]}`);
      break;
    }
  }
}

const gpuInfo = process.env['STEEL_GPU_INFO'] ? (JSON.parse(process.env['STEEL_GPU_INFO']) as unknown) : null;
report('gpu', rows, { adapter: setup.reason, device, size, gpu: gpuInfo, loadAverage: os.loadavg(), onnxruntime: ort.env.versions, skipped });
process.exit(0); // Dawn keeps the event loop alive
