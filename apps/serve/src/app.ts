// The HTTP service (Fastify): POST /v1/predict, GET /v1/models, /healthz, /readyz, /metrics. Every error is JSON with a
// code and a message; a bearer token guards /v1 and /metrics when one is configured (required off loopback).
import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { describeDefects, overlayPng } from './defects.ts';
import { clip, HTTP_STATUS, ServeError, toServeError, type ServeErrorCode } from './errors.ts';
import type { ServeMetrics } from './metrics.ts';
import { decodeImage, type Predictor } from './model.ts';

/** Options of {@link buildApp}. */
export interface AppOptions {
  predictor: Predictor;
  metrics: ServeMetrics;
  /** Bearer token for /v1 and /metrics; undefined: open (allowed only on loopback, see {@link checkBinding}). */
  token?: string | undefined;
  /** Largest request body in bytes; default 8 MiB. */
  bodyLimit?: number;
  /** Predictions waiting for the model at most (beyond: 503 OVERLOADED); default 256. */
  maxQueue?: number;
  /** Batch mode: /readyz also needs Redis to answer. */
  redisPing?: () => Promise<void>;
  /** Fastify's logger; default off. */
  logger?: boolean;
}

const IMAGE_TYPES = ['image/jpeg', 'image/png', 'application/octet-stream'];
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * Refuses to serve beyond loopback without a token.
 * @throws {ServeError} `USAGE` when `host` is not a loopback address and no token is set.
 */
export function checkBinding(host: string, token: string | undefined): void {
  if (!LOOPBACK.has(host) && (token === undefined || token === '')) {
    throw new ServeError('USAGE', `Binding ${clip(host)} reaches beyond this machine: set STEEL_SERVE_TOKEN to a secret bearer token, or bind 127.0.0.1.`);
  }
}

/**
 * Runs one task at a time (the tfjs engine is one per process) with at most `maxQueue` waiting.
 * @throws {ServeError} `OVERLOADED` (HTTP 503) from `run` when `maxQueue` tasks already wait.
 */
export function createGate(maxQueue: number) {
  let running = false;
  const waiting: (() => void)[] = [];
  return {
    get pending() {
      return waiting.length + (running ? 1 : 0);
    },
    async run<T>(task: () => Promise<T>): Promise<T> {
      if (running) {
        if (waiting.length >= maxQueue) throw new ServeError('OVERLOADED', `${waiting.length} predictions are already waiting; retry shortly.`);
        await new Promise<void>((resolve) => waiting.push(resolve));
      }
      running = true;
      try {
        return await task();
      } finally {
        const next = waiting.shift();
        if (next) next();
        else running = false;
      }
    },
  };
}

function sendError(reply: FastifyReply, code: ServeErrorCode, message: string, status = HTTP_STATUS[code]) {
  if (code === 'OVERLOADED') void reply.header('retry-after', '1');
  return reply.code(status).type('application/json').send({ error: { code, message } });
}

/** Fastify's own errors (body limit, content type, malformed requests) as ours. */
function fromFastify(error: { code?: string; statusCode?: number; message: string }, bodyLimit: number): { code: ServeErrorCode; message: string; status?: number } | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: 'BODY_TOO_LARGE', message: `The request body is over the limit of ${bodyLimit} bytes; send a smaller image.` };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { code: 'UNSUPPORTED_MEDIA_TYPE', message: `Expected a body of type ${IMAGE_TYPES.join(', ')}.` };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { code: 'BAD_REQUEST', message: error.message };
    default:
      if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) return { code: 'BAD_REQUEST', message: error.message, status: error.statusCode };
      return undefined;
  }
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!match) return false;
  const given = Buffer.from(match[1]!.trim());
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

/**
 * Builds the service (not yet listening). POST /v1/predict takes a JPEG or PNG body (`image/jpeg`, `image/png` or
 * `application/octet-stream`) and answers JSON with the image size, per-class defects (area, bounding box, highest
 * probability, RLE), the post-processing used and timings; `?overlay=1` answers a PNG with the defects drawn instead.
 */
