// Batch inference on the queue: one BullMQ job per distinct image (job id = hash of model and bytes), a bounded window of
// jobs in Redis, results journaled next to the output so a re-run only predicts what is missing, and the CSV written in
// image order at the end.
import { appendFileSync, closeSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Queue } from 'bullmq';
import { csvHeader, formatCsvRow, type CsvFormat } from '@steel/rle';
import { clip, ServeError } from './errors.ts';
import type { PredictorInfo } from './model.ts';
import { connectRedis, jobId, queueName, type ImageJob, type ImageResult } from './queue.ts';

/** An image of a batch: its id in the CSV (the file name) and where it is. */
export interface BatchImage {
  id: string;
  file: string;
}

/**
 * The images of a folder (JPEG/PNG, sorted by name, as `train predict` lists them) or of a list file (one path per line,
 * relative to the list's folder, in the list's order; blank lines and `#` comments skipped).
 * @throws {ServeError} `NOT_FOUND` when the source or a listed file is missing, `USAGE` for duplicate names or none at all.
 */
export function listBatchImages(source: string): BatchImage[] {
  if (!existsSync(source)) throw new ServeError('NOT_FOUND', `--images ${source} does not exist; pass a folder of JPEG/PNG images or a text file with one path per line.`);
  let images: BatchImage[];
  if (statSync(source).isDirectory()) {
    images = readdirSync(source)
      .filter((name) => /\.(jpe?g|png)$/i.test(name))
      .sort()
      .map((id) => ({ id, file: resolve(join(source, id)) }));
  } else {
    const base = dirname(resolve(source));
    images = [];
    readFileSync(source, 'utf8')
      .split(/\r?\n/)
      .forEach((line, i) => {
        const path = line.trim();
        if (path === '' || path.startsWith('#')) return;
        const file = resolve(base, path);
        if (!existsSync(file)) throw new ServeError('NOT_FOUND', `${source} line ${i + 1}: ${clip(path)} does not exist.`);
        images.push({ id: basename(file), file });
      });
  }
  if (images.length === 0) throw new ServeError('USAGE', `No JPEG or PNG images in ${source}.`);
  const seen = new Set<string>();
  for (const image of images) {
    if (seen.has(image.id)) throw new ServeError('USAGE', `Two images are named ${clip(image.id)} in ${source}; CSV rows are keyed by file name, so names must be unique.`);
    seen.add(image.id);
  }
  return images;
}

/** Progress of a batch, reported about once per poll. */
export interface BatchProgress {
  images: number;
  /** Images with a result (journaled before this run, or done now). */
  done: number;
  /** Of `done`, results found in the journal of an earlier run. */
  reused: number;
  failed: number;
  seconds: number;
  /** Images per second predicted by this run. */
  imagesPerSecond: number;
}

/** Options of {@link runBatch}. */
export interface BatchOptions {
  images: readonly BatchImage[];
  out: string;
  info: PredictorInfo;
  redisUrl: string;
  prefix?: string | undefined;
  format?: CsvFormat;
  /** Jobs in Redis at once; default 128. */
  window?: number;
  /** Tries per image; default 3. */
  attempts?: number;
  pollMs?: number;
  onProgress?: (progress: BatchProgress) => void;
  signal?: AbortSignal;
}

/** What a batch wrote. */
export interface BatchResult {
  rows: number;
  images: number;
  /** Predicted by this run (the others came from the journal). */
  predicted: number;
  failed: { id: string; reason: string }[];
  failedFile: string | undefined;
  seconds: number;
}

/** The journal of a batch's results: one JSON line per finished job, appended as results arrive. */
export const journalFile = (out: string): string => `${out}.jobs.jsonl`;
/** The side file listing failed images and why. */
export const failedFile = (out: string): string => `${out}.failed.csv`;

function readJournal(file: string): Map<string, string[]> {
  const results = new Map<string, string[]>();
  if (!existsSync(file)) return results;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line === '') continue;
    try {
      const entry = JSON.parse(line) as { job?: unknown; rles?: unknown };
      if (typeof entry.job === 'string' && Array.isArray(entry.rles) && entry.rles.every((r) => typeof r === 'string')) results.set(entry.job, entry.rles as string[]);
    } catch {
      // A line torn by a crash: that job is predicted again.
    }
  }
  return results;
}

/** Writes lines to `file` atomically (temporary file, fsync, rename). */
function writeLinesAtomic(file: string, lines: Iterable<string>): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    let chunk = '';
    for (const line of lines) {
      chunk += `${line}\n`;
      if (chunk.length > 1 << 20) {
        writeSync(fd, chunk);
        chunk = '';
      }
    }
    writeSync(fd, chunk);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

