// Interrupted and resumed runs end exactly where an uninterrupted run with the same seed ends; a diverging loss stops the run.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli, tempDir } from './test-helpers.ts';

let data: string;
let runs: string;

/** Tiny runs: 8 images of 32x64, 2 epochs of 3 steps of 2 images, a checkpoint after every step. */
const trainArgs = (name: string) => [
  'train', '--data', data, '--runs-dir', runs, '--name', name, '--epochs', '2', '--batch-size', '2',
  '--val-fraction', '0.25', '--crop', 'none', '--checkpoint-every', '1', '--backend', 'wasm', '--lr', '0.001', '--steps', '3',
];

function same(a: string, b: string, file: string): void {
  const x = readFileSync(join(runs, a, file));
  const y = readFileSync(join(runs, b, file));
  expect(x.equals(y), `${file} of ${a} and ${b} differ`).toBe(true);
}

function epochs(name: string) {
  return readFileSync(join(runs, name, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .map(({ seconds: _s, ...rest }) => rest);
}

function expectSameResult(a: string, b: string): void {
  for (const file of ['checkpoint/weights.bin', 'checkpoint/optimizer.bin', 'best/group1-shard1of1.bin', 'submission.csv']) same(a, b, file);
  expect(epochs(b)).toEqual(epochs(a));
  const metrics = (n: string) => {
    const { timing: _t, ...rest } = JSON.parse(readFileSync(join(runs, n, 'metrics.json'), 'utf8')) as Record<string, unknown>;
    return rest;
  };
  expect(metrics(b)).toEqual(metrics(a));
}

describe('resume', () => {
  beforeAll(() => {
    const root = tempDir();
    data = join(root, 'data');
    runs = join(root, 'runs');
    const r = runCli(['generate', '--out', data, '--count', '8', '--test-count', '2', '--size', '32x64']);
    expect(r.status, r.stderr).toBe(0);
    const full = runCli(trainArgs('full'));
    expect(full.status, full.stderr).toBe(0);
  }, 600_000);

  it('an uninterrupted run writes the whole run folder', () => {
    for (const file of ['config.json', 'log.jsonl', 'split.json', 'metrics.json', 'submission.csv', 'report.html', 'overlay-1.png', 'best/model.json', 'checkpoint/state.json']) {
      expect(existsSync(join(runs, 'full', file)), file).toBe(true);
    }
    const state = JSON.parse(readFileSync(join(runs, 'full', 'checkpoint', 'state.json'), 'utf8')) as { step: number; epoch: number };
    expect(state).toMatchObject({ step: 6, epoch: 2 });
    expect(readFileSync(join(runs, 'full', 'report.html'), 'utf8')).toContain('<svg');
  });

  it('stopping mid-epoch and resuming gives the same result', { timeout: 600_000 }, () => {
    const first = runCli([...trainArgs('stopped'), '--stop-after-steps', '4']);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toContain('--resume');
    expect(existsSync(join(runs, 'stopped', 'metrics.json'))).toBe(false);
    const second = runCli(['train', '--resume', join(runs, 'stopped')]);
    expect(second.status, second.stderr).toBe(0);
    expect(second.stderr).toContain('Resuming from epoch 2, step 1');
    expectSameResult('full', 'stopped');
  });

  it('resuming after kill -9 gives the same result', { tags: ['slow'], timeout: 600_000 }, async () => {
    const child = startCli(trainArgs('killed'));
    const log = join(runs, 'killed', 'log.jsonl');
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        const steps = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => l.includes('"type":"step"')).length : 0;
        if (steps >= 2) {
          clearInterval(timer);
          child.kill('SIGKILL');
          resolve();
        }
      }, 50);
      child.on('exit', () => {
        clearInterval(timer);
        reject(new Error('the run ended before it could be killed'));
      });
    });
    await new Promise((resolve) => child.once('exit', resolve));
    const resumed = runCli(['train', '--resume', join(runs, 'killed')]);
    expect(resumed.status, resumed.stderr).toBe(0);
    expectSameResult('full', 'killed');
  });

  it('a NaN or Inf loss stops the run naming the step, and the last good checkpoint stays', { timeout: 600_000 }, () => {
    const r = runCli([...trainArgs('diverged'), '--lr', '1e38']);
    expect(r.status, r.stderr).toBe(6);
    const m = /error: The loss became (NaN|Infinity|-Infinity) at epoch (\d), step (\d) \(global step (\d+)\)/.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    const step = Number(m![4]);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    if (step > 1) {
      expect(r.stderr).toContain('The last good checkpoint stays in');
      const state = JSON.parse(readFileSync(join(runs, 'diverged', 'checkpoint', 'state.json'), 'utf8')) as { step: number };
      expect(state.step).toBe(step - 1);
    } else {
      expect(r.stderr).toContain('No checkpoint had been saved yet');
    }
  });
});
