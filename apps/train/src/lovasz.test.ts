// lovasz-finetune refuses what it cannot continue, with one line and the app's exit codes (the success path, Ctrl-C and
// train --resume run on a trained run in resume.test.ts).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { lovaszConfig } from './commands/lovasz.ts';
import { parseTrainConfig } from './config.ts';
import { toAppError } from './errors.ts';
import { main } from './main.ts';
import { runCli, tempDir } from './test-helpers.ts';

/** The error `main(argv)` stops with: its exit code and message. */
async function refusal(argv: string[]): Promise<{ exitCode: number; message: string }> {
  try {
    await main(argv);
  } catch (error) {
    const appError = toAppError(error);
    if (appError === undefined) throw error;
    return { exitCode: appError.exitCode, message: appError.message };
  }
  throw new Error(`main(${argv.join(' ')}) did not fail`);
}

/** A run folder with the given files (relative path → content). */
function runFolder(dir: string, files: Record<string, string>): string {
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

describe('lovasz-finetune: the fine-tuning config', () => {
  it('keeps the run\'s model, data and recipe; Lovász hinge at a tenth of the learning rate, constant, one epoch; no budget or pretrained file', () => {
    const source = parseTrainConfig({ name: 'main', lr: 3e-3, schedule: 'cosine', epochs: 4, budgetMinutes: 9, pretrained: 'r18.safetensors', crop: { height: 32, width: 96 }, seed: 7, classificationHead: true });
    const config = lovaszConfig(source, { name: 'main-lovasz', runsDir: 'runs', initFrom: 'runs/main/best', steps: 60 });
    expect(config).toEqual({ ...source, budgetMinutes: undefined, pretrained: undefined, name: 'main-lovasz', runsDir: 'runs', initFrom: 'runs/main/best', loss: 'lovasz-hinge', schedule: 'constant', lr: 3e-4, epochs: 1, steps: 60 });
    expect(lovaszConfig(source, { name: 'b', runsDir: 'runs', initFrom: 'x', steps: 5, lr: 1e-5, threads: 1 })).toMatchObject({ lr: 1e-5, threads: 1, steps: 5 });
  });
});

describe('lovasz-finetune: bad input', () => {
  let root: string;
  beforeAll(() => {
    root = tempDir();
  });

  it('without --from: exit 2, one line, no stack trace', () => {
    const r = runCli(['lovasz-finetune', '--steps', '5']);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual(['error: lovasz-finetune needs --from with the folder of a trained run (runs/<name>).']);
  });

  it('a --from that does not exist or is not a run folder: exit 4 naming it', async () => {
    const missing = join(root, 'nope');
    expect(await refusal(['lovasz-finetune', '--from', missing])).toEqual({
      exitCode: 4,
      message: `--from ${missing}: no such run folder. Pass the folder of a trained run (runs/<name>).`,
    });
    const empty = join(root, 'empty');
    mkdirSync(empty);
    expect(await refusal(['lovasz-finetune', '--from', empty])).toMatchObject({ exitCode: 4, message: expect.stringContaining(`--from ${empty} is not a run folder (no config.json)`) });
  });

  it('a damaged config.json: exit 4 naming the file', async () => {
    const run = runFolder(join(root, 'damaged'), { 'config.json': '{"loss": "bce",' });
    expect(await refusal(['lovasz-finetune', '--from', run])).toMatchObject({
      exitCode: 4,
      message: expect.stringContaining(`${join(run, 'config.json')} is not valid JSON`),
    });
  });

  it('a run without a best model yet: exit 4, saying how to finish it', async () => {
    const run = runFolder(join(root, 'unfinished'), { 'config.json': '{}', 'checkpoint/state.json': '{}' });
    expect(await refusal(['lovasz-finetune', '--from', run])).toEqual({
      exitCode: 4,
      message: `--from ${run} has no best model yet (no best/: no epoch has finished). Finish its training first (train --resume ${run}).`,
    });
  });

  it('a target run folder that already exists: exit 2, saying how to continue it', async () => {
    const run = runFolder(join(root, 'done'), { 'config.json': '{}', 'best/model.json': '{}', 'split.json': '{}' });
    runFolder(join(root, 'done-lovasz'), { 'config.json': '{}' });
    expect(await refusal(['lovasz-finetune', '--from', run])).toEqual({
      exitCode: 2,
      message: `Run folder ${join(root, 'done-lovasz')} already exists. Continue it with "train --resume ${join(root, 'done-lovasz')}", or pick another --name.`,
    });
    // A bad value is a config error naming the flag's key.
    expect(await refusal(['lovasz-finetune', '--from', run, '--name', 'x', '--steps', '0'])).toMatchObject({ exitCode: 2, message: expect.stringContaining('steps') });
  });
});
