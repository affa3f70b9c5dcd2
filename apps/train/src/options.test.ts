// No option is silently ignored: each rule refuses (exit 2, naming the flag and why) or states what happens in one line.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { postprocessFor } from './commands/shared.ts';
import { parseTrainConfig } from './config.ts';
import { openDataset } from './data.ts';
import { isAppError } from './errors.ts';
import { checkNewRunOptions, checkPerClassOptions, checkResumeOptions } from './options.ts';
import { runPaths } from './run-dir.ts';
import { makeSplit } from './split.ts';
import { runCli, tempDir, type CliResult } from './test-helpers.ts';

function refusal(fn: () => void): string {
  try {
    fn();
  } catch (error) {
    expect(isAppError(error) && error.exitCode).toBe(2);
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
}

function expectRefused(r: CliResult, ...parts: string[]): void {
  expect(r.status, r.stderr).toBe(2);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(/^error: /);
  for (const part of parts) expect(r.stderr).toContain(part);
}

const newRun = (config: Record<string, unknown>) => () => checkNewRunOptions(parseTrainConfig(config), new Set(Object.keys(config)));

describe('options that would have no effect on a new run', () => {
  it('--pos-weight with a loss that takes none', () => {
    expect(refusal(newRun({ loss: 'dice', posWeight: [2, 2, 1, 1.5] }))).toContain('--pos-weight applies to --loss bce or bce-weighted-dice only; --loss dice does not use it');
    expect(newRun({ loss: 'bce-weighted-dice', posWeight: [2, 2, 1, 1.5] })).not.toThrow();
    // The default pos-weight is no user choice: a dice run without the flag is fine.
    expect(newRun({ loss: 'dice' })).not.toThrow();
  });

  it('--patience without the plateau schedule', () => {
    expect(refusal(newRun({ schedule: 'cosine', patience: 2 }))).toContain('--patience applies to --schedule plateau only');
    expect(newRun({ schedule: 'plateau', patience: 2 })).not.toThrow();
  });

  it('--fold without --folds, and --val-fraction with --folds', () => {
    expect(refusal(newRun({ fold: 1 }))).toContain('--fold picks a fold of --folds K');
    expect(refusal(newRun({ folds: 5, valFraction: 0.3 }))).toContain('--val-fraction sets the holdout split; --folds 5');
    expect(newRun({ folds: 5, fold: 1 })).not.toThrow();
  });

  it('--hard-negatives without --only-defective', () => {
    expect(refusal(newRun({ hardNegatives: 'neg.txt' }))).toContain('--hard-negatives adds defect-free images back after --only-defective');
  });

  it('--synthetic-size with a real data folder, and --budget-minutes with --steps', () => {
    expect(refusal(newRun({ data: 'severstal', synthetic: { count: 10 } }))).toContain('--synthetic-count and --synthetic-size apply to --data synthetic only');
    expect(refusal(newRun({ budgetMinutes: 5, steps: 10 }))).toContain('--budget-minutes sets the steps per epoch');
  });

  it('per-class values of the wrong length', () => {
    expect(refusal(() => checkPerClassOptions({ loss: 'bce', posWeight: [1, 1], minArea: [0, 0, 0, 0] }, 4))).toBe(
      '--pos-weight needs one value per class: the dataset has 4 classes, found 2 (1,1). Pass 4 comma-separated values.',
    );
    expect(refusal(() => checkPerClassOptions({ loss: 'dice', posWeight: [1, 1], minArea: [0, 0] }, 3))).toContain('--min-area needs one value per class: the dataset has 3 classes, found 2');
    expect(() => checkPerClassOptions({ loss: 'dice', posWeight: [1, 1], minArea: [0, 0, 0] }, 3)).not.toThrow();
  });
});

describe('options that --resume cannot honour', () => {
  const saved = parseTrainConfig({ name: 'r1', data: 'synthetic', valFraction: 0.25 });
  const resume = (overrides: Record<string, unknown>, values: Record<string, unknown> = {}) => () => checkResumeOptions(saved, overrides, values, 'runs/r1');

  it('split flags, the run folder, a budget, pretrained weights, --preset and --config', () => {
    for (const [key, value, flag] of [
      ['valFraction', 0.5, '--val-fraction'],
      ['folds', 5, '--folds'],
      ['onlyDefective', true, '--only-defective'],
      ['maxImages', 10, '--max-images'],
    ] as const) {
      expect(refusal(resume({ [key]: value }))).toBe(`${flag} cannot change on --resume: the split of runs/r1 is fixed in its split.json. Start a new run for another split.`);
    }
    expect(refusal(resume({ name: 'other' }))).toContain('--name cannot change on --resume');
    expect(refusal(resume({ budgetMinutes: 3 }))).toContain('--budget-minutes shapes the start of a run only');
    expect(refusal(resume({ pretrained: 'r.safetensors' }))).toContain('--pretrained shapes the start of a run only');
    expect(refusal(resume({}, { preset: 'default' }))).toContain('--preset cannot be combined with --resume');
    expect(refusal(resume({}, { config: 'x.json' }))).toContain('--config cannot be combined with --resume');
    // The same value as the run's, and options that may change, pass.
    expect(resume({ valFraction: 0.25, epochs: 4, lr: 1e-4 })).not.toThrow();
  });
});

describe('through the command line', () => {
  let root: string;
  let data: string;
  beforeAll(() => {
    root = tempDir();
    data = join(root, 'data');
    const r = runCli(['generate', '--out', data, '--count', '4', '--test-count', '1', '--size', '32x64']);
    expect(r.status, r.stderr).toBe(0);
  }, 120_000);

  it('train --pos-weight 1,1 on 4 classes is refused before any training', () => {
    const r = runCli(['train', '--data', data, '--runs-dir', root, '--pos-weight', '1,1', '--backend', 'cpu', '--crop', 'none']);
    expectRefused(r, '--pos-weight needs one value per class: the dataset has 4 classes, found 2 (1,1)');
  });

  it('train --loss dice --pos-weight is refused', () => {
    expectRefused(runCli(['train', '--loss', 'dice', '--pos-weight', '2,2,1,1.5', '--print-config']), '--pos-weight applies to --loss bce or bce-weighted-dice only');
  });

  it('train --resume with a split flag is refused', () => {
    const run = join(root, 'runs', 'r1');
    mkdirSync(run, { recursive: true });
    writeFileSync(join(run, 'config.json'), JSON.stringify({ name: 'r1', data, valFraction: 0.25 }));
    expectRefused(runCli(['train', '--resume', run, '--val-fraction', '0.5']), '--val-fraction cannot change on --resume');
  });

  it('tune takes no --threshold (it searches thresholds itself)', () => {
    expectRefused(runCli(['tune', '--models', root, '--threshold', '0.3']), "Unknown option '--threshold'");
  });

  it('predict refuses --data with --images, and --threshold with --postprocess', () => {
    expectRefused(runCli(['predict', '--models', root, '--images', data, '--data', data]), '--data is not used with --images');
    expectRefused(runCli(['predict', '--models', root, '--postprocess', 'p.json', '--threshold', '0.4']), '--threshold is not used with --postprocess');
  });

  it('evaluate and predict refuse --min-area with --postprocess, and --min-area of the wrong length', async () => {
    const args = (values: Record<string, unknown>) => ({ values, config: {}, positionals: [], help: false });
    const config = parseTrainConfig({});
    await expect(postprocessFor(args({ postprocess: 'p.json', 'min-area': [0, 0, 0, 0] }), config, 4)).rejects.toThrow('--min-area is not used with --postprocess p.json');
    await expect(postprocessFor(args({ 'min-area': [5, 5] }), config, 4)).rejects.toThrow('--min-area needs one value per class: the dataset has 4 classes, found 2 (5,5)');
    expect((await postprocessFor(args({ 'min-area': [1, 2, 3, 4] }), config, 4)).classes.map((c) => c.minArea)).toEqual([1, 2, 3, 4]);
  });

  it("states in one line that a dataset's own split replaces --val-fraction", async () => {
    const dataset = await openDataset(data);
    writeFileSync(join(data, 'train_imgids.txt'), `${dataset.images.slice(0, 3).map((e) => e.id).join('\n')}\n`);
    writeFileSync(join(data, 'valid_imgids.txt'), `${dataset.images[3]!.id}\n`);
    const lines: string[] = [];
    const run = join(root, 'runs', 'own-split');
    mkdirSync(run, { recursive: true });
    const split = await makeSplit(parseTrainConfig({ data }), dataset, runPaths(run), false, (l) => lines.push(l));
    expect(split.val.map((e) => e.id)).toEqual([dataset.images[3]!.id]);
    expect(lines).toEqual(["Using the dataset's own split (train_imgids.txt, valid_imgids.txt): --val-fraction 0.2 is not used."]);
  });
});
