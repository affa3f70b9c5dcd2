import { resolve } from 'node:path';
import type { ParsedArgs } from '../cli.ts';
import { parseTrainConfig, type TrainConfig } from '../config.ts';
import { createProgress, formatDuration, type Progress } from '../progress.ts';
import { syntheticDir } from '../app-paths.ts';

/** Generates (or finds, or finishes) a synthetic dataset; returns its folder. */
export async function generateDataset(
  dir: string,
  options: TrainConfig['synthetic'],
  progress: Progress,
): Promise<{ dir: string; rendered: number; seconds: number }> {
  const { generateSyntheticDataset } = await import('@steel/data');
  const started = performance.now();
  let last = 0;
  const result = await generateSyntheticDataset({
    dir,
    count: options.count,
    testCount: options.testCount,
    height: options.height,
    width: options.width,
    seed: options.seed,
    onProgress: ({ done, total }) => {
      const now = performance.now();
      if (now - last > 2000 || done === total) {
        last = now;
        progress.log(`  synthetic data: ${done}/${total} images`);
      }
    },
  });
  return { dir: result.dir, rendered: result.rendered, seconds: (performance.now() - started) / 1000 };
}

/** The dataset folder of a config: `--data`, or the cached synthetic dataset (generated on first use). */
export async function ensureDataset(config: Pick<TrainConfig, 'data' | 'synthetic'>, progress: Progress): Promise<string> {
  if (config.data !== 'synthetic') return resolve(config.data);
  const dir = syntheticDir(config.synthetic);
  const s = config.synthetic;
  const result = await generateDataset(dir, s, progress);
  if (result.rendered > 0) {
    progress.log(`Generated the synthetic dataset (${s.count} training + ${s.testCount} test images, ${s.height}x${s.width}) in ${formatDuration(result.seconds)} at ${dir}`);
  }
  return dir;
}

/** `generate`: write a synthetic dataset. */
export async function runGenerate(args: ParsedArgs): Promise<number> {
  const size = args.values['size'] as { height: number; width: number } | undefined;
  const defaults = parseTrainConfig({}).synthetic;
  const synthetic = parseTrainConfig({
    synthetic: {
      count: args.values['count'] ?? defaults.count,
      testCount: args.values['test-count'] ?? defaults.testCount,
      height: size?.height ?? defaults.height,
      width: size?.width ?? defaults.width,
      seed: args.values['seed'] ?? defaults.seed,
    },
  }).synthetic;
  const dir = resolve((args.values['out'] as string | undefined) ?? syntheticDir(synthetic));
  const progress = createProgress(process.stderr);
  const result = await generateDataset(dir, synthetic, progress);
  process.stdout.write(
    `${result.rendered === 0 ? 'Already complete' : `Wrote ${result.rendered} images`}: ${dir} ` +
      `(${synthetic.count} training, ${synthetic.testCount} test, ${synthetic.height}x${synthetic.width}, seed ${synthetic.seed}) in ${formatDuration(result.seconds)}\n`,
  );
  return 0;
}
