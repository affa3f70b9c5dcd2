// Helpers for the app's tests: run the CLI as a child process, make small datasets.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { APP_ROOT } from './app-paths.ts';

const MAIN = resolve(APP_ROOT, 'src/main.ts');
const NODE_ARGS = ['--conditions=@steel/source', '--import', 'tsx', MAIN];

/** Result of a CLI run. */
export interface CliResult {
  status: number | null;
  /** The signal that ended the process, if one did. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `steel-train ...args` to completion. */
export function runCli(args: readonly string[], options: { cwd?: string; env?: Record<string, string>; timeout?: number } = {}): CliResult {
  const r = spawnSync(process.execPath, [...NODE_ARGS, ...args], {
    cwd: options.cwd ?? APP_ROOT,
    env: { ...process.env, ...options.env, FORCE_COLOR: '0' },
    encoding: 'utf8',
    timeout: options.timeout ?? 540_000,
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Starts `steel-train ...args` without waiting. */
export function startCli(args: readonly string[], options: { cwd?: string; env?: Record<string, string> } = {}): ChildProcess {
  return spawn(process.execPath, [...NODE_ARGS, ...args], {
    cwd: options.cwd ?? APP_ROOT,
    env: { ...process.env, ...options.env, FORCE_COLOR: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** A fresh temporary folder. */
export function tempDir(prefix = 'steel-train-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
