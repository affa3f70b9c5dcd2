// `serve worker`: takes image jobs of its model's queue until SIGINT/SIGTERM.
import type { Values } from '../cli.ts';
import { ServeError } from '../errors.ts';
import { loadPredictor } from '../model.ts';
import { queueName } from '../queue.ts';
import { createImageWorker } from '../worker.ts';
import { predictorOptions, redisUrl, startBackend, untilSignal } from './shared.ts';

/** Runs a worker until a signal; the job in hand is finished first (a second signal, or kill -9, leaves it to another worker). */
export async function runWorker(values: Values): Promise<number> {
  const url = redisUrl(values);
  if (url === undefined) throw new ServeError('USAGE', 'Pass --redis with the URL of the batch Redis (or set STEEL_REDIS_URL).');
  const options = predictorOptions(values);
  const backend = await startBackend(values);
  const predictor = await loadPredictor(options);
  const prefix = values['queue'] as string | undefined;
  const worker = createImageWorker({
    predictor,
    redisUrl: url,
    prefix,
    concurrency: values['concurrency'] as number | undefined,
    lockMs: values['lock-ms'] as number | undefined,
    stalledMs: values['stalled-ms'] as number | undefined,
  });
  await worker.waitUntilReady();
  process.stdout.write(`worker ${process.pid}: ready on queue ${queueName(predictor.info.fingerprint, prefix)} at ${url} (${predictor.info.engine}, tfjs backend ${backend})\n`);
  const signal = await untilSignal();
  process.stderr.write(`worker ${process.pid}: ${signal}, finishing the job in hand...\n`);
  const force = () => process.exit(130);
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  await worker.close();
  predictor.dispose();
  return 0;
}
