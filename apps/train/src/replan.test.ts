// A time budget plans again from the run's own steps: after the hook's step the epochs hold the steps it returns, the
// cosine schedule spans the new total, and the second plan is reported. The whole run (two epochs, checkpoints, validation)
// leaves no tensor behind (the leak check of the test setup).
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend.ts';
import { type ReplanHook } from './budget.ts';
import { parseTrainConfig } from './config.ts';
import { openDataset } from './data.ts';
import { createProgress } from './progress.ts';
import { runPaths } from './run-dir.ts';
import { learningRate } from './schedule.ts';
import { makeSplit } from './split.ts';
import { runTraining } from './trainer.ts';
import { runCli, tempDir } from './test-helpers.ts';

let root: string;

beforeAll(async () => {
  root = tempDir();
  const r = runCli(['generate', '--out', join(root, 'data'), '--count', '8', '--test-count', '2', '--size', '32x64']);
  expect(r.status, r.stderr).toBe(0);
  await initBackend({ backend: 'wasm', threads: undefined } as never);
}, 120_000);

describe('the budget re-plan in the trainer', () => {
  it('trains the re-planned steps per epoch from the hook step on, with the schedule over the new total', { timeout: 300_000 }, async () => {
    const config = parseTrainConfig({
      data: join(root, 'data'), runsDir: join(root, 'runs'), name: 'replan', epochs: 2, steps: 4, batchSize: 2, valFraction: 0.25,
      crop: null, backend: 'wasm', lr: 0.001, schedule: 'cosine', checkpointEvery: 100, bnRecalibration: 0,
    });
    const paths = runPaths(join(root, 'runs', 'replan'));
    mkdirSync(paths.root, { recursive: true });
    const dataset = await openDataset(config.data!);
    const split = await makeSplit(config, dataset, paths, false);
    const calls: { stepSeconds: number; stepsDone: number }[] = [];
    const hook: ReplanHook = {
      atStep: 3,
      timeFrom: 1,
      plan: (stepSeconds, stepsDone) => {
        calls.push({ stepSeconds, stepsDone });
        return 6;
      },
    };
    const lines: string[] = [];
    const progress = { ...createProgress(process.stderr), log: (line: string) => lines.push(line) };
    const result = await runTraining({
      config, data: { dataset, ...split }, paths, resume: false, progress, stop: { requested: false }, replan: hook,
    });
    expect(result.stopped).toBe('finished');
    expect(calls).toHaveLength(1);
    expect(calls[0]!.stepsDone).toBe(3);
    expect(calls[0]!.stepSeconds).toBeGreaterThan(0);
    expect(result.replanned).toEqual({ afterSteps: 3, stepSeconds: calls[0]!.stepSeconds, steps: 6 });
    expect(result.state.step).toBe(12);
    expect(lines.some((l) => l.includes('run 6 steps instead of 4'))).toBe(true);
    const log = readFileSync(paths.log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; step?: number; lr?: number; epoch: number });
    const steps = log.filter((l) => l.type === 'step');
    expect(steps.map((l) => l.epoch)).toEqual([1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2]);
    // Steps 1-3 ran on the first plan's schedule (8 steps), the rest on the second one's (12 steps).
    const cosine = (total: number, step: number) => learningRate({ name: 'cosine', lr: 0.001, totalSteps: total, patience: 0, factor: 1 }, step, {});
    expect(steps.map((l) => l.lr)).toEqual([0, 1, 2].map((s) => cosine(8, s)).concat([3, 4, 5, 6, 7, 8, 9, 10, 11].map((s) => cosine(12, s))));
  });
});
