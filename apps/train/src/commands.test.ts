// A tiny success path of every command that is not exercised by the training runs of resume.test.ts: start, generate,
// eda, import, bench (evaluate, predict and tune run there, on a trained run).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './test-helpers.ts';

describe('every command, tiny', () => {
  let root: string;
  beforeAll(() => {
    root = tempDir();
  });

  it('start: generates the synthetic data, trains, predicts the test images, scores them and prints the summary', { timeout: 600_000 }, () => {
    // 8 training and 4 test images of 32x64 (the test count has no flag; a config file sets it).
    const config = join(root, 'tiny.json');
    writeFileSync(config, JSON.stringify({ synthetic: { count: 8, testCount: 4, height: 32, width: 64 } }));
    const r = runCli(
      ['start', '--name', 'tiny', '--runs-dir', join(root, 'runs'), '--config', config, '--epochs', '1',
        '--steps', '1', '--batch-size', '2', '--crop', 'none', '--bn-recalibration', '1', '--backend', 'wasm'],
      { env: { STEEL_CACHE_DIR: join(root, 'cache') } },
    );
    expect(r.status, r.stderr).toBe(0);
    const run = join(root, 'runs', 'tiny');
    for (const file of ['submission.csv', 'report.html', 'metrics.json', 'best/model.json']) expect(existsSync(join(run, file)), file).toBe(true);
    const metrics = JSON.parse(readFileSync(join(run, 'metrics.json'), 'utf8')) as Record<string, unknown>;
    expect(metrics).toHaveProperty('test');
    // --steps replaces the budget: no plan, but the machine and its load are recorded next to the times.
    const timing = metrics['timing'] as { budget?: unknown; loadAverage?: { start: number; end: number }; cpu?: string };
    expect(timing.budget).toBeUndefined();
    expect(timing.loadAverage?.start).toBeGreaterThanOrEqual(0);
    expect(timing.cpu).toMatch(/^\d+ x /);
    expect(r.stdout).toContain('Competition Dice');
    expect(r.stdout).toMatch(/test \(4 images\)\s+model \+ post-processing/);
  });

  it('generate and eda: the counts of the generated dataset', () => {
    const data = join(root, 'gen');
    const g = runCli(['generate', '--out', data, '--count', '6', '--test-count', '2', '--size', '32x64', '--seed', '3']);
    expect(g.status, g.stderr).toBe(0);
    const json = join(root, 'eda.json');
    const e = runCli(['eda', '--data', data, '--json', json]);
    expect(e.status, e.stderr).toBe(0);
    expect(e.stdout).toContain(`Dataset ${data} (32x64, 4 classes, 2 test images)`);
    const report = JSON.parse(readFileSync(json, 'utf8')) as { images: number };
    expect(report.images).toBe(6);
  });

  it('import: a mask-folder dataset becomes a Kaggle-layout one that train accepts', async () => {
    const src = join(root, 'masks-src');
    mkdirSync(join(src, 'images'), { recursive: true });
    mkdirSync(join(src, 'masks'), { recursive: true });
    for (const [i, id] of ['a', 'b', 'c'].entries()) {
      await sharp(Buffer.alloc(32 * 32, 90 + 20 * i), { raw: { width: 32, height: 32, channels: 1 } }).jpeg().toFile(join(src, 'images', `${id}.jpg`));
      const label = Buffer.alloc(32 * 32, 0);
      label.fill(i + 1, 64, 64 + 32 * (i + 2)); // rows 2.. of class i + 1
      await sharp(label, { raw: { width: 32, height: 32, channels: 1 } }).png().toFile(join(src, 'masks', `${id}.png`));
    }
    writeFileSync(join(src, 'train.txt'), 'a\nb\n');
    writeFileSync(join(src, 'val.txt'), 'c\n');
    const out = join(root, 'imported');
    const r = runCli(['import', '--from', src, '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Imported 3 images (32x32, 3 classes)');
    const csv = readFileSync(join(out, 'train.csv'), 'utf8');
    expect(csv.split('\n')[0]).toBe('ImageId,ClassId,EncodedPixels');
    expect(csv).toMatch(/^c\.jpg,3,/m);
    // The imported classes reach the per-class checks of train.
    const t = runCli(['train', '--data', out, '--runs-dir', join(root, 'runs'), '--pos-weight', '1,1', '--crop', 'none', '--backend', 'cpu']);
    expect(t.status, t.stderr).toBe(2);
    expect(t.stderr).toContain('the dataset has 3 classes, found 2');
  });

  it('bench: times a training step and a forward pass', () => {
    const r = runCli(['bench', '--shape', '1x32x32x1', '--steps', '1', '--backend', 'wasm']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/step/i);
    expect(r.stdout).toMatch(/\d+(\.\d+)? (s|ms)/);
  });
});
