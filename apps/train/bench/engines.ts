// `predict` on 64 synthetic 256x1600 images with the onnxruntime engine and with the tfjs engine, in the same run, on the
// same model (UNet-ResNet18, 1 channel, 4 classes; speed does not depend on the weights): images/s of each and their ratio.
// Run: pnpm --filter train bench:engines   (IMAGES=64, THREADS=2, ENCODER=resnet18, ARCHITECTURE=unet, BATCH=4)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import '@tensorflow/tfjs-backend-cpu';
import { createModel } from '@steel/models';
import { report, type BenchRow } from '../../../tooling/bench/report.ts';
import { saveModelDir } from '../src/checkpoint.ts';

const APP = resolve(fileURLToPath(import.meta.url), '../..');
const IMAGES = Number(process.env['IMAGES'] ?? 64);
const THREADS = Number(process.env['THREADS'] ?? 2);
const BATCH = Number(process.env['BATCH'] ?? 4);
const ARCHITECTURE = process.env['ARCHITECTURE'] ?? 'unet';
const ENCODER = process.env['ENCODER'] ?? 'resnet18';
const work = join(APP, '.cache', 'bench-engines');
const data = join(work, `synthetic-256x1600-t${IMAGES}`);
const modelDir = join(work, `${ARCHITECTURE}-${ENCODER}`);

function cli(args: string[]): { stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--conditions=@steel/source', '--import', 'tsx', join(APP, 'src/main.ts'), ...args], {
    cwd: APP,
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  if (r.status !== 0) throw new Error(`steel-train ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

if (!existsSync(join(data, 'dataset.json'))) cli(['generate', '--out', data, '--count', '1', '--test-count', String(IMAGES), '--size', '256x1600']);
if (!existsSync(join(modelDir, 'weights.json'))) {
  const identity = { architecture: ARCHITECTURE, encoder: ENCODER, inChannels: 1, classes: 4 };
  const net = createModel({ ...identity, architecture: ARCHITECTURE as 'unet', encoder: ENCODER as 'resnet18', seed: 1, headBias: -3.9 });
  await saveModelDir(modelDir, net, identity);
  net.dispose();
}
const model = modelDir;

const rows: BenchRow[] = [];
const load = [loadavg()[0]!];
for (const engine of ['onnxruntime', 'tfjs']) {
  const started = performance.now();
  const { stdout, stderr } = cli(['predict', '--models', model, '--images', join(data, 'test_images'), '--out', join(work, `${engine}.csv`),
    '--engine', engine, '--backend', 'wasm', '--threads', String(THREADS), '--batch-size', String(BATCH)]);
  const seconds = (performance.now() - started) / 1000;
  const rate = Number(/([\d.]+) images\/s/.exec(stdout)?.[1]);
  const used = /Engine: (.*)/.exec(stderr)?.[1] ?? engine;
  rows.push({ engine: used, images: IMAGES, 'images/s': Number(rate.toFixed(3)), 'ms/image': Number((1000 / rate).toFixed(0)), 'process s': Number(seconds.toFixed(1)) });
  load.push(loadavg()[0]!);
}
const ratio = (rows[0]!['images/s'] as number) / (rows[1]!['images/s'] as number);
rows.push({ engine: 'onnxruntime / tfjs', images: IMAGES, 'images/s': Number(ratio.toFixed(2)), 'ms/image': null, 'process s': null });
report('predict-engines', rows, {
  command: 'pnpm --filter train bench:engines',
  model: `${ARCHITECTURE}-${ENCODER}, 1 channel, 4 classes`,
  images: `${IMAGES} synthetic 256x1600`,
  threads: THREADS,
  batchSize: BATCH,
  loadAverage1m: load.map((l) => Number(l.toFixed(2))),
  ratio,
});
