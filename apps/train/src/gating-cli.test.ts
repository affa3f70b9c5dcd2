// A run with a classification head: the head is saved with the model, tune searches its gates, evaluate shows "+ gating".
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './test-helpers.ts';

let root: string;

describe('classification head and gating', () => {
  beforeAll(() => {
    root = tempDir();
    const g = runCli(['generate', '--out', join(root, 'data'), '--count', '8', '--test-count', '2', '--size', '32x64']);
    expect(g.status, g.stderr).toBe(0);
    const t = runCli([
      'train', '--data', join(root, 'data'), '--runs-dir', join(root, 'runs'), '--name', 'head', '--epochs', '1', '--steps', '2',
      '--batch-size', '2', '--val-fraction', '0.25', '--crop', 'none', '--backend', 'wasm', '--classification-head',
      '--class-loss-weight', '0.5', '--tune',
    ]);
    expect(t.status, t.stderr).toBe(0);
  }, 600_000);

  it('saves the head, tunes its gates and scores a "+ gating" step', () => {
    const run = join(root, 'runs', 'head');
    const identity = (JSON.parse(readFileSync(join(run, 'best', 'weights.json'), 'utf8')) as { identity: Record<string, unknown> }).identity;
    expect(identity).toMatchObject({ classificationHead: true });
    const tuned = JSON.parse(readFileSync(join(run, 'tuned.json'), 'utf8')) as { classes: unknown[]; gating: { perClass: boolean[]; plain: { classes: unknown[] } } };
    expect(tuned.gating.perClass).toHaveLength(4);
    expect(tuned.gating.plain.classes).toHaveLength(4);
    const out = join(root, 'tuned.json');
    const tune = runCli(['tune', '--models', run, '--out', out]);
    expect(tune.status, tune.stderr).toBe(0);
    expect(tune.stderr).toContain("classification head's gates");
    expect(existsSync(out)).toBe(true);
    const evaluate = runCli(['evaluate', '--models', run, '--postprocess', out]);
    expect(evaluate.status, evaluate.stderr).toBe(0);
    expect(evaluate.stdout).toMatch(/\n\+ post-processing .*\n\+ gating /);
  });
});
