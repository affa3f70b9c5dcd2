// Faults during training, each caused for real in a child process of the CLI: kill -9 after a step, kill -9 in the middle of a
// checkpoint save, Ctrl-C (SIGINT), a full disk. Resumed runs end exactly where an uninterrupted run with the same seed ends;
// a diverging loss stops the run. lovasz-finetune continues the trained run, and is interrupted and resumed like any run.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { lovaszHingeLoss } from '@steel/losses';
import { buildModel } from './builders.ts';
import { checkpointProblem, loadModelWeights } from './checkpoint.ts';
import { parseTrainConfig } from './config.ts';
import { epochOrder, openDataset, SampleStore, trainBatch, trainTransform } from './data.ts';
import { identityOf } from './trainer.ts';
import { runCli, tempDir, type CliResult } from './test-helpers.ts';

let data: string;
let runs: string;

/** Tiny runs: 8 images of 32x64, 2 epochs of 3 steps of 2 images, a checkpoint every 3 steps and after each epoch. */
const trainArgs = (name: string, runsDir = runs) => [
  'train', '--data', data, '--runs-dir', runsDir, '--name', name, '--epochs', '2', '--batch-size', '2',
  '--val-fraction', '0.25', '--crop', 'none', '--checkpoint-every', '3', '--backend', 'wasm', '--lr', '0.001', '--steps', '3',
];

/** Runs the CLI with a fault: `sigkill|sigint:<point>:<step>` (see fault.ts). */
const withFault = (args: string[], fault: string) => runCli(args, { env: { STEEL_TRAIN_FAULT: fault } });

const stateOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { step: number; epoch: number; stepInEpoch: number };
const stepLines = (name: string) => readFileSync(join(runs, name, 'log.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"type":"step"')).length;

function expectKilled(r: CliResult): void {
  expect(r.signal, r.stderr).toBe('SIGKILL');
}

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

