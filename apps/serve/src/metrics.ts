// Prometheus metrics of the service and the workers (prom-client, one registry per process).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The metrics a process exposes on GET /metrics. */
export interface ServeMetrics {
  registry: Registry;
  requestSeconds: Histogram<'method' | 'route' | 'status'>;
  inferenceSeconds: Histogram<'source'>;
  images: Counter<'source'>;
  failures: Counter<'source' | 'code'>;
  inFlight: Gauge;
  queueDepth: Gauge<'state'>;
}

/**
 * Creates the registry: request latency, inference time, images processed, failures, requests waiting for the model,
 * and the batch queue's depth per state (`depth` is read at scrape time when batch mode is on).
 */
export function createMetrics(options: { depth?: () => Promise<Record<string, number>>; defaults?: boolean } = {}): ServeMetrics {
  const registry = new Registry();
  if (options.defaults ?? true) collectDefaultMetrics({ register: registry, prefix: 'steel_serve_' });
  const depth = options.depth;
  return {
    registry,
    requestSeconds: new Histogram({
      name: 'steel_http_request_duration_seconds',
      help: 'HTTP request latency by route and status.',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    inferenceSeconds: new Histogram({
      name: 'steel_inference_duration_seconds',
      help: 'Model time per image (decode, predict, post-process).',
      labelNames: ['source'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    images: new Counter({ name: 'steel_images_processed_total', help: 'Images predicted.', labelNames: ['source'] as const, registers: [registry] }),
    failures: new Counter({ name: 'steel_failures_total', help: 'Requests or jobs that failed, by error code.', labelNames: ['source', 'code'] as const, registers: [registry] }),
    inFlight: new Gauge({ name: 'steel_predict_in_flight', help: 'Prediction requests running or waiting for the model.', registers: [registry] }),
    queueDepth: new Gauge({
      name: 'steel_queue_depth',
      help: 'Batch jobs per state (waiting, active, delayed, completed, failed); absent when batch mode is off.',
      labelNames: ['state'] as const,
      registers: [registry],
      async collect() {
        if (depth === undefined) return;
        this.reset();
        try {
          for (const [state, n] of Object.entries(await depth())) this.set({ state }, n);
        } catch {
          // Redis down: the gauge stays empty and /readyz reports it.
        }
      },
    }),
  };
}
