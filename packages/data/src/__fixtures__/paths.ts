import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** ../shared/data beside the repository checkout. */
export const SHARED_DATA = fileURLToPath(new URL('../../../../../shared/data', import.meta.url));
export const SEVERSTAL_SAMPLE = join(SHARED_DATA, 'severstal-sample');
export const NEU_SEG = join(SHARED_DATA, 'neu-seg');
export const HAS_SEVERSTAL = existsSync(join(SEVERSTAL_SAMPLE, 'train.csv'));
export const HAS_NEU = existsSync(join(NEU_SEG, 'train.txt'));
export const FLIP_MODULE = fileURLToPath(new URL('./flip-transform.ts', import.meta.url));

export function note(present: boolean, what: string): void {
  if (!present) console.warn(`[skip] ${what} not found under ${SHARED_DATA}; tests that read it are skipped.`);
}

export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `steel-data-${prefix}-`));
}
