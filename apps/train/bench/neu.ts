// NEU-Seg at equal wall time: steel's `train --preset neu-seg --budget-minutes M` then `evaluate --json` on the dataset's
// validation images, then the PyTorch run of the same architecture for as long as steel's train took (at least M minutes) (scripts/pytorch_neu.py,
// Debian's python3-torch, 2 threads, its own best recipe, the steel run's split.json), one after the other. Writes both
// sides (steps, ms/step, wall times, metrics, load averages, machine) to docs/results/neu-seg-equal-time.json.
// Imports ../shared/data/neu-seg into .cache/neu-seg first if that folder is missing.
// Run: pnpm --filter train bench:neu [--minutes 14] [--out file.json]   (or NEU_MINUTES=3 for a short smoke run)
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeJson } from '../src/run-dir.ts';

const APP = resolve(fileURLToPath(import.meta.url), '../..');
const ROOT = resolve(APP, '../..');
const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: process.env['NEU_MINUTES'] ?? '14' },
    out: { type: 'string', default: join(ROOT, 'docs/results/neu-seg-equal-time.json') },
    data: { type: 'string', default: join(APP, '.cache/neu-seg') },
    from: { type: 'string', default: resolve(ROOT, '../shared/data/neu-seg') },
  },
});
const minutes = Number(values.minutes);
if (!(minutes > 0)) {
  process.stderr.write(`error: --minutes (or NEU_MINUTES) must be a positive number of minutes, got "${values.minutes}".\n`);
  process.exit(2);
}
const data = resolve(values.data);
const out = resolve(values.out);
const PYTHON = '/usr/bin/python3';

/** Runs a command with its output passed through (stderr) and returns it with its wall time; stops the bench on failure. */
function timed(what: string, command: string, args: readonly string[]): { seconds: number; load: { start: number; end: number }; r: SpawnSyncReturns<string> } {
  const start = loadavg()[0]!;
  const t0 = performance.now();
  process.stderr.write(`\n== ${what}: ${[command === process.execPath ? 'node' : command, ...args].join(' ')}\n`);
  const r = spawnSync(command, args, { cwd: APP, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FORCE_COLOR: '0' } });
  const seconds = (performance.now() - t0) / 1000;
  process.stderr.write(r.stdout ?? '');
  if (r.status !== 0) {
    process.stderr.write(`error: ${what} failed with exit code ${r.status ?? r.signal}; no result written.\n`);
    process.exit(r.status ?? 1);
  }
  return { seconds, load: { start, end: loadavg()[0]! }, r };
}

const steelCli = (args: readonly string[]) => [process.execPath, ['--conditions=@steel/source', '--import', 'tsx', join(APP, 'src/main.ts'), ...args]] as const;
const rel = (path: string) => relative(APP, path) || '.';

if (!existsSync(join(data, 'dataset.json'))) {
  if (!existsSync(values.from)) {
    process.stderr.write(`error: ${data} is not an imported dataset and ${values.from} (the NEU-Seg source) does not exist. Pass --from <NEU-Seg folder> or --data <imported folder>.\n`);
    process.exit(2);
  }
  timed('import', ...steelCli(['import', '--from', values.from, '--out', data]));
}
if (spawnSync(PYTHON, ['-c', 'import torch, torchvision, PIL'], { encoding: 'utf8' }).status !== 0) {
  process.stderr.write(`error: ${PYTHON} lacks torch; run bash apps/train/scripts/ensure-torch.sh first.\n`);
  process.exit(2);
}

