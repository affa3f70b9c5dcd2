// Shared benchmark output: a printed table and a JSON file under bench-results/ at the repository root (git-ignored).
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

export type BenchRow = Record<string, string | number | boolean | null>;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Median wall time in milliseconds of `fn` over `runs` runs after `warmup` runs. */
export function timeMs(fn: () => void, { runs = 50, warmup = 5 }: { runs?: number; warmup?: number } = {}): number {
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? Number.NaN;
}

/** Median wall time in milliseconds of an async `fn`. */
export async function timeMsAsync(fn: () => Promise<void>, { runs = 10, warmup = 2 }: { runs?: number; warmup?: number } = {}): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? Number.NaN;
}

/** Prints `rows` as a table and writes `{ name, date, machine, rows }` to bench-results/<name>.json atomically. */
export function report(name: string, rows: BenchRow[], extra: Record<string, unknown> = {}): string {
  console.log(`\n${name}`);
  console.table(rows);
  const dir = join(ROOT, 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  const body = {
    name,
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', node: process.version, platform: process.platform },
    rows,
    ...extra,
  };
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(body, null, 2)}\n`);
  renameSync(tmp, file);
  console.log(`written ${file}`);
  return file;
}
