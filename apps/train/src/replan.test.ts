// A time budget plans again from the run's own steps, several times: from each re-plan on, the running epoch and the later
// ones hold the steps it returns, the finished epochs keep theirs, the cosine schedule goes on from where it was to the new
// total, and a re-plan times the step loop only (not the end of an epoch). A run stopped after a re-plan and resumed trains
// the same epochs with the same learning rates. Each run (three epochs, checkpoints, validation) leaves no tensor behind
// (the leak check of the test setup).
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
import { runTraining, type TrainResult } from './trainer.ts';
import { runCli, tempDir } from './test-helpers.ts';

let root: string;

beforeAll(async () => {
  root = tempDir();
  const r = runCli(['generate', '--out', join(root, 'data'), '--count', '8', '--test-count', '2', '--size', '32x64']);
  expect(r.status, r.stderr).toBe(0);
  await initBackend({ backend: 'wasm', threads: undefined } as never);
}, 120_000);

/** Three epochs of 4 steps of 2 images planned; the hook plans again after steps 3, 8 and 13 (see `hook`). */
const configOf = (name: string, checkpointEvery = 100) =>
  parseTrainConfig({
    data: join(root, 'data'), runsDir: join(root, 'runs'), name, epochs: 3, steps: 4, batchSize: 2, valFraction: 0.25,
    crop: null, backend: 'wasm', lr: 0.001, schedule: 'cosine', checkpointEvery, bnRecalibration: 0,
  });

interface Call {
  stepSeconds: number;
  epoch: number;
  stepInEpoch: number;
}

/**
 * Re-plans after steps 3 (epoch 1), 8 (epoch 2, timing steps 4-8 across the end of epoch 1) and 13 (epoch 3): 6, then 5
 * steps per epoch, then 1, which is fewer than the 2 steps epoch 3 has done, so it gets 3.
 */
function hook(calls: Call[] = []): ReplanHook {
  return {
    timeFrom: 1,
    at: (index) => [3, 8, 13][index],
    plan: (stepSeconds, progress) => {
      calls.push({ stepSeconds, ...progress });
      return [6, 5, 1][progress.epoch]!;
    },
  };
}

interface LogLine {
  type: string;
  epoch: number;
  step?: number;
  lr?: number;
  loss?: number;
  seconds?: number;
}

