// `predict` on 64 synthetic 256x1600 images with the onnxruntime engine and with the tfjs engine, on the same model
// (UNet-ResNet18, 1 channel, 4 classes; speed does not depend on the weights), no TTA on either side: images/s of each and
// their ratio. The load of this machine changes by the minute, so the images are predicted in ROUNDS chunks and the engines
// alternate chunk by chunk (A B B A A B ...); each engine's images/s is its images over its summed predict time. A stage
// breakdown, measured in this process on the first BATCH images, follows: each engine's whole predictor (normalise, pad,
// forward, crop, sigmoid) with its forward pass timed inside the same call; the rest of ms/image is image decoding,
// post-processing, RLE and the CSV (measured in the rounds, under another moment's load).
// Run: pnpm --filter train bench:engines   (IMAGES=64, ROUNDS=4, THREADS=2, ENCODER=resnet18, ARCHITECTURE=unet, BATCH=4)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import '@tensorflow/tfjs-backend-cpu';
import { readImage } from '@steel/data';
import { createPredictor, type InferenceEngine } from '@steel/inference';
import { createModel } from '@steel/models';
import { report, type BenchRow } from '../../../tooling/bench/report.ts';
import { initBackend } from '../src/backend.ts';
import { saveModelDir } from '../src/checkpoint.ts';
import { chooseEngine } from '../src/engines.ts';
import { createEngines, disposeMembers, loadMember } from '../src/inference.ts';

const APP = resolve(fileURLToPath(import.meta.url), '../..');
const IMAGES = Number(process.env['IMAGES'] ?? 64);
const ROUNDS = Math.max(1, Math.min(IMAGES, Number(process.env['ROUNDS'] ?? 4)));
const THREADS = Number(process.env['THREADS'] ?? 2);
const BATCH = Number(process.env['BATCH'] ?? 4);
const ARCHITECTURE = process.env['ARCHITECTURE'] ?? 'unet';
const ENCODER = process.env['ENCODER'] ?? 'resnet18';
const ENGINES = ['onnxruntime', 'tfjs'] as const;
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

// The rounds' image folders: links to the generated images, IMAGES / ROUNDS each.
const names = readdirSync(join(data, 'test_images')).filter((n) => /\.(png|jpe?g)$/i.test(n)).sort().slice(0, IMAGES);
const roundDirs = Array.from({ length: ROUNDS }, (_, r) => {
  const dir = join(work, `rounds-${IMAGES}-${ROUNDS}`, String(r));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const n of names.filter((_, i) => i % ROUNDS === r)) symlinkSync(join(data, 'test_images', n), join(dir, n));
  return { dir, images: names.filter((_, i) => i % ROUNDS === r).length };
});

const totals = new Map(ENGINES.map((e) => [e, { images: 0, seconds: 0, process: 0, description: e as string }]));
const load = [loadavg()[0]!];
for (let r = 0; r < ROUNDS; r++) {
  const order = r % 2 === 0 ? ENGINES : [...ENGINES].reverse();
  for (const engine of order) {
    const started = performance.now();
    const { stdout, stderr } = cli(['predict', '--models', modelDir, '--images', roundDirs[r]!.dir, '--out', join(work, `${engine}-${r}.csv`),
      '--engine', engine, '--backend', 'wasm', '--threads', String(THREADS), '--batch-size', String(BATCH)]);
    const rate = Number(/([\d.]+) images\/s/.exec(stdout)?.[1]);
    const t = totals.get(engine)!;
    t.images += roundDirs[r]!.images;
    t.seconds += roundDirs[r]!.images / rate;
    t.process += (performance.now() - started) / 1000;
    t.description = /Engine: (.*)/.exec(stderr)?.[1] ?? engine;
    load.push(loadavg()[0]!);
    process.stderr.write(`round ${r + 1}/${ROUNDS} ${engine}: ${rate} images/s (load ${loadavg()[0]!.toFixed(2)})\n`);
  }
}

// Stage breakdown in this process: the same images through each engine's whole predictor (normalise, pad, forward, crop,
// sigmoid), timing the engine's forward pass inside the same call; engines alternate, median of RUNS after one warm-up.
const RUNS = Number(process.env['RUNS'] ?? 3);
await initBackend({ backend: 'wasm', threads: THREADS });
const member = await loadMember(modelDir);
const engines = new Map<string, InferenceEngine>();
for (const e of ENGINES) engines.set(e, (await createEngines([member], await chooseEngine(e, 'cpu', THREADS), { device: 'cpu', threads: THREADS }))[0]!);
const images = await Promise.all(names.slice(0, BATCH).map((n) => readImage(join(data, 'test_images', n), { channels: 1 })));
const stage = new Map(ENGINES.map((e) => [e, { forward: [] as number[], predictor: [] as number[] }]));
for (let run = 0; run <= RUNS; run++) {
  for (const e of run % 2 === 0 ? ENGINES : [...ENGINES].reverse()) {
    const engine = engines.get(e)!;
    let forward = 0;
    const timed: InferenceEngine = {
      ...engine,
      run: async (batch) => {
        const t0 = performance.now();
        const out = await engine.run(batch);
        forward += performance.now() - t0;
        return out;
      },
    };
    const predictor = createPredictor([{ engine: timed, scale: member.scale, normalization: member.normalization }]);
    const t0 = performance.now();
    await predictor.predict(images);
    const whole = performance.now() - t0;
    if (run > 0) {
      stage.get(e)!.forward.push(forward / images.length);
      stage.get(e)!.predictor.push(whole / images.length);
    }
  }
}
load.push(loadavg()[0]!);
await disposeMembers([member], [...engines.values()]);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const rows: BenchRow[] = [];
const breakdown: Record<string, Record<string, number>> = {};
for (const e of ENGINES) {
  const t = totals.get(e)!;
  const s = stage.get(e)!;
  const perImage = (1000 * t.seconds) / t.images;
  const forward = median(s.forward);
  const predictor = median(s.predictor);
  const around = median(s.predictor.map((p, i) => p - s.forward[i]!));
  breakdown[e] = {
    'forward ms/image': Math.round(forward),
    'predictor ms/image': Math.round(predictor),
    'pre/post-processing around the forward pass ms/image': Math.round(around),
  };
  rows.push({
    engine: t.description,
    images: t.images,
    'images/s': Number((t.images / t.seconds).toFixed(3)),
    'ms/image': Math.round(perImage),
    'forward ms/image': Math.round(forward),
    'predictor ms/image': Math.round(predictor),
    'process s': Number(t.process.toFixed(1)),
  });
}
const [ort, tfjs] = ENGINES.map((e) => totals.get(e)!);
const ratio = ort!.images / ort!.seconds / (tfjs!.images / tfjs!.seconds);
const forwardRatio = median(stage.get('tfjs')!.forward) / median(stage.get('onnxruntime')!.forward);
rows.push({ engine: 'onnxruntime / tfjs', images: IMAGES, 'images/s': Number(ratio.toFixed(2)), 'ms/image': null, 'forward ms/image': Number(forwardRatio.toFixed(2)), 'predictor ms/image': null, 'process s': null });
report('predict-engines', rows, {
  command: 'pnpm --filter train bench:engines',
  model: `${ARCHITECTURE}-${ENCODER}, 1 channel, 4 classes`,
  images: `${IMAGES} synthetic 256x1600, in ${ROUNDS} rounds alternating the engines`,
  tta: 'none (both engines)',
  threads: THREADS,
  batchSize: BATCH,
  tfjsBackend: 'wasm',
  loadAverage1m: load.map((l) => Number(l.toFixed(2))),
  ratio,
  forwardRatio,
  breakdown,
});
