// Where the app keeps its files: its folder, and the cache of generated synthetic datasets.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TrainConfig } from './config.ts';

/** The app folder (apps/train). */
export const APP_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Where generated datasets are cached: $STEEL_CACHE_DIR, else apps/train/.cache. */
export function cacheDir(): string {
  return process.env['STEEL_CACHE_DIR'] ?? join(APP_ROOT, '.cache');
}

/** The cache folder of one synthetic dataset configuration. */
export function syntheticDir(s: TrainConfig['synthetic']): string {
  return join(cacheDir(), `synthetic-${s.height}x${s.width}-n${s.count}-t${s.testCount}-s${s.seed}`);
}

/** Whether a synthetic dataset folder is complete (the generator writes dataset.json last). */
export function isGenerated(dir: string): boolean {
  return existsSync(join(dir, 'dataset.json')) && existsSync(join(dir, 'train.csv'));
}