const name = `neu-seg-${minutes}min-${new Date().toISOString().replace(/[:.]/g, '-')}`;
const runDir = join(APP, 'runs', name);
const trainArgs = ['train', '--preset', 'neu-seg', '--data', rel(data), '--budget-minutes', String(minutes), '--name', name];
const train = timed('steel train', ...steelCli(trainArgs));
const evalJson = join(runDir, 'evaluate.json');
const evalArgs = ['evaluate', '--models', `runs/${name}`, '--data', rel(data), '--split', 'val', '--postprocess', `runs/${name}/tuned.json`, '--json', rel(evalJson)];
const evaluation = timed('steel evaluate', ...steelCli(evalArgs));
const torchJson = join(runDir, 'pytorch.json');
// PyTorch gets the wall time steel's train command took (its budget plus what it overran), so both sides have equal time.
const torchMinutes = Math.max(minutes, Math.round((train.seconds / 60) * 100) / 100);
const torchArgs = ['scripts/pytorch_neu.py', '--data', rel(data), '--minutes', String(torchMinutes), '--split', `runs/${name}/split.json`, '--out', rel(torchJson)];
const torch = timed('PyTorch', PYTHON, torchArgs);

interface StepRecord { type: string; seconds?: number }
interface Scores { mean: number; meanDatasetDice: number; meanIou: number }
const log = readFileSync(join(runDir, 'log.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as StepRecord);
const steps = log.filter((l) => l.type === 'step');
const stepSeconds = steps.reduce((s, l) => s + (l.seconds ?? 0), 0);
const config = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8')) as Record<string, unknown>;
const split = JSON.parse(readFileSync(join(runDir, 'split.json'), 'utf8')) as { train: string[]; valid: string[] };
const steelEval = JSON.parse(readFileSync(evalJson, 'utf8')) as { rows: (Scores & { step: string })[]; images: number; postprocessing: string };
const pytorch = JSON.parse(readFileSync(torchJson, 'utf8')) as { validation: Scores & { images: number }; steps: number; msPerStep: number };
const cmd = (args: readonly string[]) => `pnpm --filter train cli ${args.join(' ')}`;

const result = {
  date: new Date().toISOString(),
  command: `pnpm --filter train bench:neu --minutes ${minutes}`,
  budgetMinutes: minutes,
  data: rel(data),
  validationImages: split.valid.length,
  trainImages: split.train.length,
  machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version },
  steel: {
    commands: [cmd(trainArgs), cmd(evalArgs)],
    run: `runs/${name}`,
    steps: steps.length,
    plannedSteps: Number(config['epochs']) * Number(config['steps']),
    msPerStep: Math.round((1000 * stepSeconds) / Math.max(1, steps.length)),
    wallSeconds: { train: Math.round(train.seconds * 10) / 10, evaluate: Math.round(evaluation.seconds * 10) / 10 },
    loadAverage: { start: train.load.start, end: evaluation.load.end },
    config,
    postprocessing: steelEval.postprocessing,
    validation: steelEval,
  },
  pytorch: { command: `${PYTHON} ${torchArgs.join(' ')}`, minutes: torchMinutes, wallSeconds: Math.round(torch.seconds * 10) / 10, ...pytorch },
};
if (pytorch.validation.images !== steelEval.images) {
  throw new Error(`steel scored ${steelEval.images} validation images and PyTorch ${pytorch.validation.images}: the splits differ.`);
}
writeJson(out, result);
const row = (r: Scores) => `${r.mean.toFixed(4)} / ${r.meanDatasetDice.toFixed(4)} / ${r.meanIou.toFixed(4)}`;
process.stdout.write(
  `\nNEU-Seg, ${minutes} min each, ${steelEval.images} validation images (competition Dice / dataset Dice / mIoU):\n` +
    steelEval.rows.map((r) => `${`  steel ${r.step.startsWith('raw ') ? 'raw' : r.step}`.padEnd(28)}${row(r)}\n`).join('') +
    `${'  PyTorch raw'.padEnd(28)}${row(pytorch.validation)}\n` +
    `steel: ${steps.length} steps, ${result.steel.msPerStep} ms/step, train ${result.steel.wallSeconds.train} s; ` +
    `PyTorch: ${pytorch.steps} steps, ${pytorch.msPerStep} ms/step, ${result.pytorch.wallSeconds} s. Wrote ${out}\n`,
);