export function buildApp(options: AppOptions): FastifyInstance {
  const { predictor, metrics } = options;
  const bodyLimit = options.bodyLimit ?? 8 * 1024 * 1024;
  const gate = createGate(options.maxQueue ?? 256);
  const app = Fastify({ logger: options.logger ?? false, bodyLimit, return503OnClosing: true });

  // Bodies: images as raw bytes; every other content type is refused with 415 by Fastify (mapped below).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(IMAGE_TYPES, { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));

  app.addHook('onRequest', async (request, reply) => {
    if (options.token === undefined || options.token === '') return;
    const path = request.url.split('?')[0]!;
    if (path === '/healthz' || path === '/readyz') return;
    if (!tokenMatches(request.headers.authorization, options.token)) {
      metrics.failures.inc({ source: 'http', code: 'UNAUTHORIZED' });
      return sendError(reply.header('www-authenticate', 'Bearer'), 'UNAUTHORIZED', 'Missing or wrong bearer token: send "Authorization: Bearer <token>".');
    }
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unknown';
    metrics.requestSeconds.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((error: Error & { code?: string; statusCode?: number }, request: FastifyRequest, reply: FastifyReply) => {
    const mine = toServeError(error);
    const mapped = mine ? { code: mine.code, message: mine.message, status: mine.status } : fromFastify(error, bodyLimit);
    if (mapped === undefined) {
      request.log.error(error);
      metrics.failures.inc({ source: 'http', code: 'INTERNAL' });
      return sendError(reply, 'BACKEND', 'The model failed on this image; the error is in the service log.', 500);
    }
    metrics.failures.inc({ source: 'http', code: mapped.code });
    return sendError(reply, mapped.code, mapped.message, mapped.status);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 'NOT_FOUND', `No route ${request.method} ${clip(request.url.split('?')[0]!)}; see GET /v1/models, POST /v1/predict, /healthz, /readyz, /metrics.`),
  );

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const checks: Record<string, string> = { model: 'ok' };
    if (options.redisPing) {
      try {
        await options.redisPing();
        checks['redis'] = 'ok';
      } catch (error) {
        checks['redis'] = `unreachable: ${clip(error instanceof Error ? error.message : String(error))}`;
        return reply.code(503).send({ status: 'not ready', checks, error: { code: 'NOT_READY', message: 'Redis does not answer.' } });
      }
    }
    return { status: 'ready', checks };
  });
  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });
  app.get('/v1/models', async () => ({ ...predictor.info, bodyLimit, maxQueue: options.maxQueue ?? 256 }));

  app.post<{ Querystring: { overlay?: string } }>('/v1/predict', async (request, reply) => {
    const body = request.body;
    if (!Buffer.isBuffer(body)) {
      // No content type at all: Fastify skipped the parsers.
      return sendError(reply, 'UNSUPPORTED_MEDIA_TYPE', `Expected a body of type ${IMAGE_TYPES.join(', ')}; got none.`);
    }
    if (body.length === 0) return sendError(reply, 'EMPTY_BODY', 'The request body is empty; send the JPEG or PNG bytes.');
    const overlay = request.query.overlay === '1' || request.query.overlay === 'true';
    metrics.inFlight.inc();
    try {
      const started = performance.now();
      const image = await decodeImage(body, predictor.info.channels, 'The request body');
      const decoded = performance.now();
      const { probs, waited } = await gate.run(async () => {
        const t = performance.now();
        return { probs: await predictor.predict(image), waited: t - decoded };
      });
      const predicted = performance.now();
      const { classes, masks } = describeDefects(probs, image, predictor.info.postprocess);
      const done = performance.now();
      metrics.inferenceSeconds.observe({ source: 'http' }, (done - started - waited) / 1000);
      metrics.images.inc({ source: 'http' });
      if (overlay) return reply.type('image/png').send(await overlayPng(image, masks));
      return {
        image: { height: image.height, width: image.width },
        classes,
        postprocess: predictor.info.postprocess,
        model: { fingerprint: predictor.info.fingerprint, members: predictor.info.members.map((m) => m.path), tta: predictor.info.tta },
        timings: {
          decodeMs: round(decoded - started),
          queueMs: round(waited),
          predictMs: round(predicted - decoded - waited),
          postprocessMs: round(done - predicted),
          totalMs: round(done - started),
        },
      };
    } finally {
      metrics.inFlight.dec();
    }
  });
  return app;
}

const round = (ms: number): number => Math.round(ms * 10) / 10;
