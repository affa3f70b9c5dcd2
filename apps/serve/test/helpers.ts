// Shared by the tests: the trained fixture, a loaded predictor, and the worker command line.
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { expect, inject } from 'vitest';
import { loadPredictor, type Predictor, type PredictorOptions } from '../src/model.ts';

export const APP = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const fixture = () => inject('fixture');

/** The predictor options of the fixture run with the test post-processing. */
export function fixtureOptions(): PredictorOptions {
  const f = fixture();
  return { models: [f.run], threshold: f.post.threshold, minArea: f.post.minArea, engine: 'onnxruntime', threads: 1 };
}

export const loadFixturePredictor = (engine: 'tfjs' | 'onnxruntime' = 'onnxruntime'): Promise<Predictor> => loadPredictor({ ...fixtureOptions(), engine });

/** Starts `serve worker` as its own process (so a test can kill -9 it). */
export function spawnWorker(redisUrl: string, extra: string[] = []): ChildProcess {
  const f = fixture();
  // node itself (not the tsx wrapper, which would outlive a kill -9 of its child): the pid is the worker's.
  return spawn(
    process.execPath,
    ['--conditions=@steel/source', '--import', 'tsx', join(APP, 'src', 'main.ts'), 'worker', '--models', f.run, '--threshold', String(f.post.threshold),
      '--min-area', f.post.minArea.join(','), '--redis', redisUrl, '--engine', 'onnxruntime', '--backend', 'wasm', '--threads', '1', ...extra],
    { cwd: APP, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } },
  );
}

/** Resolves when the process prints a line matching `pattern` (or rejects when it exits first). */
export function waitForLine(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (d: Buffer) => {
      seen += d.toString();
      const line = seen.split('\n').find((l) => pattern.test(l));
      if (line !== undefined) {
        child.stdout?.off('data', onData);
        resolve(line);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d: Buffer) => (seen += d.toString()));
    child.once('exit', (code) => reject(new Error(`process exited (${code}) before printing ${pattern}: ${seen.slice(-500)}`)));
  });
}

/** Asserts two CSV files are equal byte for byte; on a difference names the first differing line (not the whole file). */
export function expectSameCsv(actualFile: string, expectedFile: string): void {
  const actual = readFileSync(actualFile, 'utf8');
  const expected = readFileSync(expectedFile, 'utf8');
  if (actual === expected) return;
  const a = actual.split('\n');
  const e = expected.split('\n');
  const i = a.findIndex((line, k) => line !== e[k]);
  const at = i === -1 ? a.length : i;
  expect.fail(`${actualFile} differs from ${expectedFile}: ${a.length} vs ${e.length} lines; first difference at line ${at + 1}: "${(a[at] ?? '<end>').slice(0, 60)}" vs "${(e[at] ?? '<end>').slice(0, 60)}"`);
}
