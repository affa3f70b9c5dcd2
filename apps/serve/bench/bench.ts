// `pnpm --filter serve bench`: HTTP latency for a 256x1600 image at concurrency 1 and 8, and batch throughput with 1 and 2
// workers next to `train predict` on the same images and model. Prints a table, writes bench-results/serve.json and the
// committed copy apps/serve/results/bench.json.
// Options: --models <run> (default: a UNet-ResNet18 trained for 2 steps here, cached in .cache/), --images <n> (default 16),
// --requests <n> per concurrency (default 24), --engine auto|tfjs|onnxruntime.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { report } from '../../../tooling/bench/report.ts';
import { buildApp } from '../src/app.ts';
import { listBatchImages, runBatch } from '../src/batch.ts';
import { startBackend } from '../src/commands/shared.ts';
import { createMetrics } from '../src/metrics.ts';
import { loadPredictor, type EngineName } from '../src/model.ts';
import { startRedis } from '../src/redis-server.ts';

const run = promisify(execFile);
const APP = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TSX = join(APP, 'node_modules', '.bin', 'tsx');
const TRAIN = resolve(APP, '..', 'train', 'src', 'main.ts');
const CACHE = join(APP, '.cache', 'bench');

const { values } = parseArgs({
  options: { models: { type: 'string' }, images: { type: 'string', default: '16' }, requests: { type: 'string', default: '24' }, engine: { type: 'string', default: 'auto' } },
});
const imageCount = Number(values.images);
const requests = Number(values.requests);
const engine = values.engine as EngineName;
const env = { ...process.env, STEEL_CACHE_DIR: join(CACHE, 'data'), TF_CPP_MIN_LOG_LEVEL: '2' };
const trainCli = (args: string[]) => run(TSX, ['--conditions=@steel/source', TRAIN, ...args], { env, maxBuffer: 1 << 24 });

/** The model (the main job's network: UNet-ResNet18 at half scale) and `imageCount` 256x1600 synthetic images. */
async function prepare(): Promise<{ models: string; images: string }> {
  mkdirSync(CACHE, { recursive: true });
  let models = values.models;
  if (models === undefined) {
    models = join(CACHE, 'runs', 'bench');
    if (!existsSync(join(models, 'best', 'model.json'))) {
      console.log('bench: training a 2-step UNet-ResNet18 for the timings (weights do not change the speed)...');
      const config = join(CACHE, 'config.json');
      writeFileSync(config, JSON.stringify({ synthetic: { count: 16, testCount: 4, height: 64, width: 400 }, tune: false, samples: 0 }));
      rmSync(models, { recursive: true, force: true });
      await trainCli(['train', '--config', config, '--epochs', '1', '--steps', '2', '--runs-dir', join(CACHE, 'runs'), '--name', 'bench', '--backend', 'wasm']);
    }
  }
  const images = join(CACHE, `images-256x1600-${imageCount}`);
  if (!existsSync(images) || readdirSync(images).length < imageCount) {
    console.log(`bench: generating ${imageCount} synthetic 256x1600 images...`);
    const data = join(CACHE, 'generated');
    rmSync(data, { recursive: true, force: true });
    await trainCli(['generate', '--count', '1', '--test-count', String(imageCount), '--size', '256x1600', '--out', data]);
    mkdirSync(images, { recursive: true });
    for (const name of readdirSync(join(data, 'test_images')).sort().slice(0, imageCount)) copyFileSync(join(data, 'test_images', name), join(images, name));
  }
  return { models, images };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

async function httpLatency(models: string, image: Buffer): Promise<{ concurrency: number; p50: number; p99: number; rps: number }[]> {
  await startBackend({});
  const predictor = await loadPredictor({ models: [models], engine });
  const app = buildApp({ predictor, metrics: createMetrics({ defaults: false }) });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const post = async () => {
    const t0 = performance.now();
    const res = await fetch(`${url}/v1/predict`, { method: 'POST', body: image, headers: { 'content-type': 'image/jpeg' } });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`bench: HTTP ${res.status}`);
    return performance.now() - t0;
  };
  const rows = [];
  try {
    for (let i = 0; i < 2; i++) await post();
    for (const concurrency of [1, 8]) {
      const times: number[] = [];
      const t0 = performance.now();
      let left = requests;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (left-- > 0) times.push(await post());
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      times.sort((a, b) => a - b);
      rows.push({ concurrency, p50: percentile(times, 50), p99: percentile(times, 99), rps: times.length / seconds });
    }
  } finally {
    await app.close();
    predictor.dispose();
  }
  return rows;
}

