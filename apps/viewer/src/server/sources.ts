// Finding what to show: training runs and model folders, and the dataset they were trained on.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readImageSize, readManifest } from '@steel/data';
import { parsePostprocessConfig } from '@steel/ensemble';
import type { PostprocessRule } from '../shared/api.ts';
import { ViewerError } from './errors.ts';

/** apps/viewer */
export const VIEWER_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** apps/train, where training runs and the cached synthetic datasets live. */
export const TRAIN_ROOT = resolve(VIEWER_ROOT, '..', 'train');

/** A model the server offers. */
export interface ModelSource {
  readonly name: string;
  /** Folder holding model.json (or that should). */
  readonly dir: string;
  readonly kind: 'run' | 'folder';
  /** The run folder (config.json, metrics.json, checkpoint/), when known. */
  readonly runDir: string | null;
}

/** The training app's runs folder: $STEEL_RUNS_DIR, else apps/train/runs. */
export function runsDir(): string {
  return process.env['STEEL_RUNS_DIR'] ?? join(TRAIN_ROOT, 'runs');
}

/** The training app's dataset cache: $STEEL_CACHE_DIR, else apps/train/.cache. */
export function cacheDir(): string {
  return process.env['STEEL_CACHE_DIR'] ?? join(TRAIN_ROOT, '.cache');
}

const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();

/**
 * Where a path given on the command line points: as given (relative to the folder the command was started from, which
 * pnpm passes as INIT_CWD), else relative to apps/train (so `--run runs/<name>` works from anywhere).
 */
export function locate(path: string): { found: string | null; tried: string[] } {
  if (isAbsolute(path)) return { found: existsSync(path) ? path : null, tried: [path] };
  const bases = [process.env['INIT_CWD'], process.cwd(), TRAIN_ROOT].filter((b): b is string => b !== undefined);
  const tried = [...new Set(bases.map((b) => resolve(b, path)))];
  return { found: tried.find((p) => existsSync(p)) ?? null, tried };
}

/** The model folder of a run: best/ (or best.old after an interrupted save) holding model.json. */
function bestDir(run: string): string | null {
  for (const name of ['best', 'best.old']) {
    const dir = join(run, name);
    if (existsSync(join(dir, 'model.json'))) return dir;
  }
  return null;
}

/**
 * A training run folder given with `--run`.
 * @throws {ViewerError} NOT_FOUND when the folder does not exist; NOT_A_RUN when it holds no best/model.json.
 */
export function runSource(path: string): ModelSource {
  const { found, tried } = locate(path);
  if (found === null || !isDir(found)) {
    throw new ViewerError(
      'NOT_FOUND',
      `Run folder "${path}" does not exist (looked at ${tried.join(', ')}). Pass --run runs/<name> (a folder under apps/train/runs) or --model <folder with model.json>.`,
    );
  }
  if (existsSync(join(found, 'model.json'))) return { name: basename(found), dir: found, kind: 'folder', runDir: parentRun(found) };
  const best = bestDir(found);
  if (best === null) {
    throw new ViewerError(
      'NOT_A_RUN',
      `"${path}" is not a finished training run: expected ${join(found, 'best', 'model.json')}. Wait until the run has finished an epoch, or pass --model <folder with model.json>.`,
    );
  }
  return { name: basename(found), dir: best, kind: 'run', runDir: found };
}

/** The run a model folder belongs to (its parent, when that holds config.json). */
function parentRun(dir: string): string | null {
  const parent = dirname(dir);
  return existsSync(join(parent, 'config.json')) ? parent : existsSync(join(dir, 'config.json')) ? dir : null;
}

/**
 * A model folder given with `--model` (model.json plus weight shards, as `tf.io` saves a layers model). A folder without
 * model.json is still offered, so the page can say what is wrong with it.
 * @throws {ViewerError} NOT_FOUND when the path does not exist or is not a folder.
 */
export function modelSource(path: string): ModelSource {
  const { found, tried } = locate(path);
  if (found === null) {
    throw new ViewerError('NOT_FOUND', `Model folder "${path}" does not exist (looked at ${tried.join(', ')}). Pass a folder holding model.json and its weight files.`);
  }
  if (!isDir(found)) {
    const hint = basename(found) === 'model.json' ? ` Pass its folder: --model ${dirname(path)}` : '';
    throw new ViewerError('NOT_FOUND', `Model path "${path}" is a file, not a folder.${hint || ' Pass a folder holding model.json and its weight files.'}`);
  }
  if (!existsSync(join(found, 'model.json'))) {
    const best = bestDir(found);
    if (best !== null) return { name: basename(found), dir: best, kind: 'run', runDir: found };
  }
  return { name: basename(found), dir: found, kind: 'folder', runDir: parentRun(found) };
}

