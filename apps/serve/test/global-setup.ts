// Once per test run: trains a tiny run with apps/train (2 steps on small synthetic images), makes two image folders (the
// small synthetic test images, and a few full-size 256x1600 ones) and their reference CSVs from `train predict`.
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import type { TestProject } from 'vitest/node';

const run = promisify(execFile);
const APP = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TSX = join(APP, 'node_modules', '.bin', 'tsx');
const TRAIN = resolve(APP, '..', 'train', 'src', 'main.ts');

/** Post-processing of every test: low enough that the 2-step model finds components, with a minimum area. */
export const POST = { threshold: 0.4, minArea: [0, 4, 0, 8] };

export interface Fixture {
  root: string;
  run: string;
  small: string;
  large: string;
  /** `train predict` CSVs: the small images on ONNX Runtime and on tfjs, the large ones on ONNX Runtime. */
  refSmall: string;
  refSmallTfjs: string;
  refLarge: string;
  post: typeof POST;
}

declare module 'vitest' {
  export interface ProvidedContext {
    fixture: Fixture;
  }
}

async function train(args: string[], env: NodeJS.ProcessEnv) {
  try {
    return await run(TSX, ['--conditions=@steel/source', TRAIN, ...args], { env, maxBuffer: 1 << 24 });
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string };
    throw new Error(`train ${args[0]} failed: ${e.stderr ?? ''}${e.stdout ?? ''}`);
  }
}

/**
 * Builds the fixture in a temporary folder (removed afterwards), or in $STEEL_SERVE_FIXTURE_DIR, kept and reused by later
 * runs (quicker while developing).
 */
export default async function setup(project: TestProject) {
  const keep = process.env['STEEL_SERVE_FIXTURE_DIR'];
  if (keep !== undefined && existsSync(join(keep, 'fixture.json'))) {
    project.provide('fixture', JSON.parse(readFileSync(join(keep, 'fixture.json'), 'utf8')) as Fixture);
    return;
  }
  const root = keep ?? mkdtempSync(join(tmpdir(), 'steel-serve-test-'));
  mkdirSync(root, { recursive: true });
  const env = { ...process.env, STEEL_CACHE_DIR: join(root, 'cache'), TF_CPP_MIN_LOG_LEVEL: '2' };
  const config = join(root, 'config.json');
  writeFileSync(config, JSON.stringify({ synthetic: { count: 12, testCount: 6, height: 64, width: 128 }, tune: false, samples: 0 }));
  await train(
    ['train', '--config', config, '--data', 'synthetic', '--crop', 'none', '--head-bias', '0', '--epochs', '1', '--steps', '2', '--batch-size', '2',
      '--bn-recalibration', '1', '--runs-dir', join(root, 'runs'), '--name', 'tiny', '--backend', 'wasm', '--threads', '1'],
    env,
  );
  const data = join(root, 'cache', readdirSync(join(root, 'cache')).find((d) => d.startsWith('synthetic-'))!);
  const small = join(root, 'small');
  const large = join(root, 'large');
  mkdirSync(small);
  mkdirSync(large);
  const tests = readdirSync(join(data, 'test_images')).sort();
  for (const name of tests) copyFileSync(join(data, 'test_images', name), join(small, name));
  // Full-size images (the competition's 256x1600), lossless, so one job takes long enough to be caught mid-way.
  for (const name of tests.slice(0, 3)) {
    await sharp(join(data, 'test_images', name)).resize(1600, 256, { kernel: 'nearest' }).png().toFile(join(large, name.replace(/\.jpg$/, '.png')));
  }
  const runDir = join(root, 'runs', 'tiny');
  const post = ['--threshold', String(POST.threshold), '--min-area', POST.minArea.join(',')];
  const refSmall = join(root, 'ref-small.csv');
  const refSmallTfjs = join(root, 'ref-small-tfjs.csv');
  const refLarge = join(root, 'ref-large.csv');
  const common = [...post, '--backend', 'wasm', '--threads', '1'];
  await Promise.all([
    train(['predict', '--models', runDir, '--images', small, ...common, '--engine', 'onnxruntime', '--out', refSmall], env),
    train(['predict', '--models', runDir, '--images', small, ...common, '--engine', 'tfjs', '--out', refSmallTfjs], env),
    train(['predict', '--models', runDir, '--images', large, ...common, '--engine', 'onnxruntime', '--out', refLarge], env),
  ]);
  const fixture: Fixture = { root, run: runDir, small, large, refSmall, refSmallTfjs, refLarge, post: POST };
  project.provide('fixture', fixture);
  if (keep !== undefined) {
    writeFileSync(join(root, 'fixture.json'), JSON.stringify(fixture));
    return;
  }
  return () => rmSync(root, { recursive: true, force: true });
}
