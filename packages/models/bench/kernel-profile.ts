// Per-kernel time of one tfjs step (tf.profile), with the arithmetic of the convolution and matrix-product kernels, and
// the peak resident memory of the process over a stretch of work (Linux: VmHWM, reset through /proc/self/clear_refs).
import { readFileSync, writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';

/** One kernel's share of a profiled step. */
export interface KernelTime {
  kernel: string;
  calls: number;
  ms: number;
  /** Multiply-adds x 2, for the kernels whose arithmetic follows from their shapes (else null). */
  gflop: number | null;
}

const size = (shape: readonly number[]) => shape.reduce((a, d) => a * d, 1);

/** Flops of one call, from its input and output shapes (NHWC convolutions, batched matrix products). */
function flops(name: string, inputs: number[][], outputs: number[][]): number | null {
  const [a, b] = inputs;
  const out = outputs[0];
  if (!a || !b || !out) return null;
  switch (name) {
    case 'Conv2D':
    case 'FusedConv2D':
      // x [B,H,W,C], filter [KH,KW,C,O], y [B,OH,OW,O]
      return 2 * size(out) * size(b.slice(0, 3));
    case 'Conv2DBackpropInput':
      // dy [B,OH,OW,O], filter [KH,KW,C,O]
      return 2 * size(a) * size(b.slice(0, 3));
    case 'Conv2DBackpropFilter':
      // x [B,H,W,C], dy [B,OH,OW,O], dW [KH,KW,C,O]
      return 2 * size(b) * size(out.slice(0, 3));
    case 'BatchMatMul':
    case '_FusedMatMul': {
      // [..., m, k] x [..., k, n] -> [..., m, n] (either side possibly transposed: k = |a| / (batch · m) with m from out)
      const batchRows = size(out) / out[out.length - 1]!;
      return 2 * size(out) * (size(a) / batchRows);
    }
    default:
      return null;
  }
}

/**
 * Runs `step` once under `tf.profile` and returns the time per kernel, largest first. Op scopes that the profile also
 * lists (names ending in `__op`, e.g. `fusedConv2d__op`, which wrap a kernel already counted) are left out.
 */
export async function profileStep(step: () => Promise<void>): Promise<KernelTime[]> {
  const check = tf.env().getBool('CHECK_COMPUTATION_FOR_ERRORS');
  tf.env().set('CHECK_COMPUTATION_FOR_ERRORS', false); // else every output is read back to look for NaN
  try {
    const info = await tf.profile(step);
    const byName = new Map<string, { calls: number; ms: number; flops: number | null }>();
    for (const k of info.kernels) {
      if (k.name.endsWith('__op')) continue;
      const ms = Number(await k.kernelTimeMs);
      const f = flops(k.name, k.inputShapes as number[][], k.outputShapes as number[][]);
      const e = byName.get(k.name) ?? { calls: 0, ms: 0, flops: f === null ? null : 0 };
      e.calls++;
      e.ms += ms;
      if (e.flops !== null && f !== null) e.flops += f;
      byName.set(k.name, e);
    }
    return [...byName]
      .map(([kernel, e]) => ({ kernel, calls: e.calls, ms: e.ms, gflop: e.flops === null ? null : e.flops / 1e9 }))
      .sort((p, q) => q.ms - p.ms);
  } finally {
    tf.env().set('CHECK_COMPUTATION_FOR_ERRORS', check);
  }
}

/** Resets the process's peak resident set size (Linux); returns false where that is not possible. */
export function resetPeakRss(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

/** Peak resident set size in MiB since the last `resetPeakRss` (Linux), or over the process's life elsewhere. */
export function peakRssMiB(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Math.round(Number(m[1]) / 1024);
  } catch {
    // not Linux
  }
  return Math.round(process.resourceUsage().maxRSS / 1024);
}
