// --engine and --device on the inference commands: what runs, what is printed, and every failure as one line + exit code.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createModel } from '@steel/models';
import { exportOnnx } from '@steel/onnx';
import { beforeAll, describe, expect, it } from 'vitest';
import { saveModelDir } from './checkpoint.ts';
import { runCli, tempDir, type CliResult } from './test-helpers.ts';

// Makes `import('onnxruntime-node')` fail in the child process, as on a machine where it is not installed.
const WITHOUT_ORT = `data:text/javascript,${encodeURIComponent(
  `import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent("export async function resolve(s, c, n) { if (s === 'onnxruntime-node') { const e = new Error(\\"Cannot find package 'onnxruntime-node'\\"); e.code = 'ERR_MODULE_NOT_FOUND'; throw e; } return n(s, c); }"));`,
)}`;

function expectUserError(result: CliResult, exitCode: number, ...parts: string[]): void {
  expect(result.status, result.stderr).toBe(exitCode);
  expect(result.stderr).toMatch(/^error: /m);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  for (const part of parts) expect(result.stderr).toContain(part);
}

describe('--engine', { timeout: 240_000 }, () => {
  let root: string;
  let data: string;
  let modelDir: string;
  let onnxFile: string;
  beforeAll(async () => {
    root = tempDir();
    data = join(root, 'data');
    const gen = runCli(['generate', '--out', data, '--count', '4', '--test-count', '3', '--size', '32x64']);
    expect(gen.status, gen.stderr).toBe(0);
    const identity = { architecture: 'unet' as const, encoder: 'resnet18' as const, inChannels: 1, classes: 4 };
    const model = createModel({ ...identity, seed: 3, headBias: -1 });
    try {
      modelDir = join(root, 'model');
      await saveModelDir(modelDir, model, identity);
      onnxFile = join(root, 'model.onnx');
      writeFileSync(onnxFile, exportOnnx(model));
    } finally {
      model.dispose();
    }
    const three = createModel({ ...identity, classes: 3 });
    try {
      await saveModelDir(join(root, 'three'), three, { ...identity, classes: 3 });
    } finally {
      three.dispose();
    }
    const two = createModel({ architecture: 'unet', encoder: 'resnet18', inChannels: 2, classes: 4 });
    try {
      writeFileSync(join(root, 'two-channels.onnx'), exportOnnx(two));
    } finally {
      two.dispose();
    }
  }, 240_000);

  const predict = (engine: string, out: string, extra: string[] = [], env?: Record<string, string>) =>
    runCli(['predict', '--models', modelDir, '--data', data, '--out', join(root, out), '--backend', 'wasm', '--engine', engine, ...extra], env ? { env } : {});

  it('runs predict on tfjs and on onnxruntime, printing the engine', () => {
    const tfjs = predict('tfjs', 'tfjs.csv');
    expect(tfjs.status, tfjs.stderr).toBe(0);
    expect(tfjs.stderr).toContain('Engine: tfjs (wasm)');
    const ort = predict('onnxruntime', 'ort.csv');
    expect(ort.status, ort.stderr).toBe(0);
    expect(ort.stderr).toMatch(/Engine: onnxruntime 1\.\d+\.\d+ \(cpu\)/);
    expect(ort.stdout).toContain('12 rows for 3 images');
    const lines = (f: string) => readFileSync(join(root, f), 'utf8').split('\n').map((l) => l.split(',')[0]);
    expect(lines('ort.csv')).toEqual(lines('tfjs.csv'));
  });

  it('auto takes onnxruntime when it loads, else tfjs with a one-line hint', () => {
    const auto = predict('auto', 'auto.csv');
    expect(auto.status, auto.stderr).toBe(0);
    expect(auto.stderr).toContain('Engine: onnxruntime');
    const without = predict('auto', 'without.csv', [], { NODE_OPTIONS: `--import=${WITHOUT_ORT}` });
    expect(without.status, without.stderr).toBe(0);
    expect(without.stderr).toContain('Engine: tfjs (wasm)');
    expect(without.stderr.split('\n').filter((l) => l.includes('onnxruntime-node is not available'))).toHaveLength(1);
    expect(without.stderr).toContain('pnpm --filter train add onnxruntime-node');
  });

  it('fails with an install hint when onnxruntime is asked for and not installed, and for an unknown engine', () => {
    expectUserError(predict('onnxruntime', 'x.csv', [], { NODE_OPTIONS: `--import=${WITHOUT_ORT}` }), 5, '--engine onnxruntime', 'could not be loaded', '--engine tfjs');
    expectUserError(predict('onnx', 'x.csv'), 2, 'engine');
  });

  it('fails clearly for --device cuda without the CUDA execution provider', () => {
    expectUserError(predict('onnxruntime', 'x.csv', ['--device', 'cuda']), 5, '--device cuda', 'CUDA execution provider', 'README');
    expectUserError(predict('tfjs', 'x.csv', ['--device', 'cuda']), 2, '--device cuda applies to --engine onnxruntime');
  });

  it('predicts with an .onnx file on onnxruntime, and refuses it on tfjs', () => {
    const r = runCli(['predict', '--models', onnxFile, '--data', data, '--out', join(root, 'file.csv'), '--engine', 'onnxruntime']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('12 rows for 3 images');
    expectUserError(runCli(['predict', '--models', onnxFile, '--data', data, '--engine', 'tfjs']), 2, 'model.onnx is an ONNX model', '--engine onnxruntime');
  });

  it('refuses a corrupt or truncated .onnx file in one line', () => {
    const bytes = readFileSync(onnxFile);
    const truncated = join(root, 'truncated.onnx');
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    expectUserError(runCli(['predict', '--models', truncated, '--data', data, '--engine', 'onnxruntime']), 4, 'truncated.onnx');
    const text = join(root, 'text.onnx');
    writeFileSync(text, 'not a model');
    expectUserError(runCli(['predict', '--models', text, '--data', data, '--engine', 'onnxruntime']), 4, 'text.onnx');
  });

  it('refuses a model whose channels or classes do not fit the data, in one line', () => {
    expectUserError(
      runCli(['predict', '--models', join(root, 'two-channels.onnx'), '--data', data, '--engine', 'onnxruntime']),
      4,
      'two-channels.onnx',
      'expected a model taking 1 (grey) or 3 (RGB) channels, got 2',
    );
    expectUserError(
      runCli(['evaluate', '--models', join(root, 'three'), '--data', data, '--split', 'all', '--engine', 'onnxruntime']),
      4,
      'three predicts 3 classes but the data has 4',
    );
  });
});
