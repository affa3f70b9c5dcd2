import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSyntheticDataset } from '@steel/data';
import { resolveStart } from './cli.ts';
import { isViewerError } from './errors.ts';

let root: string;
const saved = { runs: process.env['STEEL_RUNS_DIR'], cache: process.env['STEEL_CACHE_DIR'] };

/** A run folder as the training app leaves it (the model files only need to exist here). */
function fakeRun(name: string, config: Record<string, unknown>, time: number): string {
  const dir = join(root, 'runs', name);
  mkdirSync(join(dir, 'best'), { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  writeFileSync(join(dir, 'best', 'model.json'), '{}');
  utimesSync(join(dir, 'best', 'model.json'), time, time);
  return dir;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'steel-viewer-cli-'));
  process.env['STEEL_RUNS_DIR'] = join(root, 'runs');
  process.env['STEEL_CACHE_DIR'] = join(root, 'cache');
  const synthetic = { count: 2, testCount: 1, height: 16, width: 64, seed: 5 };
  await generateSyntheticDataset({ dir: join(root, 'cache', 'synthetic-16x64-n2-t1-s5'), ...synthetic });
  fakeRun('older', { data: 'synthetic', synthetic }, 1_000_000);
  fakeRun('newer', { data: 'synthetic', synthetic }, 2_000_000);
  mkdirSync(join(root, 'runs', 'unfinished'), { recursive: true });
  writeFileSync(join(root, 'runs', 'unfinished', 'config.json'), '{}');
  mkdirSync(join(root, 'not-data'), { recursive: true });
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  for (const [key, value] of [
    ['STEEL_RUNS_DIR', saved.runs],
    ['STEEL_CACHE_DIR', saved.cache],
  ] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

async function failure(argv: string[]): Promise<{ code: string; message: string }> {
  try {
    await resolveStart(argv);
  } catch (error) {
    if (isViewerError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error(`resolveStart(${argv.join(' ')}) did not fail`);
}

describe('resolveStart', () => {
  it('offers every finished run, newest first, with the synthetic dataset it was trained on', async () => {
    const start = await resolveStart([]);
    expect(start.models.map((m) => m.name)).toEqual(['newer', 'older']);
    expect(start.models[0]!.dir).toBe(join(root, 'runs', 'newer', 'best'));
    expect(start.gallery?.info.dir).toBe(join(root, 'cache', 'synthetic-16x64-n2-t1-s5'));
    expect(start.gallery?.info.splits).toEqual({ test: { images: 1, hasTruth: true }, train: { images: 2, hasTruth: true } });
    expect(start.port).toBe(8180);
  });

  it('takes --run, --model, --data and --port', async () => {
    const start = await resolveStart(['--run', join(root, 'runs', 'older'), '--model', join(root, 'runs', 'newer', 'best'), '--port', '0']);
    expect(start.models.map((m) => [m.name, m.kind])).toEqual([
      ['older', 'run'],
      ['best', 'folder'],
    ]);
    expect(start.port).toBe(0);
  });

  it.each([
    { argv: ['--run', '/no/such/run'], code: 'NOT_FOUND', text: 'Run folder "/no/such/run" does not exist' },
    { argv: ['--run', 'unfinished-elsewhere'], code: 'NOT_FOUND', text: 'Pass --run runs/<name>' },
    { argv: ['--model', '/no/such/model'], code: 'NOT_FOUND', text: 'Model folder "/no/such/model" does not exist' },
    { argv: ['--data', '/no/such/data'], code: 'NOT_FOUND', text: 'Data folder "/no/such/data" does not exist' },
    { argv: ['--port', 'eighty'], code: 'USAGE', text: '--port: expected an integer from 0 to 65535, got "eighty"' },
    { argv: ['--colour', 'red'], code: 'USAGE', text: "Unknown option '--colour'" },
  ])('$argv.0 $argv.1 → $code', async ({ argv, code, text }) => {
    const got = await failure(argv);
    expect(got.code).toBe(code);
    expect(got.message).toContain(text);
  });

  it('names what a run without a best model and a folder without a dataset lack', async () => {
    const run = await failure(['--run', join(root, 'runs', 'unfinished')]);
    expect(run.code).toBe('NOT_A_RUN');
    expect(run.message).toContain(join(root, 'runs', 'unfinished', 'best', 'model.json'));
    const data = await failure(['--data', join(root, 'not-data')]);
    expect(data.code).toBe('BAD_DATA');
    expect(data.message).toContain('train.csv');
    const file = await failure(['--model', join(root, 'runs', 'newer', 'best', 'model.json')]);
    expect(file.message).toContain('is a file, not a folder');
  });

  it('starts without a model when there is no run, saying how to get one', async () => {
    process.env['STEEL_RUNS_DIR'] = join(root, 'empty-runs');
    try {
      const start = await resolveStart([]);
      expect(start.models).toEqual([]);
      expect(start.notices[0]).toContain('pnpm --filter train start');
    } finally {
      process.env['STEEL_RUNS_DIR'] = join(root, 'runs');
    }
  });
});

describe('the start command', () => {
  it('prints one line and exits with code 2 for a bad --run path', () => {
    const main = resolve(import.meta.dirname, 'main.ts');
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--conditions=@steel/source', main, '--run', '/no/such/run'], { encoding: 'utf8', cwd: resolve(import.meta.dirname, '..', '..'), timeout: 60_000 });
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^viewer: Run folder "\/no\/such\/run" does not exist/);
  });
});
