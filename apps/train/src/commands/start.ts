import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import type { ParsedArgs } from '../cli.ts';
import { resolveTrainConfig, checkMultipleOf32 } from '../config.ts';
import { AppError } from '../errors.ts';
import type { RunMetrics } from '../finish.ts';
import { formatDuration } from '../progress.ts';
import { runPaths, timestampName, writeJson } from '../run-dir.ts';
import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { checkNewRunOptions, explicitKeys } from '../options.ts';
import { trainRun } from './train.ts';

/**
 * `start`, the main job: synthetic data (generated once, cached), training with the default preset, prediction of the
 * test images with post-processing, scoring against the held-back truth, submission + report, and a summary table.
 */
export async function runStart(args: ParsedArgs): Promise<number> {
  const started = performance.now();
  const config = resolveTrainConfig({
    preset: args.values['preset'] as string | undefined,
    configFile: args.values['config'] as string | undefined,
    flags: args.config,
  });
  checkNewRunOptions(config, explicitKeys(args.config, args.values['config'] as string | undefined));
  if (config.crop) checkMultipleOf32('--crop', config.crop);
  const name = config.name ?? `main-${timestampName()}`;
  const paths = runPaths(resolve(config.runsDir, name));
  if (existsSync(paths.log)) {
    throw new AppError('USAGE', `Run folder ${paths.root} already exists. Pick another --name, or continue it with "train --resume ${paths.root}".`);
  }
  const loadAtStart = loadavg()[0]!;
  const { exitCode, plan } = await trainRun({ ...config, name }, paths, false);
  if (exitCode !== 0) return exitCode;
  const metrics = JSON.parse(readFileSync(paths.metrics, 'utf8')) as RunMetrics;
  const { summaryTable } = await import('../finish.ts');
  const total = (performance.now() - started) / 1000;
  metrics.timing.totalSeconds = total;
  if (plan) metrics.timing.budget = plan;
  metrics.timing.loadAverage = { start: loadAtStart, end: loadavg()[0]! };
  metrics.timing.cpu = `${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}`;
  writeJson(paths.metrics, metrics);
  const rows = [
    { name: 'validation  all-empty baseline', score: metrics.validation.baseline },
    { name: 'validation  model + post-processing', score: metrics.validation.postprocessed },
  ];
  if (metrics.test) {
    rows.push(
      { name: `test (${metrics.test.images} images)  all-empty baseline`, score: metrics.test.baseline },
      { name: `test (${metrics.test.images} images)  model, threshold only`, score: metrics.test.raw },
      { name: `test (${metrics.test.images} images)  model + post-processing`, score: metrics.test.postprocessed },
    );
    if (metrics.test.gated) rows.push({ name: `test (${metrics.test.images} images)  model + post-processing + gating`, score: metrics.test.gated });
  }
  const classes = metrics.validation.baseline.perClass.length;
  process.stdout.write(
    `\nCompetition Dice (mean over image x class pairs; an empty prediction of an empty mask scores 1):\n${summaryTable(rows, classes)}\n\n` +
      `Backend ${metrics.backend}; inference engine ${metrics.engine ?? 'tfjs'}; best epoch ${metrics.bestEpoch ?? '-'}; training ${formatDuration(metrics.timing.trainSeconds)}; ` +
      `total wall time ${formatDuration(total)}.\n` +
      `Run folder: ${paths.root}\n  submission: ${paths.submission}\n  report:     ${paths.report}\n`,
  );
  return 0;
}
