// PyTorch timings for benchmarks: Debian's python3-torch through packages/models/scripts/pytorch_bench.py, the same
// segmentation_models-layout networks the tfjs models port. Absent torch gives null timings and a label saying why.
import { execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const PYTHON = '/usr/bin/python3';
const SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), '../../packages/models/scripts/pytorch_bench.py');

/** One timed case: a training step or a forward pass of UNet/FPN at an NHWC shape. */
export interface PytorchCase {
  op: 'train' | 'forward';
  architecture?: 'unet' | 'fpn';
  encoder: string;
  /** [batch, height, width, channels]. */
  shape: readonly [number, number, number, number];
  /** Timed runs (median reported) and warm-up runs. Defaults 3 and 1. */
  runs?: number;
  warmup?: number;
}

/** Whether /usr/bin/python3 imports torch and torchvision. */
export const hasTorch: boolean = (() => {
  if (!existsSync(PYTHON)) return false;
  try {
    execFileSync(PYTHON, ['-c', 'import torch, torchvision'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** What the timings were measured with, e.g. `torch 1.13.0a0, 2 threads`, or why there are none. */
export let pytorchLabel = hasTorch ? '' : 'not installed (/usr/bin/python3 without torch)';

/**
 * Median milliseconds per case in one PyTorch process (`threads`: intra-op threads; default all cores), or null without
 * torch.
 */
export function pytorchMs(cases: readonly PytorchCase[], options: { threads?: number } = {}): (number | null)[] {
  return pytorchTimings(cases, options).ms;
}

/**
 * `pytorchMs`, the median CPU milliseconds of the same steps (the process's, all threads) and the peak resident memory
 * of that PyTorch process (MiB), or nulls without torch.
 */
export function pytorchTimings(
  cases: readonly PytorchCase[],
  { threads }: { threads?: number } = {},
): { ms: (number | null)[]; cpuMs: (number | null)[]; peakRssMiB: number | null } {
  if (!hasTorch) return { ms: cases.map(() => null), cpuMs: cases.map(() => null), peakRssMiB: null };
  const env = threads ? { ...process.env, STEEL_TORCH_THREADS: String(threads) } : process.env;
  const out = execFileSync(PYTHON, [SCRIPT, JSON.stringify(cases)], { encoding: 'utf8', maxBuffer: 1 << 20, env });
  const parsed = JSON.parse(out.trim().split('\n').pop()!) as { torch: string; threads: number; ms: number[]; cpu_ms?: number[]; peak_rss_mib?: number };
  pytorchLabel = `torch ${parsed.torch}, ${parsed.threads} threads`;
  return { ms: parsed.ms, cpuMs: parsed.cpu_ms ?? cases.map(() => null), peakRssMiB: parsed.peak_rss_mib ?? null };
}

/** A PyTorch process holding one case's model, timing one pass per call. */
export interface PytorchRunner {
  /** e.g. `torch 1.13.0a0, 2 threads`. */
  readonly label: string;
  /** Milliseconds of one forward pass (or training step). */
  run(): Promise<number>;
  close(): void;
}

/**
 * Starts a PyTorch process for `case` that times one pass per `run()`, so a benchmark can alternate engines pass by pass
 * (on a shared machine, load changes within seconds; alternating keeps the engines' medians comparable). Null without torch.
 */
export async function startPytorchRunner(c: PytorchCase, { threads }: { threads?: number } = {}): Promise<PytorchRunner | null> {
  if (!hasTorch) return null;
  const env = threads ? { ...process.env, STEEL_TORCH_THREADS: String(threads) } : process.env;
  const child = spawn(PYTHON, [SCRIPT, '--serve', JSON.stringify(c)], { env, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`PyTorch bench process ended early (exit ${child.exitCode})`);
    return JSON.parse(value as string) as Record<string, unknown>;
  };
  const ready = await next();
  const label = `torch ${String(ready['torch'])}, ${String(ready['threads'])} threads`;
  pytorchLabel = label;
  return {
    label,
    async run() {
      child.stdin.write('run\n');
      return Number((await next())['ms']);
    },
    close() {
      child.stdin.end();
    },
  };
}
