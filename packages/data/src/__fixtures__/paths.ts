import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SHARED_DATA, sharedData } from '../../../../tooling/vitest/shared-data.ts';

export const SEVERSTAL_SAMPLE = join(SHARED_DATA, 'severstal-sample');
export const NEU_SEG = join(SHARED_DATA, 'neu-seg');
/** Whether severstal-sample is there for the tests of `what` (absent: a warning, or a failing test under CI=true). */
export const needSeverstal = (what: string): boolean => sharedData('severstal-sample/train.csv', what).present;
/** Whether neu-seg is there for the tests of `what` (absent: a warning, or a failing test under CI=true). */
export const needNeu = (what: string): boolean => sharedData('neu-seg/train.txt', what).present;
export const FLIP_MODULE = fileURLToPath(new URL('./flip-transform.ts', import.meta.url));

export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `steel-data-${prefix}-`));
}