/** Every finished run under `dir`, newest first (by the time its best model was written). */
export function listRuns(dir = runsDir()): ModelSource[] {
  if (!isDir(dir)) return [];
  const runs: { source: ModelSource; time: number }[] = [];
  for (const name of readdirSync(dir)) {
    const run = join(dir, name);
    if (!isDir(run)) continue;
    const best = bestDir(run);
    if (best === null) continue;
    runs.push({ source: { name, dir: best, kind: 'run', runDir: run }, time: statSync(join(best, 'model.json')).mtimeMs });
  }
  return runs.sort((a, b) => b.time - a.time || b.source.name.localeCompare(a.source.name)).map((r) => r.source);
}

/** Reads a JSON file, or null when it is missing or not JSON. */
export function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch {
    return null;
  }
}

const asRecord = (v: unknown): Record<string, unknown> | null => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null);

/** A run's config.json, or null. */
export function runConfig(source: ModelSource): Record<string, unknown> | null {
  return source.runDir === null ? null : asRecord(readJson(join(source.runDir, 'config.json')));
}

/** A run's metrics.json, or null. */
export function runMetrics(source: ModelSource): Record<string, unknown> | null {
  return source.runDir === null ? null : asRecord(readJson(join(source.runDir, 'metrics.json')));
}

/** A run's per-epoch history (from checkpoint/state.json), or null. */
export function runHistory(source: ModelSource): Record<string, unknown>[] | null {
  if (source.runDir === null) return null;
  for (const name of ['checkpoint', 'checkpoint.old']) {
    const state = asRecord(readJson(join(source.runDir, name, 'state.json')));
    if (state && Array.isArray(state['history'])) return state['history'].map(asRecord).filter((e): e is Record<string, unknown> => e !== null);
  }
  return null;
}

/**
 * The dataset a run was trained on: its `data` folder, or for `"synthetic"` the training app's cached synthetic dataset
 * of the run's `synthetic` options. Null when the config does not say or the folder is gone.
 */
export function runDataDir(config: Record<string, unknown> | null): string | null {
  if (config === null) return null;
  const data = config['data'];
  if (typeof data === 'string' && data !== 'synthetic') {
    const dir = isAbsolute(data) ? data : resolve(TRAIN_ROOT, data);
    return isDir(dir) ? dir : null;
  }
  const s = asRecord(config['synthetic']);
  if (s === null) return null;
  const dir = join(cacheDir(), `synthetic-${String(s['height'])}x${String(s['width'])}-n${String(s['count'])}-t${String(s['testCount'])}-s${String(s['seed'])}`);
  return existsSync(join(dir, 'dataset.json')) ? dir : null;
}

/** The newest complete synthetic dataset in the training app's cache, or null. */
export function newestSyntheticDir(dir = cacheDir()): string | null {
  if (!isDir(dir)) return null;
  const found = readdirSync(dir)
    .filter((n) => n.startsWith('synthetic-') && existsSync(join(dir, n, 'dataset.json')))
    .map((n) => ({ dir: join(dir, n), time: statSync(join(dir, n, 'dataset.json')).mtimeMs }))
    .sort((a, b) => b.time - a.time);
  return found[0]?.dir ?? null;
}

/**
 * The stored size of the images a run was trained on: the synthetic options' size, else the size in its dataset's
 * manifest, else the size of its first training image. Null when the run does not say or its data is gone.
 */
export async function runTrainSize(config: Record<string, unknown> | null): Promise<{ height: number; width: number } | null> {
  if (config === null) return null;
  const s = asRecord(config['synthetic']);
  if (config['data'] === 'synthetic' && typeof s?.['height'] === 'number' && typeof s['width'] === 'number') return { height: s['height'], width: s['width'] };
  const dir = runDataDir(config);
  if (dir === null) return null;
  const manifest = await readManifest(dir).catch(() => undefined);
  if (manifest) return { height: manifest.height, width: manifest.width };
  const images = join(dir, 'train_images');
  const first = isDir(images) ? readdirSync(images).find((n) => /\.(jpe?g|png)$/i.test(n)) : undefined;
  return first === undefined ? null : ((await readImageSize(join(images, first))) ?? null);
}

/**
 * A run's tuned post-processing (tuned.json, written by the training app's tuner), or null when there is none.
 * @throws {ViewerError} BAD_DATA when tuned.json exists but is not a valid post-processing config.
 */
export function runPostprocess(source: ModelSource): PostprocessRule[] | null {
  if (source.runDir === null) return null;
  const file = join(source.runDir, 'tuned.json');
  if (!existsSync(file)) return null;
  try {
    return parsePostprocessConfig(readFileSync(file, 'utf8')).classes.map((r) => ({ ...r }));
  } catch (error) {
    throw new ViewerError('BAD_DATA', `${file} is not a valid post-processing config: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
