// Every user mistake gets one clear message (what, where, what to do) and a non-zero exit code, never a stack trace.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir, type CliResult } from './test-helpers.ts';

/** A Kaggle-layout folder with `n` grey 32x64 images and one mask. */
async function makeDataset(dir: string, n = 4, size = { height: 32, width: 64 }): Promise<string> {
  mkdirSync(join(dir, 'train_images'), { recursive: true });
  for (let i = 0; i < n; i++) {
    const pixels = Buffer.alloc(size.height * size.width, 100 + i * 10);
    await sharp(pixels, { raw: { width: size.width, height: size.height, channels: 1 } })
      .jpeg()
      .toFile(join(dir, 'train_images', `img${i}.jpg`));
  }
  writeFileSync(join(dir, 'train.csv'), 'ImageId,ClassId,EncodedPixels\nimg0.jpg,3,1 10 40 5\n');
  return dir;
}

function expectUserError(result: CliResult, exitCode: number, ...parts: string[]): void {
  expect(result.status, result.stderr).toBe(exitCode);
  expect(result.stderr).toMatch(/^error: /m);
  expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
  for (const part of parts) expect(result.stderr).toContain(part);
}

describe('bad input from the command line', () => {
  let root: string;
  let good: string;
  beforeAll(async () => {
    root = tempDir();
    good = await makeDataset(join(root, 'good'));
  }, 60_000);

  it('train keeps the preset time budget for start, and honours one asked for', () => {
    const plain = runCli(['train', '--print-config']);
    expect(plain.status, plain.stderr).toBe(0);
    expect(JSON.parse(plain.stdout)).not.toHaveProperty('budgetMinutes');
    const asked = runCli(['train', '--print-config', '--budget-minutes', '5']);
    expect(JSON.parse(asked.stdout)).toMatchObject({ budgetMinutes: 5 });
  });

  it('--preset neu-seg without --data is refused in one line; with it, train keeps the preset budget', () => {
    const missing = runCli(['train', '--preset', 'neu-seg']);
    expectUserError(missing, 2, '--preset neu-seg needs --data', 'import --from');
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    const given = runCli(['train', '--preset', 'neu-seg', '--data', good, '--print-config']);
    expect(given.status, given.stderr).toBe(0);
    expect(JSON.parse(given.stdout)).toMatchObject({ data: good, budgetMinutes: 14, minArea: [0, 0, 0] });
    const steps = runCli(['train', '--preset', 'neu-seg', '--data', good, '--steps', '3', '--print-config']);
    expect(JSON.parse(steps.stdout)).not.toHaveProperty('budgetMinutes');
  });

  it('prints help with examples and exits 0', () => {
    const r = runCli(['train', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Examples:');
    expect(r.stdout).toContain('--resume');
  });

  it('unknown command', () => {
    expectUserError(runCli(['trian']), 2, 'Unknown command "trian"', 'train');
  });

  it('unknown preset', () => {
    expectUserError(runCli(['train', '--preset', 'turbo']), 2, 'Unknown preset "turbo"', 'reference-unet-r34');
  });

  it('unknown architecture', () => {
    expectUserError(runCli(['train', '--data', good, '--architecture', 'segformer', '--runs-dir', root]), 2, 'Unknown architecture "segformer"', 'unet, fpn');
  });

  it('unknown backend', () => {
    expectUserError(runCli(['train', '--backend', 'tpu']), 2, 'backend', '"wasm"');
  });

  it('a backend that is not installed names the install command', () => {
    expectUserError(runCli(['train', '--backend', 'tensorflow', '--runs-dir', root]), 5, '@tensorflow/tfjs-node-gpu', 'CUDA 11.2 and cuDNN 8.1');
  });

  it('input size that is not a multiple of 32', () => {
    expectUserError(runCli(['train', '--crop', '200x500']), 2, '--crop must have height and width divisible by 32, got 200x500', 'Use 192x512');
    expectUserError(
      runCli(['train', '--data', good, '--runs-dir', root, '--steps', '1', '--backend', 'wasm']),
      2,
      '--crop 32x96 is larger than the training images (16x32 at --scale 0.5)',
      '--crop none',
    );
  });

  it('invalid config file values', () => {
    const file = join(root, 'bad-config.json');
    writeFileSync(file, JSON.stringify({ epochs: 0, optimizer: 'lbfgs' }));
    expectUserError(runCli(['train', '--config', file]), 2, 'epochs', 'optimizer');
  });

  it('missing data folder', () => {
    expectUserError(runCli(['train', '--data', join(root, 'nowhere'), '--runs-dir', root]), 3, `Data folder ${join(root, 'nowhere')} does not exist`, '--data');
  });

  it('malformed CSV names the file and line', async () => {
    const dir = await makeDataset(join(root, 'bad-csv'));
    writeFileSync(join(dir, 'train.csv'), 'ImageId,ClassId,EncodedPixels\nimg0.jpg,3,1 10 40 5\nimg1.jpg,9,1 2\n');
    expectUserError(runCli(['train', '--data', dir, '--runs-dir', root]), 3, 'train.csv:3', 'ClassId');
  });

  it('wrongly sized image names the file', async () => {
    const dir = await makeDataset(join(root, 'bad-size'));
    await sharp(Buffer.alloc(40 * 64, 90), { raw: { width: 64, height: 40, channels: 1 } })
      .jpeg()
      .toFile(join(dir, 'train_images', 'img2.jpg'));
    expectUserError(runCli(['train', '--data', dir, '--runs-dir', root]), 3, 'img2.jpg', '32x64');
  });

  it('corrupt image names the file', async () => {
    const dir = await makeDataset(join(root, 'corrupt'));
    writeFileSync(join(dir, 'train_images', 'img1.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46]));
    expectUserError(runCli(['train', '--data', dir, '--runs-dir', root]), 3, 'img1.jpg');
  });

  it('resuming with another architecture than the checkpoint', () => {
    const run = join(root, 'runs', 'r1');
    mkdirSync(run, { recursive: true });
    writeFileSync(join(run, 'config.json'), JSON.stringify({ name: 'r1', data: good, architecture: 'unet', encoder: 'resnet18' }));
    expectUserError(runCli(['train', '--resume', run, '--architecture', 'fpn']), 4, 'trained with architecture "unet"', '"fpn"');
  });

  it('resuming a folder that is not a run', () => {
    expectUserError(runCli(['train', '--resume', join(root, 'good')]), 4, 'Cannot resume', 'config.json');
  });

  it('predicting with a model folder that does not exist', () => {
    expectUserError(runCli(['predict', '--models', join(root, 'no-run'), '--backend', 'cpu']), 4, 'does not exist', 'run folder');
  });
});
