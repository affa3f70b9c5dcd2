// `serve batch`: a submission CSV for a folder or list of images, predicted by workers on Redis (shared, or a private
// Redis with local workers started here).
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { listBatchImages, runBatch, type BatchProgress } from '../batch.ts';
import type { Values } from '../cli.ts';
import { ServeError } from '../errors.ts';
import { describeModels } from '../model.ts';
import { startRedis, type PrivateRedis } from '../redis-server.ts';
import { predictorOptions, redisUrl, untilSignal } from './shared.ts';

/** The flags a local worker gets from the batch command line. */
const FORWARDED = ['models', 'weights', 'tta', 'postprocess', 'threshold', 'min-area', 'engine', 'backend', 'threads', 'queue'] as const;

function formatProgress(p: BatchProgress): string {
  const left = p.images - p.done - p.failed;
  const eta = p.imagesPerSecond > 0 ? ` ETA ${Math.ceil(left / p.imagesPerSecond)} s` : '';
  return `batch: ${p.done}/${p.images} images done${p.reused ? ` (${p.reused} from an earlier run)` : ''}${p.failed ? `, ${p.failed} failed` : ''}, ${p.imagesPerSecond.toFixed(2)} images/s${eta}`;
}

/** Starts `count` worker processes of this app on `url`, each with `threads` wasm threads unless --threads is given. */
export function spawnLocalWorkers(values: Values, url: string, count: number, threads: number): ChildProcess[] {
  const args: string[] = [];
  for (const flag of FORWARDED) {
    const v = values[flag];
    if (v === undefined) continue;
    args.push(`--${flag}`, Array.isArray(v) ? v.join(',') : String(v));
  }
  if (values['threads'] === undefined) args.push('--threads', String(threads));
  return Array.from({ length: count }, () =>
    spawn(process.execPath, [...process.execArgv, process.argv[1]!, 'worker', ...args, '--redis', url], { stdio: ['ignore', 'ignore', 'inherit'] }),
  );
}

/** Runs the batch; exit code 0 when every image has rows, 3 when some failed (listed in <out>.failed.csv). */
export async function runBatchCommand(values: Values): Promise<number> {
  const source = values['images'] as string | undefined;
  if (source === undefined) throw new ServeError('USAGE', 'Pass --images with a folder of JPEG/PNG images or a text file with one path per line.');
  const format = (values['format'] as string | undefined) ?? 'current';
  if (format !== 'current' && format !== 'first') throw new ServeError('USAGE', `--format expects "current" or "first", got "${format.slice(0, 80)}".`);
  const out = resolve((values['out'] as string | undefined) ?? 'submission.csv');
  const images = listBatchImages(source);
  const info = await describeModels(predictorOptions(values));
  let url = redisUrl(values);
  let redis: PrivateRedis | undefined;
  let workers: ChildProcess[] = [];
  const abort = new AbortController();
  void untilSignal().then(() => abort.abort());
  try {
    if (url === undefined) {
      const count = Math.max(1, (values['local-workers'] as number | undefined) ?? 1);
      redis = await startRedis();
      url = redis.url;
      workers = spawnLocalWorkers(values, url, count, Math.max(1, Math.floor(availableParallelism() / count)));
      process.stderr.write(`batch: private Redis at ${url}, ${count} local worker(s)\n`);
    }
    process.stderr.write(`batch: ${images.length} images from ${source} with ${info.members.length} model(s) on ${url}\n`);
    const result = await runBatch({
      images,
      out,
      info,
      redisUrl: url,
      prefix: values['queue'] as string | undefined,
      format: format === 'first' ? 'legacy' : 'submission',
      ...(values['window'] === undefined ? {} : { window: values['window'] as number }),
      ...(values['attempts'] === undefined ? {} : { attempts: values['attempts'] as number }),
      onProgress: (p) => process.stderr.write(`${formatProgress(p)}\n`),
      signal: abort.signal,
    });
    process.stdout.write(
      `Wrote ${out}: ${result.rows} rows for ${result.images - result.failed.length} images (${format} format) in ${result.seconds.toFixed(1)} s; ${result.predicted} predicted by this run\n`,
    );
    if (result.failed.length > 0) {
      process.stderr.write(`batch: ${result.failed.length} image(s) failed, see ${result.failedFile} (first: ${result.failed[0]!.id}: ${result.failed[0]!.reason})\n`);
      return 3;
    }
    return 0;
  } finally {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((done) => {
            if (w.exitCode !== null || w.signalCode !== null) return done();
            w.once('exit', () => done());
            w.kill('SIGTERM');
          }),
      ),
    );
    await redis?.stop();
  }
}