describe('faults during training', () => {
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
    expect(stateOf(join(runs, 'full', 'checkpoint'))).toMatchObject({ step: 6, epoch: 2 });
    expect(readFileSync(join(runs, 'full', 'report.html'), 'utf8')).toContain('<svg');
  });

  it('evaluate, predict (both formats) and tune succeed on the trained run', { timeout: 600_000 }, () => {
    const run = join(runs, 'full');
    const tuned = join(runs, 'tuned.json');
    const t = runCli(['tune', '--models', run, '--data', data, '--split', 'all', '--out', tuned, '--backend', 'wasm']);
    expect(t.status, t.stderr).toBe(0);
    expect((JSON.parse(readFileSync(tuned, 'utf8')) as { classes: unknown[] }).classes).toHaveLength(4);
    const json = join(runs, 'evaluation-steps.json');
    const e = runCli(['evaluate', '--models', run, '--data', data, '--split', 'all', '--postprocess', tuned, '--backend', 'wasm', '--json', json]);
    expect(e.status, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/^raw .*\n\+ post-processing/m);
    expect(e.stdout).toContain('all-empty baseline:');
    // The dataset Dice and mean IoU of each step, printed and in the JSON file.
    expect(e.stdout).toContain('dataset Dice per class (2·ΣI/(ΣP+ΣT), pixels summed over the 8 images) and mean IoU');
    const steps = JSON.parse(readFileSync(json, 'utf8')) as { images: number; rows: { step: string; mean: number; meanDatasetDice: number; meanIou: number }[] };
    expect(steps.images).toBe(8);
    for (const row of steps.rows) {
      const mean = row.meanDatasetDice;
      const lines = e.stdout.split('\n').filter((l) => l.startsWith(`${row.step}  `));
      expect(lines, row.step).toHaveLength(2); // a line in the step table and one in the pooled table
      expect(lines[0]).toContain(` ${row.mean.toFixed(4)}`);
      expect(lines[1]!.endsWith(`${mean.toFixed(4)}  ${row.meanIou.toFixed(4)}`), lines[1]).toBe(true);
    }
    for (const [format, header] of [['current', 'ImageId,EncodedPixels,ClassId'], ['first', 'ImageId_ClassId,EncodedPixels']] as const) {
      const out = join(runs, `predicted-${format}.csv`);
      const p = runCli(['predict', '--models', run, '--data', data, '--out', out, '--format', format, '--backend', 'wasm']);
      expect(p.status, p.stderr).toBe(0);
      const lines = readFileSync(out, 'utf8').trim().split('\n');
      expect(lines[0]).toBe(header);
      expect(lines).toHaveLength(1 + 2 * 4); // 2 test images x 4 classes
    }
  });

  it('lovasz-finetune starts from the best model with the Lovász hinge loss; Ctrl-C, then train --resume finishes it', { timeout: 600_000 }, async () => {
    const source = join(runs, 'full');
    const run = join(runs, 'full-lovasz');
    const first = withFault(['lovasz-finetune', '--from', source, '--steps', '2'], 'sigint:after-step:1');
    expect(first.status, first.stderr).toBe(130);
    expect(first.stderr).toContain(`Continue with: train --resume ${run}`);
    const config = parseTrainConfig(JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')));
    expect(config).toMatchObject({ loss: 'lovasz-hinge', schedule: 'constant', lr: 1e-4, epochs: 1, steps: 2, initFrom: join(source, 'best') });
    same('full', 'full-lovasz', 'split.json');
    // The logged first loss is the Lovász hinge loss of the source's best model on the first training batch (a fresh
    // model's differs), computed here from the saved best/ and the run's split.
    const dataset = await openDataset(data);
    const byId = new Map(dataset.images.map((e) => [e.id, e]));
    const train = (JSON.parse(readFileSync(join(run, 'split.json'), 'utf8')) as { train: string[] }).train.map((id) => byId.get(id)!);
    const store = new SampleStore(dataset, config.inChannels, config.scale);
    const batch = await trainBatch(store, train, epochOrder(train.length, config.seed, 0), 0, config.batchSize, trainTransform(config), config.seed, 0);
    const lovaszOf = async (model: LayersModel) => {
      const value = tf.tidy(() =>
        lovaszHingeLoss(tf.tensor4d(batch.y, [...batch.shape.slice(0, 3), dataset.classes] as [number, number, number, number]), model.apply(tf.tensor4d(batch.x, batch.shape), { training: true }) as tf.Tensor),
      );
      const v = (await value.data())[0]!;
      value.dispose();
      model.dispose();
      return v;
    };
    const best = await buildModel(config, dataset.classes);
    loadModelWeights(best, join(source, 'best'), identityOf(config, dataset.classes));
    const expected = await lovaszOf(best);
    const fresh = await lovaszOf(await buildModel(config, dataset.classes));
    const logged = (JSON.parse(readFileSync(join(run, 'log.jsonl'), 'utf8').split('\n')[0]!) as { loss: number }).loss;
    expect(logged).toBeCloseTo(expected, 4);
    expect(Math.abs(fresh - expected)).toBeGreaterThan(1e-3);
    const resumed = runCli(['train', '--resume', run]);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain('Resuming from epoch 1, step 1 (global step 1)');
    expect(resumed.stderr).not.toContain('Starting from the weights');
    expect(stepLines('full-lovasz')).toBe(2);
    for (const file of ['best/model.json', 'metrics.json', 'submission.csv']) expect(existsSync(join(run, file)), file).toBe(true);
  });

  it('kill -9 after step 4 (last checkpoint at step 3): the resume replays step 4, drops its log line and ends equal', { timeout: 600_000 }, () => {
    expectKilled(withFault(trainArgs('killed'), 'sigkill:after-step:4'));
    expect(stateOf(join(runs, 'killed', 'checkpoint'))).toMatchObject({ step: 3, epoch: 1 });
    expect(stepLines('killed')).toBe(4);
    const resumed = runCli(['train', '--resume', join(runs, 'killed')]);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain('Resuming from epoch 2, step 0 (global step 3)');
    expectSameResult('full', 'killed');
  });

  it('Ctrl-C saves a checkpoint, exits with 130 and says how to continue; the resume ends equal', { timeout: 600_000 }, () => {
    const first = withFault(trainArgs('interrupted'), 'sigint:after-step:4');
    expect(first.status, first.stderr).toBe(130);
    expect(first.stderr).toContain('Interrupted: saving a checkpoint');
    expect(first.stderr).toContain(`Continue with: train --resume ${join(runs, 'interrupted')}`);
    expect(existsSync(join(runs, 'interrupted', 'metrics.json'))).toBe(false);
    expect(stateOf(join(runs, 'interrupted', 'checkpoint'))).toMatchObject({ step: 4, epoch: 1, stepInEpoch: 1 });
    const second = runCli(['train', '--resume', join(runs, 'interrupted')]);
    expect(second.status, second.stderr).toBe(0);
    expect(second.stderr).toContain('Resuming from epoch 2, step 1');
    expectSameResult('full', 'interrupted');
  });

  it('kill -9 during a checkpoint save: the half-written folder is ignored, the .old one is used, the user is told', { timeout: 600_000 }, () => {
    const run = join(runs, 'torn');
    const checkpoint = join(run, 'checkpoint');
    // Killed while the step-6 checkpoint is half written: the step-3 checkpoint stays in place.
    expectKilled(withFault(trainArgs('torn'), 'sigkill:checkpoint-half-written:6'));
    expect(readdirSync(`${checkpoint}.tmp`).length).toBeLessThan(5);
    expect(stateOf(checkpoint)).toMatchObject({ step: 3 });
    // Resumed, then killed between moving the old checkpoint aside and renaming the new one into place.
    const second = withFault(['train', '--resume', run], 'sigkill:checkpoint-moved-aside:6');
    expectKilled(second);
    expect(second.stderr).toContain(`Ignoring ${checkpoint}.tmp: a save was interrupted`);
    expect(existsSync(checkpoint)).toBe(false);
    expect(stateOf(`${checkpoint}.old`)).toMatchObject({ step: 3 });
    const third = runCli(['train', '--resume', run]);
    expect(third.status, third.stderr).toBe(0);
    expect(third.stderr).toContain(`The checkpoint in ${checkpoint} is missing (a crash interrupted its save); resuming from the previous one in ${checkpoint}.old`);
    expect(existsSync(`${checkpoint}.old`)).toBe(false);
    expectSameResult('full', 'torn');
  });

  it('a full disk while checkpointing: a clear error, and the previous checkpoint intact', { timeout: 600_000 }, (ctx) => {
    const size = readdirSync(join(runs, 'full', 'checkpoint')).reduce((sum, f) => sum + statSync(join(runs, 'full', 'checkpoint', f)).size, 0);
    const mount = tempDir('steel-full-disk-');
    let mounted = false;
    try {
      // A real small file system: room for one checkpoint and half of the next one.
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${Math.ceil((1.5 * size) / 1048576)}m`, 'tmpfs', mount], { stdio: 'pipe' });
      mounted = true;
    } catch (error) {
      console.warn(`[full disk] cannot mount a tmpfs here (${(error as Error).message.split('\n')[0]}); using a read-only folder instead.`);
    }
    try {
      const run = join(mount, 'disk');
      let r: CliResult;
      if (mounted) {
        console.info(`[full disk] checkpointing every step onto a ${Math.ceil((1.5 * size) / 1048576)} MiB tmpfs`);
        r = runCli([...trainArgs('disk', mount), '--checkpoint-every', '1']);
      } else {
        const first = runCli([...trainArgs('disk', mount), '--checkpoint-every', '1', '--stop-after-steps', '1']);
        expect(first.status, first.stderr).toBe(0);
        execFileSync('chmod', ['a-w', run]);
        let writable = true;
        try {
          mkdirSync(join(run, 'probe'));
        } catch {
          writable = false;
        }
        if (writable) ctx.skip('neither a tmpfs mount nor a read-only folder is possible here (root without mount rights)');
        r = runCli(['train', '--resume', run, '--stop-after-steps', '1']);
        execFileSync('chmod', ['u+w', run]);
      }
      const checkpoint = join(run, 'checkpoint');
      expect(r.status, r.stderr).toBe(7);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stderr).toMatch(mounted ? /the disk is full \(ENOSPC\)/ : /permission denied \(EACCES\)/);
      expect(r.stderr).toContain(`error: Cannot write ${checkpoint}`);
      expect(r.stderr).toContain(`The previous version in ${checkpoint} is intact`);
      expect(r.stderr).toContain(`train --resume ${run}`);
      expect(checkpointProblem(checkpoint)).toBeUndefined();
      expect(stateOf(checkpoint)).toMatchObject({ step: 1 });
      expect(existsSync(`${checkpoint}.tmp`)).toBe(false);
    } finally {
      if (mounted) execFileSync('umount', [mount]);
    }
  });

  it('a NaN or Inf loss stops the run naming the step, and the last good checkpoint stays', { timeout: 600_000 }, () => {
    const r = runCli([...trainArgs('diverged'), '--lr', '1e38', '--checkpoint-every', '1']);
    expect(r.status, r.stderr).toBe(6);
    const m = /error: The loss became (NaN|Infinity|-Infinity) at epoch (\d), step (\d) \(global step (\d+)\)/.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    const step = Number(m![4]);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    if (step > 1) {
      expect(r.stderr).toContain('The last good checkpoint stays in');
      expect(stateOf(join(runs, 'diverged', 'checkpoint')).step).toBe(step - 1);
    } else {
      expect(r.stderr).toContain('No checkpoint had been saved yet');
    }
  });
});
