// GPU memory of one training step (forward, BCE, backward, Adam) and of one forward pass on tfjs' webgpu backend, for the
// training app's presets. Measured on whatever adapter Dawn finds (llvmpipe here: the buffers tfjs allocates do not depend
// on the device): after one step, tfjs-webgpu's buffer pool holds every buffer the step had in use at once, i.e. its peak.
// Each point runs in its own process (a fresh pool). Memory is affine in batch x height x width (weights, gradients and Adam
// moments are fixed; activations scale with the pixels), so each preset is measured at small shapes, fitted, checked on a
// third shape and extrapolated to its own batch and crop.
//   pnpm --filter @steel/models exec tsx --conditions=@steel/source bench/webgpu-memory.ts [out.json]
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { setupBackend } from '@steel/backend';
import { createModel, type ArchitectureName, type EncoderName } from '../src/index.ts';

interface Point {
  op: 'train' | 'forward';
  architecture: ArchitectureName;
  encoder: EncoderName;
  shape: [number, number, number, number];
}

/** One measurement in this process: the bytes tfjs-webgpu has allocated after one step (or forward) and the weights' bytes. */
async function measure(p: Point): Promise<{ bytes: number; weightBytes: number }> {
  await setupBackend({ backend: 'webgpu' });
  const model = createModel({ architecture: p.architecture, encoder: p.encoder, inChannels: p.shape[3], classes: 4, seed: 0 });
  const x = tf.randomUniform(p.shape, 0, 1, 'float32', 1);
  const y = tf.cast(tf.greater(tf.randomUniform([...p.shape.slice(0, 3), 4], 0, 1, 'float32', 2), 0.9), 'float32');
  const optimizer = tf.train.adam(1e-3);
  const out = p.op === 'train'
    ? optimizer.minimize(() => tf.losses.sigmoidCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true)!
    : (model.predict(x) as tf.Tensor);
  await out.data();
  const memory = tf.memory() as tf.MemoryInfo & { numBytesAllocatedInGPU?: number };
  const weightBytes = model.weights.reduce((n, w) => n + 4 * w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
  return { bytes: memory.numBytesAllocatedInGPU ?? Number.NaN, weightBytes };
}

if (process.argv[2] === '--point') {
  console.log(JSON.stringify(await measure(JSON.parse(process.argv[3]!) as Point)));
  process.exit(0); // Dawn keeps the event loop alive
}

const self = fileURLToPath(import.meta.url);
function point(p: Point): { bytes: number; weightBytes: number } {
  const out = execFileSync(process.execPath, [...process.execArgv, self, '--point', JSON.stringify(p)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return JSON.parse(out.trim().split('\n').pop()!) as { bytes: number; weightBytes: number };
}

interface Preset {
  name: string;
  architecture: ArchitectureName;
  encoder: EncoderName;
  channels: number;
  batch: number;
  crop: [number, number];
  /** Validation batch on full images (the app validates reference presets on whole 256x1600 images). */
  validate: [number, number, number];
}

// From apps/train's PRESETS: default trains 16 crops 32x96 of half-scale 32x200 images (padded to 32x224 for validation);
// the reference presets train 12 crops 224x512 (accumulated to 24) and validate on full 256x1600 images.
const PRESETS: Preset[] = [
  { name: 'default', architecture: 'unet', encoder: 'resnet18', channels: 1, batch: 16, crop: [32, 96], validate: [16, 32, 224] },
  { name: 'reference-unet-r34', architecture: 'unet', encoder: 'resnet34', channels: 3, batch: 12, crop: [224, 512], validate: [1, 256, 1600] },
  { name: 'reference-fpn-r34', architecture: 'fpn', encoder: 'resnet34', channels: 3, batch: 12, crop: [224, 512], validate: [1, 256, 1600] },
];

const MiB = 2 ** 20;
const rows: Record<string, unknown>[] = [];
for (const preset of PRESETS) {
  for (const op of ['train', 'forward'] as const) {
    const at = (b: number, h: number, w: number) => point({ op, architecture: preset.architecture, encoder: preset.encoder, shape: [b, h, w, preset.channels] });
    // Fit bytes = fixed + perPixel · (b·h·w) on two shapes, check it on a third.
    const [p1, p2, p3] = [[1, 64, 128], [2, 64, 128], [1, 96, 160]] as const;
    const [m1, m2, m3] = [at(...p1), at(...p2), at(...p3)];
    const n = (p: readonly number[]) => p[0]! * p[1]! * p[2]!;
    const perPixel = (m2.bytes - m1.bytes) / (n(p2) - n(p1));
    const fixed = m1.bytes - perPixel * n(p1);
    const fitError = Math.abs(fixed + perPixel * n(p3) - m3.bytes) / m3.bytes;
    const target = op === 'train' ? [preset.batch, ...preset.crop] : preset.validate;
    rows.push({
      preset: preset.name,
      op: op === 'train' ? 'train step (fwd+BCE+bwd+Adam)' : 'forward (validation)',
      shape: `[${[...target, preset.channels].join(',')}]`,
      weightsMiB: Number((m1.weightBytes / MiB).toFixed(1)),
      measured: [p1, p2, p3].map((p, i) => ({ shape: `[${[...p, preset.channels].join(',')}]`, MiB: Number(([m1, m2, m3][i]!.bytes / MiB).toFixed(1)) })),
      fitErrorOnThird: Number(fitError.toFixed(3)),
      estimatedMiB: Math.round((fixed + perPixel * n(target)) / MiB),
    });
    console.log(JSON.stringify(rows.at(-1)));
  }
}

const file = resolve(process.argv[2] ?? resolve(dirname(self), '../../../bench-results/webgpu-memory.json'));
mkdirSync(dirname(file), { recursive: true });
const adapter = execFileSync(process.execPath, [resolve(dirname(self), '../../../scripts/webgpu-adapter.mjs')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
writeFileSync(`${file}.tmp`, `${JSON.stringify({ name: 'webgpu-memory', date: new Date().toISOString(), adapter: JSON.parse(adapter) as unknown, method: 'tfjs-webgpu numBytesAllocatedInGPU after one step, fitted affine in batch*height*width', rows }, null, 2)}\n`);
renameSync(`${file}.tmp`, file);
console.log(`written ${file}`);
