// A BullMQ worker that predicts image jobs: decode, model, post-process, RLE. A job whose image cannot be decoded fails at
// once (UnrecoverableError) with the reason; anything else is retried by BullMQ up to the job's attempts.
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { postprocessImage } from './defects.ts';
import { isServeError } from './errors.ts';
import type { ServeMetrics } from './metrics.ts';
import { decodeImage, type Predictor } from './model.ts';
import { connectRedis, queueName, type ImageJob, type ImageResult } from './queue.ts';

/** Options of {@link createImageWorker}. */
export interface ImageWorkerOptions {
  predictor: Predictor;
  redisUrl: string;
  /** Queue name prefix; default `steel`. */
  prefix?: string | undefined;
  /** Jobs fetched at once; default 1. */
  concurrency?: number | undefined;
  /**
   * Job lock in ms; default 60 s. A job whose worker died is taken again once its lock has expired, so keep it short for
   * fast recovery, but above the time of one prediction (the model's synchronous kernels hold up lock renewal).
   */
  lockMs?: number | undefined;
  /** How often this worker looks for jobs of dead workers, in ms; default 30 s (a job is taken over on the second look). */
  stalledMs?: number | undefined;
  /** Worker errors (lost Redis connection, lost lock); default: one line on stderr. */
  onError?: ((error: Error) => void) | undefined;
  metrics?: ServeMetrics | undefined;
}

/** Predicts one job's image; what the worker stores as the job's result. */
export async function processImageJob(predictor: Predictor, data: ImageJob): Promise<ImageResult> {
  const started = performance.now();
  let image;
  try {
    image = await decodeImage(Buffer.from(data.image, 'base64'), predictor.info.channels, `Image ${data.name}`);
  } catch (error) {
    // The same bytes fail on every worker: no retry.
    if (isServeError(error) && error.code === 'BAD_IMAGE') throw new UnrecoverableError(error.message);
    throw error;
  }
  const probs = await predictor.predict(image);
  const { rles } = postprocessImage(probs, image, predictor.info.postprocess);
  return { rles, height: image.height, width: image.width, ms: Math.round(performance.now() - started) };
}

/**
 * Starts a worker on the queue of the predictor's model. Close it with `await worker.close()` (waits for the job in hand).
 */
export function createImageWorker(options: ImageWorkerOptions): Worker<ImageJob, ImageResult> {
  const { predictor, metrics } = options;
  const lockDuration = options.lockMs ?? 60_000;
  const connection = connectRedis(options.redisUrl);
  const worker = new Worker<ImageJob, ImageResult>(
    queueName(predictor.info.fingerprint, options.prefix),
    async (job: Job<ImageJob, ImageResult>) => {
      const end = metrics?.inferenceSeconds.startTimer({ source: 'batch' });
      const result = await processImageJob(predictor, job.data);
      end?.();
      metrics?.images.inc({ source: 'batch' });
      return result;
    },
    {
      connection,
      concurrency: options.concurrency ?? 1,
      lockDuration,
      stalledInterval: options.stalledMs ?? 30_000,
      maxStalledCount: 3,
    },
  );
  worker.on('failed', (job, error) => metrics?.failures.inc({ source: 'batch', code: error instanceof UnrecoverableError ? 'BAD_IMAGE' : 'ERROR' }));
  worker.on('error', options.onError ?? ((error) => process.stderr.write(`worker ${process.pid}: ${error.message}\n`)));
  worker.on('closed', () => connection.disconnect());
  return worker;
}
