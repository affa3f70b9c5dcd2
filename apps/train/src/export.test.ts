// `export`: a run folder → one .onnx file with its metadata; missing runs and bad --out paths fail with one line.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeOnnxModel, readOnnxMetadata } from '@steel/onnx';
import { beforeAll, describe, expect, it } from 'vitest';
import { saveModelDir } from './checkpoint.ts';
import { parseTrainConfig } from './config.ts';
import { writeJson } from './run-dir.ts';
import { buildModel } from './builders.ts';
import { runCli, tempDir } from './test-helpers.ts';

describe('export', () => {
  let root: string;
  let run: string;
  const tuned = { classes: [{ threshold: 0.55, minArea: 40, topThreshold: 0.6, minMaskArea: 0 }], score: 0.9 };
  beforeAll(async () => {
    root = tempDir('steel-export-');
    run = join(root, 'runs', 'tiny');
    const config = parseTrainConfig({ architecture: 'fpn', encoder: 'resnet18', inChannels: 1, scale: 0.5, threshold: 0.6, minArea: [10, 20, 30, 40] });
    mkdirSync(run, { recursive: true });
    writeJson(join(run, 'config.json'), config);
    writeJson(join(run, 'tuned.json'), tuned);
    const model = await buildModel(config, 4);
    await saveModelDir(join(run, 'best'), model, { architecture: 'fpn', encoder: 'resnet18', inChannels: 1, classes: 4 });
    model.dispose();
  }, 120_000);

  it('writes the .onnx file with the graph contract and the run\'s metadata', () => {
    const out = join(root, 'deploy', 'tiny.onnx');
    const r = runCli(['export', '--models', run, '--out', out, '--backend', 'cpu']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Wrote ${out}`);
    const bytes = new Uint8Array(readFileSync(out));
    const described = describeOnnxModel(bytes);
    expect(described.inputs).toEqual([{ name: 'image', shape: ['N', 1, 'H', 'W'] }]);
    expect(described.outputs).toEqual([{ name: 'logits', shape: ['N', 4, 'H', 'W'] }]);
    const metadata = readOnnxMetadata(bytes);
    expect(metadata).toMatchObject({ architecture: 'fpn', encoder: 'resnet18', in_channels: '1', classes: '4', scale: '0.5', threshold: '0.6' });
    expect(JSON.parse(metadata['min_area']!)).toEqual([10, 20, 30, 40]);
    expect(JSON.parse(metadata['postprocess']!)).toEqual(tuned);
    expect(JSON.parse(metadata['normalisation']!)).toEqual({ divisor: 255, mean: 0, std: 1 });
    expect(JSON.parse(metadata['config']!)).toMatchObject({ architecture: 'fpn', scale: 0.5 });
    // Atomic: no temporary file left beside it.
    expect(readdirSync(join(root, 'deploy'))).toEqual(['tiny.onnx']);
  });

  it('fails with one line and exit code 4 when the run folder does not exist', () => {
    const r = runCli(['export', '--models', join(root, 'runs', 'nope'), '--backend', 'cpu']);
    expect(r.status, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/^error: Model path .*nope does not exist/m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('fails with one line and exit code 2 for an --out that is a folder or lies under a file, writing nothing', () => {
    const file = join(root, 'a-file');
    writeFileSync(file, 'x');
    for (const [out, message] of [
      [root, 'is a folder; expected a file path'],
      [join(file, 'model.onnx'), 'is a file, not a folder'],
    ] as const) {
      const r = runCli(['export', '--models', run, '--out', out, '--backend', 'cpu']);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^error: --out .*${message}`, 'm'));
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(existsSync(join(root, 'model.onnx'))).toBe(false);
  });

  it('refuses several models', () => {
    const r = runCli(['export', '--models', `${run},${run}`, '--backend', 'cpu']);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain('export writes one model; --models has 2');
  });
});
