// The batch queue's names and contracts, shared by `batch` (producer) and `worker` (consumer).
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { ServeError } from './errors.ts';

/** A job: one image's bytes (base64) and its name for messages. */
export interface ImageJob {
  name: string;
  image: string;
}

/** What a worker stores for a job: the RLE of each class after post-processing (class 1 first). */
export interface ImageResult {
  rles: string[];
  height: number;
  width: number;
  ms: number;
}

/** The queue of one model: `<prefix>-<first 16 hex of the fingerprint>`, so a worker only takes jobs its model can do. */
export function queueName(fingerprint: string, prefix = 'steel'): string {
  if (!/^[\w.-]+$/.test(prefix)) throw new ServeError('USAGE', `--queue expects letters, digits, ".", "-" or "_", got "${prefix.slice(0, 80)}".`);
  return `${prefix}-${fingerprint.slice(0, 16)}`;
}

/** The job id of an image: sha256 of the model fingerprint and the image bytes (same image and model, same job). */
export function jobId(fingerprint: string, bytes: Uint8Array): string {
  return createHash('sha256').update(fingerprint).update(':').update(bytes).digest('hex');
}

/**
 * An ioredis connection for BullMQ: commands wait through a Redis restart instead of failing (`maxRetriesPerRequest: null`),
 * and reconnects back off up to 2 s.
 */
export function connectRedis(url: string): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(100 * times, 2000),
  });
  // Connection errors are retried by ioredis (commands wait); those that matter surface as failed commands.
  redis.on('error', () => undefined);
  return redis;
}
