// What the commands share: the model flags, the backend, the Redis URL, and a clean stop on SIGINT/SIGTERM.
import type { Values } from '../cli.ts';
import { ServeError } from '../errors.ts';
import type { EngineName, PredictorOptions } from '../model.ts';

/** The predictor options of the model flags (`--models` falls back to STEEL_MODELS). */
export function predictorOptions(values: Values): PredictorOptions {
  const models = (values['models'] as string[] | undefined) ?? process.env['STEEL_MODELS']?.split(',').filter((s) => s !== '');
  if (models === undefined || models.length === 0) {
    throw new ServeError('USAGE', 'Pass --models with one or more run folders (runs/<name>) or model folders, comma-separated (or set STEEL_MODELS).');
  }
  return {
    models,
    weights: values['weights'] as number[] | undefined,
    tta: values['tta'] as string[] | undefined,
    postprocess: values['postprocess'] as string | undefined,
    threshold: values['threshold'] as number | undefined,
    minArea: values['min-area'] as number[] | undefined,
    engine: values['engine'] as EngineName | undefined,
    threads: values['threads'] as number | undefined,
  };
}

/** Sets up the tfjs backend (`--backend`, `--threads`) through @steel/backend; returns its name. */
export async function startBackend(values: Values): Promise<string> {
  const { BACKEND_NAMES, setupBackend } = await import('@steel/backend');
  const name = (values['backend'] as string | undefined) ?? 'auto';
  if (!(BACKEND_NAMES as readonly string[]).includes(name)) {
    throw new ServeError('USAGE', `--backend expects one of ${BACKEND_NAMES.join(', ')}, got "${name.slice(0, 80)}".`);
  }
  const threads = values['threads'] as number | undefined;
  const setup = await setupBackend({ backend: name as (typeof BACKEND_NAMES)[number], ...(threads === undefined ? {} : { threads }) });
  return setup.backend;
}

/** `--redis`, else STEEL_REDIS_URL; undefined when neither is set. */
export function redisUrl(values: Values): string | undefined {
  const url = (values['redis'] as string | undefined) ?? process.env['STEEL_REDIS_URL'];
  if (url === undefined || url === '') return undefined;
  if (!/^rediss?:\/\//.test(url)) throw new ServeError('USAGE', `--redis expects a URL such as redis://10.0.0.5:6379, got "${url.slice(0, 80)}".`);
  return url;
}

/** Resolves on the first SIGINT or SIGTERM (and removes the listeners). */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}