const csvField = (text: string): string => (/[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs a batch: enqueues every image not yet in the journal (job ids from the model fingerprint and the image bytes, so a
 * job already in Redis is not added twice), collects results as workers finish them, and writes the CSV (every class of
 * every image that did not fail, in image order) and, when some failed, `<out>.failed.csv` with the reasons.
 * Interrupted by `signal`, it stops waiting (the jobs stay queued) and throws `INTERRUPTED`; running it again resumes.
 * @throws {ServeError} `INTERRUPTED` when aborted; `NOT_FOUND` when an image file disappears.
 */
export async function runBatch(options: BatchOptions): Promise<BatchResult> {
  const { images, out, info } = options;
  const format = options.format ?? 'submission';
  const windowSize = Math.max(1, options.window ?? 128);
  const attempts = Math.max(1, options.attempts ?? 3);
  const pollMs = options.pollMs ?? 250;
  const t0 = performance.now();

  // Job ids: one per distinct image content.
  const ids = images.map((image) => jobId(info.fingerprint, readFileSync(image.file)));
  const fileOf = new Map<string, BatchImage>();
  ids.forEach((id, i) => fileOf.has(id) || fileOf.set(id, images[i]!));
  const journal = journalFile(out);
  const results = readJournal(journal);
  const reusedJobs = new Set([...fileOf.keys()].filter((id) => results.has(id)));
  const pending = [...fileOf.keys()].filter((id) => !results.has(id));
  const failures = new Map<string, string>();
  const outstanding = new Set<string>();
  let next = 0;
  let predicted = 0;

  const imagesDone = () => ids.filter((id) => results.has(id)).length;
  const progress = (): BatchProgress => {
    const seconds = (performance.now() - t0) / 1000;
    return {
      images: images.length,
      done: imagesDone(),
      reused: ids.filter((id) => reusedJobs.has(id)).length,
      failed: ids.filter((id) => failures.has(id)).length,
      seconds,
      imagesPerSecond: seconds > 0 ? predicted / seconds : 0,
    };
  };

  if (pending.length > 0) {
    const connection = connectRedis(options.redisUrl);
    const queue = new Queue<ImageJob, ImageResult>(queueName(info.fingerprint, options.prefix), { connection });
    // Lost connections are retried (commands wait); nothing to report while they are.
    queue.on('error', () => undefined);
    try {
      const enqueue = async (id: string) => {
        const existing = await queue.getJob(id);
        // A job that failed in an earlier run is tried again; one that is waiting, running or done is kept.
        if (existing !== undefined && (await existing.getState()) === 'failed') await existing.remove();
        const image = fileOf.get(id)!;
        const data = readFileSync(image.file).toString('base64');
        await queue.add('predict', { name: image.id, image: data }, { jobId: id, attempts, backoff: { type: 'exponential', delay: 500 }, removeOnComplete: false, removeOnFail: false });
        outstanding.add(id);
      };
      let lastReport = 0;
      let lastScan = performance.now();
      while (next < pending.length || outstanding.size > 0) {
        if (options.signal?.aborted) throw new ServeError('INTERRUPTED', `Interrupted with ${outstanding.size + pending.length - next} image(s) to go; run the same command again to resume.`);
        while (outstanding.size < windowSize && next < pending.length) await enqueue(pending[next++]!);
        // Finished jobs of this batch (collected and removed, so these lists stay short).
        for (const job of await queue.getCompleted(0, 999)) {
          const id = job.id!;
          const value = job.returnvalue as ImageResult | null;
          if (!outstanding.has(id) || value === null || !Array.isArray(value.rles)) continue;
          appendFileSync(journal, `${JSON.stringify({ job: id, rles: value.rles })}\n`);
          results.set(id, value.rles);
          predicted += ids.filter((x) => x === id).length;
          outstanding.delete(id);
          await job.remove().catch(() => undefined);
        }
        for (const job of await queue.getFailed(0, 999)) {
          const id = job.id!;
          if (!outstanding.has(id)) continue;
          failures.set(id, job.failedReason || 'failed without a reason');
          outstanding.delete(id);
          await job.remove().catch(() => undefined);
        }
        if (performance.now() - lastScan > 5000) {
          // Jobs gone from Redis (a restart that lost its last writes, or removed by hand) are added again.
          lastScan = performance.now();
          for (const id of [...outstanding]) {
            if ((await queue.getJobState(id)) === 'unknown') {
              outstanding.delete(id);
              await enqueue(id);
            }
          }
        }
        if (options.onProgress && performance.now() - lastReport > 1000) {
          options.onProgress(progress());
          lastReport = performance.now();
        }
        if (outstanding.size > 0) await sleep(pollMs);
      }
    } finally {
      await queue.close().catch(() => undefined);
      connection.disconnect();
    }
  }
  options.onProgress?.(progress());

  // The CSV: header, then every class of every image that has a result, in image order.
  let rows = 0;
  writeLinesAtomic(
    out,
    (function* () {
      yield csvHeader(format);
      for (let i = 0; i < images.length; i++) {
        const rles = results.get(ids[i]!);
        if (rles === undefined) continue;
        for (let k = 0; k < rles.length; k++) {
          rows++;
          yield formatCsvRow({ imageId: images[i]!.id, classId: k + 1, rle: rles[k]! }, format);
        }
      }
    })(),
  );
  const failed = images.flatMap((image, i) => (failures.has(ids[i]!) ? [{ id: image.id, reason: failures.get(ids[i]!)! }] : []));
  const sideFile = failedFile(out);
  if (failed.length > 0) writeLinesAtomic(sideFile, ['ImageId,Reason', ...failed.map((f) => `${csvField(f.id)},${csvField(f.reason)}`)]);
  else rmSync(sideFile, { force: true });
  return { rows, images: images.length, predicted, failed, failedFile: failed.length > 0 ? sideFile : undefined, seconds: (performance.now() - t0) / 1000 };
}