const logOf = (name: string) =>
  readFileSync(join(root, 'runs', name, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as LogLine);

interface TrainTestOptions {
  replan?: ReplanHook;
  resume?: boolean;
  stopAfterSteps?: number;
  checkpointEvery?: number;
  log?: (line: string) => void;
  /** Fails the run when its `crashAtStep`-th step reports its progress (before that step is logged or checkpointed). */
  crashAtStep?: number;
}

async function train(name: string, options: TrainTestOptions = {}): Promise<TrainResult> {
  const config = configOf(name, options.checkpointEvery);
  const paths = runPaths(join(root, 'runs', name));
  mkdirSync(paths.root, { recursive: true });
  const dataset = await openDataset(config.data!);
  const split = await makeSplit(config, dataset, paths, options.resume ?? false);
  const base = createProgress(process.stderr);
  let step = 0;
  const progress = {
    ...base,
    log: options.log ?? (() => {}),
    step: (info: Parameters<typeof base.step>[0]) => {
      step += 1;
      if (options.crashAtStep !== undefined && step >= options.crashAtStep) throw new Error(`crash at step ${step}`);
      base.step(info);
    },
  };
  return runTraining({
    config, data: { dataset, ...split }, paths, resume: options.resume ?? false, progress, stop: { requested: false },
    replan: options.replan, stopAfterSteps: options.stopAfterSteps,
  });
}

/** Blocks this thread for `ms` milliseconds (slow work at the end of an epoch). */
const block = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

describe('the budget re-plans in the trainer', () => {
  it('trains the re-planned epoch lengths, with the schedule going on to each new total, timing the step loop only', { timeout: 300_000 }, async () => {
    const calls: Call[] = [];
    const lines: string[] = [];
    // The ends of epochs 1 and 2 take 1.5 s more (their log line): the re-plans after steps 8 and 13 must not count it.
    const log = (line: string) => {
      lines.push(line);
      if (/^epoch [12]\//.test(line)) block(1500);
    };
    const result = await train('replan', { replan: hook(calls), log });
    expect(result.stopped).toBe('finished');
    expect(calls.map(({ epoch, stepInEpoch }) => ({ epoch, stepInEpoch }))).toEqual([
      { epoch: 0, stepInEpoch: 3 },
      { epoch: 1, stepInEpoch: 2 },
      { epoch: 2, stepInEpoch: 2 },
    ]);
    expect(result.replans?.map(({ stepSeconds: _s, ...rest }) => rest)).toEqual([
      { afterSteps: 3, epoch: 1, timedSteps: 2, steps: 6, totalSteps: 18 },
      { afterSteps: 8, epoch: 2, timedSteps: 5, steps: 5, totalSteps: 16 },
      { afterSteps: 13, epoch: 3, timedSteps: 5, steps: 3, totalSteps: 14 },
    ]);
    expect(result.replans?.map((r) => r.stepSeconds)).toEqual(calls.map((c) => c.stepSeconds));
    expect(result.state).toMatchObject({ step: 14, epoch: 3, epochSteps: [6, 5, 3] });
    const budgetLines = lines.filter((l) => l.startsWith('Budget: '));
    expect(budgetLines).toHaveLength(3);
    expect(budgetLines[0]).toMatch(/^Budget: the last 2 steps took \d+\.\d\d s each, so epochs 1-3 run 6 steps instead of 4 \(18 steps in all\)\.$/);
    expect(budgetLines[1]).toMatch(/^Budget: the last 5 steps took \d+\.\d\d s each, so epochs 2-3 run 5 steps instead of 6 \(16 steps in all\)\.$/);
    expect(budgetLines[2]).toMatch(/^Budget: the last 5 steps took \d+\.\d\d s each, so epoch 3 runs 3 steps instead of 5 \(14 steps in all\)\.$/);

    const runLog = logOf('replan');
    const steps = runLog.filter((l) => l.type === 'step');
    expect(steps.map((l) => l.epoch)).toEqual([1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3]);
    expect(runLog.filter((l) => l.type === 'epoch').map((l) => l.step)).toEqual([6, 11, 14]);
    // The timed seconds hold the logged steps and little else: not the 1.5 s at the end of epochs 1 and 2.
    for (const [i, from, to] of [[1, 4, 8], [2, 9, 13]] as const) {
      const timed = result.replans![i]!.stepSeconds * 5;
      const logged = steps.filter((l) => l.step! >= from && l.step! <= to).reduce((sum, l) => sum + l.seconds!, 0);
      expect(timed, `re-plan ${i + 1}`).toBeGreaterThanOrEqual(logged);
      expect(timed, `re-plan ${i + 1}`).toBeLessThan(logged + 0.75);
    }
    // The schedule's progress, written out: 3/12 at the first re-plan, then linear to 1 at 18 steps; 1/2 at the second
    // (step 8), then to 1 at 16; 13/16 at the third (step 13), then to 1 at 14.
    const progress = (s: number) =>
      s < 3 ? s / 12 : s < 8 ? 0.25 + (0.75 * (s - 3)) / 15 : s < 13 ? 0.5 + (0.5 * (s - 8)) / 8 : 0.8125 + (0.1875 * (s - 13)) / 1;
    const cosine = (t: number) => 0.001 / 100 + (0.001 - 0.001 / 100) * 0.5 * (1 + Math.cos(Math.PI * t));
    steps.forEach((l, s) => expect(l.lr, `step ${s + 1}`).toBeCloseTo(cosine(progress(s)), 12));
    // The same through the schedule: a plan of 14 steps from the anchor of the last re-plan.
    expect(learningRate({ name: 'cosine', lr: 0.001, totalSteps: 14, patience: 0, factor: 1 }, 13, result.state.schedule)).toBe(steps[13]!.lr);
  });

  it('a run stopped after a re-plan and resumed trains the same epochs, learning rates and weights as one that was not', { timeout: 300_000 }, async () => {
    await train('whole', { replan: hook() });
    // Stopped between the first and second re-plans and resumed with the hook: it goes on with the re-plans still ahead.
    expect((await train('between', { replan: hook(), stopAfterSteps: 5 })).state).toMatchObject({ step: 5, epochSteps: [6, 6, 6] });
    const between = await train('between', { replan: hook(), resume: true });
    // Stopped after the last re-plan and resumed without a hook (as `train --resume`): the checkpoint holds the plan.
    expect((await train('after', { replan: hook(), stopAfterSteps: 13 })).state).toMatchObject({ step: 13, epochSteps: [6, 5, 3] });
    const after = await train('after', { resume: true });
    // Crashed right after the checkpoint of step 8, where the second re-plan ran: that checkpoint holds the new plan.
    await expect(train('crashed', { replan: hook(), checkpointEvery: 8, crashAtStep: 9 })).rejects.toThrow('crash at step 9');
    const crashed = await train('crashed', { replan: hook(), resume: true });
    const whole = logOf('whole').map(({ seconds: _s, ...rest }) => rest);
    expect(whole.filter((l) => l.type === 'step')).toHaveLength(14);
    for (const [name, result] of [['between', between], ['after', after], ['crashed', crashed]] as const) {
      expect(result.stopped).toBe('finished');
      expect(logOf(name).map(({ seconds: _s, ...rest }) => rest), name).toEqual(whole);
      expect(result.state.epochSteps).toEqual([6, 5, 3]);
      expect(result.replans?.map((r) => r.afterSteps)).toEqual([3, 8, 13]);
      for (const file of ['weights.bin', 'optimizer.bin']) {
        const a = readFileSync(join(root, 'runs', 'whole', 'checkpoint', file));
        const b = readFileSync(join(root, 'runs', name, 'checkpoint', file));
        expect(a.equals(b), `${file} of ${name}`).toBe(true);
      }
    }
  });
});