function startWorker(models: string, url: string, threads: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--conditions=@steel/source', '--import', 'tsx', join(APP, 'src', 'main.ts'), 'worker', '--models', models, '--redis', url, '--engine', engine, '--threads', String(threads)], {
    cwd: APP,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolveReady, reject) => {
    child.stdout!.on('data', (d: Buffer) => /ready on queue/.test(d.toString()) && resolveReady(child));
    child.once('exit', (code) => reject(new Error(`bench: worker exited with code ${code}`)));
  });
}

async function batchThroughput(models: string, images: string, workers: number): Promise<number> {
  const redis = await startRedis({ appendOnly: false });
  const procs: ChildProcess[] = [];
  try {
    const cores = availableParallelism();
    for (let i = 0; i < workers; i++) procs.push(await startWorker(models, redis.url, Math.max(1, Math.floor(cores / workers))));
    const { describeModels } = await import('../src/model.ts');
    const out = join(CACHE, `batch-${workers}.csv`);
    rmSync(`${out}.jobs.jsonl`, { force: true });
    const result = await runBatch({ images: listBatchImages(images), out, info: await describeModels({ models: [models], engine }), redisUrl: redis.url });
    if (result.failed.length > 0) throw new Error(`bench: ${result.failed.length} images failed`);
    return result.images / result.seconds;
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r)))));
    await redis.stop();
  }
}

async function trainPredict(models: string, images: string): Promise<number> {
  // `auto` is each CLI's own default (ONNX Runtime where installed); any other engine is asked of both.
  const { stdout } = await trainCli(['predict', '--models', models, '--images', images, '--out', join(CACHE, 'predict.csv'), ...(engine === 'auto' ? [] : ['--engine', engine])]);
  const match = /([\d.]+) images\/s/.exec(stdout);
  if (!match) throw new Error(`bench: no images/s in train predict's output: ${stdout.slice(-300)}`);
  return Number(match[1]);
}

const { models, images } = await prepare();
const first = readFileSync(join(images, readdirSync(images).sort()[0]!));
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const loadBefore = load();
const http = await httpLatency(models, first);
const predict = await trainPredict(models, images);
const one = await batchThroughput(models, images, 1);
const two = await batchThroughput(models, images, 2);
const rows = [
  ...http.map((h) => ({ measure: `HTTP POST /v1/predict 256x1600, concurrency ${h.concurrency}`, p50_ms: Math.round(h.p50), p99_ms: Math.round(h.p99), images_per_s: Number(h.rps.toFixed(2)), vs_predict: null })),
  { measure: `train predict, ${imageCount} images`, p50_ms: null, p99_ms: null, images_per_s: Number(predict.toFixed(2)), vs_predict: 1 },
  { measure: `serve batch, 1 worker, ${imageCount} images`, p50_ms: null, p99_ms: null, images_per_s: Number(one.toFixed(2)), vs_predict: Number((one / predict).toFixed(2)) },
  { measure: `serve batch, 2 workers, ${imageCount} images`, p50_ms: null, p99_ms: null, images_per_s: Number(two.toFixed(2)), vs_predict: Number((two / predict).toFixed(2)) },
];
const extra = { engine, models: models === join(CACHE, 'runs', 'bench') ? 'UNet-ResNet18, scale 0.5 (2 training steps)' : models, images: imageCount, requestsPerConcurrency: requests, loadAverageBefore: loadBefore, loadAverageAfter: load() };
const file = report('serve', rows, extra);
mkdirSync(join(APP, 'results'), { recursive: true });
copyFileSync(file, join(APP, 'results', 'bench.json'));
console.log(`load average (1, 5, 15 min) before: ${loadBefore}; after: ${load()}`);
