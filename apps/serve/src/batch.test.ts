import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectSameCsv, fixture, loadFixturePredictor, spawnWorker, waitForLine } from '../test/helpers.ts';
import { failedFile, journalFile, listBatchImages, runBatch, type BatchOptions } from './batch.ts';
import type { Predictor } from './model.ts';
import { connectRedis, queueName } from './queue.ts';
import { startRedis, type PrivateRedis } from './redis-server.ts';
import { createImageWorker } from './worker.ts';

let predictor: Predictor;
let work: string;
const cleanup: (() => Promise<unknown> | unknown)[] = [];

beforeAll(async () => {
  predictor = await loadFixturePredictor();
  work = mkdtempSync(join(tmpdir(), 'steel-serve-batch-'));
}, 120_000);
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});
afterAll(() => {
  predictor?.dispose();
  rmSync(work, { recursive: true, force: true });
});

const errors: string[] = [];

/** A private Redis and an in-process worker (a lock of 10 s: a job whose lock a Redis crash lost is taken again soon). */
async function redisWithWorker(): Promise<{ redis: PrivateRedis; worker: ReturnType<typeof createImageWorker> }> {
  const redis = await startRedis();
  cleanup.push(() => redis.stop());
  const worker = createImageWorker({ predictor, redisUrl: redis.url, lockMs: 10_000, stalledMs: 1000, onError: (e) => errors.push(e.message) });
  cleanup.push(() => worker.close());
  return { redis, worker };
}

const batchOptions = (images: string, out: string, redisUrl: string): BatchOptions => ({
  images: listBatchImages(images),
  out,
  info: predictor.info,
  redisUrl,
  pollMs: 50,
});

describe('serve batch', () => {
  it('writes the CSV of train predict byte for byte (ONNX Runtime and tfjs engines); a re-run predicts only what is missing', async () => {
    const { redis } = await redisWithWorker();
    const out = join(work, 'same.csv');
    const first = await runBatch(batchOptions(fixture().small, out, redis.url));
    expectSameCsv(out, fixture().refSmall);
    expect(first).toMatchObject({ images: 6, rows: 24, predicted: 6, failed: [] });

    const again = await runBatch(batchOptions(fixture().small, out, redis.url));
    expect(again.predicted).toBe(0);
    // A crash that lost the last two results: only those two are predicted again.
    const lines = readFileSync(journalFile(out), 'utf8').trimEnd().split('\n');
    writeFileSync(journalFile(out), `${lines.slice(0, -2).join('\n')}\n{"job":"torn`);
    const resumed = await runBatch(batchOptions(fixture().small, out, redis.url));
    expect(resumed.predicted).toBe(2);
    expectSameCsv(out, fixture().refSmall);

    // The tfjs engine: another fingerprint, so its own queue and journal entries.
    const tfjs = await loadFixturePredictor('tfjs');
    cleanup.push(() => tfjs.dispose());
    const tfjsWorker = createImageWorker({ predictor: tfjs, redisUrl: redis.url, onError: (e) => errors.push(e.message) });
    cleanup.push(() => tfjsWorker.close());
    expect(tfjs.info.fingerprint).not.toBe(predictor.info.fingerprint);
    const outTfjs = join(work, 'same-tfjs.csv');
    await runBatch({ ...batchOptions(fixture().small, outTfjs, redis.url), info: tfjs.info });
    expectSameCsv(outTfjs, fixture().refSmallTfjs);
  });

  it('a corrupt image fails with its reason in the side file; the other images complete', async () => {
    const { redis } = await redisWithWorker();
    const dir = mkdtempSync(join(work, 'corrupt-'));
    for (const name of readdirSync(fixture().small)) copyFileSync(join(fixture().small, name), join(dir, name));
    const good = readFileSync(join(dir, readdirSync(dir).sort()[0]!));
    writeFileSync(join(dir, 'a-truncated.jpg'), good.subarray(0, 300));
    writeFileSync(join(dir, 'b-not-an-image.png'), 'plain text, not a PNG');
    const out = join(work, 'corrupt.csv');
    const result = await runBatch(batchOptions(dir, out, redis.url));
    expect(result.failed.map((f) => f.id)).toEqual(['a-truncated.jpg', 'b-not-an-image.png']);
    const side = readFileSync(failedFile(out), 'utf8').trimEnd().split('\n');
    expect(side[0]).toBe('ImageId,Reason');
    expect(side.slice(1).every((l) => /could not be decoded/.test(l))).toBe(true);
    // The good images' rows are exactly train predict's.
    expectSameCsv(out, fixture().refSmall);
  });

  it('completes when Redis (AOF on) is killed and restarted during the batch', async () => {
    const { redis, worker } = await redisWithWorker();
    const out = join(work, 'restart.csv');
    let restarted = false;
    let finished = false;
    worker.once('completed', () => {
      void redis.restart({ hard: true }).then(() => {
        restarted = !finished;
      });
    });
    const result = await runBatch(batchOptions(fixture().small, out, redis.url));
    finished = true;
    expect(restarted).toBe(true);
    expect(existsSync(join(redis.dir, 'appendonlydir'))).toBe(true);
    expect(result.failed).toEqual([]);
    expectSameCsv(out, fixture().refSmall);
  });

  it('kill -9 of a worker mid-job: another worker takes the job over, the CSV is complete with no duplicate rows', async () => {
    const redis = await startRedis();
    cleanup.push(() => redis.stop());
    const doomed = spawnWorker(redis.url, ['--lock-ms', '1500']);
    cleanup.push(() => doomed.kill('SIGKILL'));
    await waitForLine(doomed, /ready on queue/);
    const out = join(work, 'kill.csv');
    const batch = runBatch(batchOptions(fixture().large, out, redis.url));
    const connection = connectRedis(redis.url);
    const queue = new Queue(queueName(predictor.info.fingerprint), { connection });
    cleanup.push(async () => {
      await queue.close();
      connection.disconnect();
    });
    let active: string[] = [];
    while (active.length === 0) {
      active = (await queue.getActive()).map((j) => j.id!);
      await new Promise((r) => setTimeout(r, 10));
    }
    process.kill(doomed.pid!, 'SIGKILL');
    await new Promise((r) => doomed.once('exit', r));
    expect(await queue.getJobState(active[0]!)).toBe('active');
    const rescuer = createImageWorker({ predictor, redisUrl: redis.url, stalledMs: 500, onError: (e) => errors.push(e.message) });
    cleanup.push(() => rescuer.close());
    const stalled: string[] = [];
    rescuer.on('stalled', (id) => stalled.push(id));
    const result = await batch;
    expect(stalled).toContain(active[0]);
    expect(result).toMatchObject({ images: 3, rows: 12, failed: [] });
    expectSameCsv(out, fixture().refLarge);
    const csv = readFileSync(out, 'utf8');
    const rows = csv.trimEnd().split('\n');
    expect(new Set(rows).size).toBe(rows.length);
  });
});
