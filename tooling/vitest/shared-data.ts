// Tests that read the competition's real files in ../shared/data (beside the checkout): skipped with a warning when the
// folder is absent, except under CI=true, where a failing test says what is missing.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';

/** ../shared/data beside the repository checkout. */
export const SHARED_DATA = fileURLToPath(new URL('../../../shared/data', import.meta.url));

/**
 * Checks for `relative` (a file or folder under ../shared/data) that the tests of `what` need. Call it at the top of a test
 * file and skip those tests when `present` is false. When it is absent, CI=true registers a failing test naming the path
 * (CI must not pass without the data); elsewhere it prints a warning.
 */
export function sharedData(relative: string, what: string): { path: string; present: boolean } {
  const path = join(SHARED_DATA, relative);
  const present = existsSync(path);
  if (!present) {
    const message = `${what} need ${path}, which is absent`;
    if (process.env['CI'] === 'true') {
      describe('../shared/data', () => {
        it(`holds ${relative}`, () => {
          throw new Error(`${message}. Under CI=true these tests fail instead of skipping: put the data in ${SHARED_DATA}.`);
        });
      });
    } else {
      console.warn(`[skip] ${message}; they are skipped here (under CI=true they fail).`);
    }
  }
  return { path, present };
}
