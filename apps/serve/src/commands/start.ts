// `serve start`: the HTTP service.
import { Queue } from 'bullmq';
import { buildApp, checkBinding } from '../app.ts';
import type { Values } from '../cli.ts';
import { ServeError } from '../errors.ts';
import { createMetrics } from '../metrics.ts';
import { loadPredictor } from '../model.ts';
import { connectRedis, queueName } from '../queue.ts';
import { predictorOptions, redisUrl, startBackend, untilSignal } from './shared.ts';

/** Starts the service and runs until SIGINT/SIGTERM (then finishes the requests in flight). */
export async function runStart(values: Values): Promise<number> {
  const host = (values['host'] as string | undefined) ?? '127.0.0.1';
  const port = (values['port'] as number | undefined) ?? 8080;
  const token = process.env['STEEL_SERVE_TOKEN'];
  checkBinding(host, token);
  const options = predictorOptions(values);
  const backend = await startBackend(values);
  const predictor = await loadPredictor(options);
  const url = redisUrl(values);
  const redis = url === undefined ? undefined : connectRedis(url);
  const queue = redis === undefined ? undefined : new Queue(queueName(predictor.info.fingerprint, values['queue'] as string | undefined), { connection: redis });
  queue?.on('error', () => undefined);
  const metrics = createMetrics(queue ? { depth: () => queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed') } : {});
  const app = buildApp({
    predictor,
    metrics,
    token,
    ...(values['body-limit'] === undefined ? {} : { bodyLimit: values['body-limit'] as number }),
    ...(values['max-queue'] === undefined ? {} : { maxQueue: values['max-queue'] as number }),
    ...(redis ? { redisPing: async () => void (await redis.ping()) } : {}),
  });
  try {
    await app.listen({ host, port });
  } catch (error) {
    predictor.dispose();
    throw new ServeError('USAGE', `Cannot listen on ${host}:${port} (${(error as Error).message}); pick another --port or --host.`, { cause: error });
  }
  const address = app.server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  process.stdout.write(
    `serve: listening on http://${host.includes(':') ? `[${host}]` : host}:${bound} (${predictor.info.members.length} model(s) on ${predictor.info.engine}, tfjs backend ${backend}${token ? ', bearer token required' : ''}${url ? `, Redis ${url}` : ''})\n`,
  );
  const signal = await untilSignal();
  process.stderr.write(`serve: ${signal}, finishing requests in flight...\n`);
  await app.close();
  await queue?.close();
  redis?.disconnect();
  predictor.dispose();
  return 0;
}
