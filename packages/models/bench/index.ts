// Training-step and forward-pass timings of UNet-ResNet18/34 on every tfjs backend that starts here, with PyTorch's time
// for the same shapes (Debian python3-torch, all cores) as a ratio when /usr/bin/python3 has torch.
// STEEL_BENCH_BACKENDS=wasm,cpu limits the backends. Training steps on the cpu backend are opt-in (STEEL_BENCH_CPU_TRAIN=1):
// its stock Conv2DBackpropFilter makes one UNet-ResNet18 step take about 90 s even at [2,32,64] and ~20 min at [2,128,256].
import * as tf from '@tensorflow/tfjs-core';
import { setupBackend, type ResolvedBackendName } from '@steel/backend';
import { pytorchLabel, pytorchMs } from '../../../tooling/bench/pytorch.ts';
import { report, timeMsAsync, type BenchRow } from '../../../tooling/bench/report.ts';
import { createModel, type EncoderName } from '../src/index.ts';

interface Case {
  op: 'train' | 'forward';
  encoder: EncoderName;
  shape: [number, number, number, number];
  /** The floor this case must reach on wasm (ms), if any. */
  wasmFloorMs?: number;
}

const CASES: Case[] = [
  { op: 'train', encoder: 'resnet18', shape: [2, 128, 256, 1], wasmFloorMs: 3700 },
  // The training app's main job: batches of 8 crops 32 x 224.
  { op: 'train', encoder: 'resnet18', shape: [8, 32, 224, 1] },
  { op: 'train', encoder: 'resnet34', shape: [2, 256, 384, 1] },
  { op: 'forward', encoder: 'resnet18', shape: [1, 256, 1600, 1] },
  { op: 'forward', encoder: 'resnet34', shape: [1, 256, 1600, 1] },
];

const torchMsByCase = new Map<Case, number | null>();

/** PyTorch's median time for a case, measured once, right after the first tfjs measurement of it (same machine load). */
function torchMs(c: Case): number | null {
  if (!torchMsByCase.has(c)) torchMsByCase.set(c, pytorchMs([c])[0] ?? null);
  return torchMsByCase.get(c)!;
}

async function timeCase(c: Case, backend: ResolvedBackendName): Promise<number> {
  const model = createModel({ architecture: 'unet', encoder: c.encoder, inChannels: 1, classes: 4, seed: 0 });
  const x = tf.randomUniform(c.shape, 0, 1, 'float32', 1);
  const y = tf.cast(tf.greater(tf.randomUniform([...c.shape.slice(0, 3), 4], 0, 1, 'float32', 2), 0.9), 'float32');
  const optimizer = tf.train.adam(1e-3);
  const variables = model.trainableWeights.map((v) => v.read() as tf.Variable);
  const slow = backend === 'cpu';
  try {
    return await timeMsAsync(
      async () => {
        if (c.op === 'train') {
          const loss = optimizer.minimize(
            () => tf.losses.sigmoidCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
            true,
            variables,
          )!;
          await loss.data();
          loss.dispose();
        } else {
          const out = model.predict(x) as tf.Tensor;
          await out.data();
          out.dispose();
        }
      },
      { runs: slow ? 1 : 3, warmup: slow ? 0 : 1 },
    );
  } finally {
    optimizer.dispose();
    model.dispose();
    tf.dispose([x, y]);
  }
}

const wanted = (process.env['STEEL_BENCH_BACKENDS'] ?? 'tensorflow,webgpu,wasm,cpu').split(',') as ResolvedBackendName[];
const rows: BenchRow[] = [];
const skipped: Record<string, string> = {};
for (const backend of wanted) {
  let threads: number | null = null;
  try {
    const setup = await setupBackend({ backend });
    threads = setup.threads;
  } catch (error) {
    skipped[backend] = (error as Error).message.slice(0, 200);
    console.log(`skipping ${backend}: ${skipped[backend]}`);
    continue;
  }
  for (const c of CASES) {
    if (backend === 'cpu' && c.op === 'train' && process.env['STEEL_BENCH_CPU_TRAIN'] !== '1') {
      skipped[`cpu ${c.op} unet-${c.encoder}`] = 'stock cpu Conv2DBackpropFilter takes minutes per step; set STEEL_BENCH_CPU_TRAIN=1';
      continue;
    }
    const ms = await timeCase(c, backend);
    const torchTime = torchMs(c);
    rows.push({
      backend,
      threads,
      model: `unet-${c.encoder}`,
      op: c.op === 'train' ? 'train step (fwd+BCE+bwd+Adam)' : 'forward',
      shape: `[${c.shape.join(',')}]`,
      ms: Math.round(ms),
      pytorchMs: torchTime === null ? null : Math.round(torchTime),
      vsPytorch: torchTime === null ? null : `${(ms / torchTime).toFixed(1)}x`,
      floorMs: backend === 'wasm' ? (c.wasmFloorMs ?? null) : null,
    });
    console.log(JSON.stringify(rows.at(-1)));
  }
}
report('models', rows, { pytorch: pytorchLabel, skipped });
