import { appendFileSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AppError } from './errors.ts';

/** Writes a file atomically: a temporary file in the same folder, fsync, then rename over the target. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    if (typeof data === 'string') writeSync(fd, data);
    else writeSync(fd, data, 0, data.length);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** What a failed write means for the user, by Node error code. */
const WRITE_FAILURES: Record<string, string> = {
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
};

/** Phases of {@link writeDirAtomic} a caller can hook (fault tests). */
export type WritePhase = 'half-written' | 'moved-aside';

/**
 * Replaces a folder atomically enough to survive `kill -9`: the new content is written to `<dir>.tmp`, the old folder is
 * moved to `<dir>.old`, the new one renamed into place, then the old one removed. A reader that finds no `<dir>` falls back
 * to `<dir>.old` (see `resolveAtomicDir`).
 * @throws {AppError} WRITE_FAILED when the disk is full or not writable; the half-written `<dir>.tmp` is removed and the
 *   previous version stays where it was.
 */
export function writeDirAtomic(dir: string, files: Record<string, string | Uint8Array>, onPhase?: (phase: WritePhase) => void): void {
  const tmp = `${dir}.tmp`;
  const old = `${dir}.old`;
  try {
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    const entries = Object.entries(files);
    entries.forEach(([name, data], i) => {
      writeFileAtomic(join(tmp, name), data);
      if (i === Math.floor(entries.length / 2) - 1) onPhase?.('half-written');
    });
  } catch (error) {
    const reason = WRITE_FAILURES[(error as NodeJS.ErrnoException).code ?? ''];
    if (reason === undefined) throw error;
    try {
      rmSync(tmp, { recursive: true, force: true });
    } catch {
      // Nothing more to free; the message below still holds.
    }
    const previous = resolveAtomicDir(dir);
    throw new AppError(
      'WRITE_FAILED',
      `Cannot write ${dir}: ${reason} (${(error as NodeJS.ErrnoException).code}). ` +
        (previous === undefined ? 'Nothing had been saved there before. ' : `The previous version in ${previous} is intact. `) +
        'Free some space or make the folder writable.',
      { cause: error },
    );
  }
  if (existsSync(dir)) {
    rmSync(old, { recursive: true, force: true });
    renameSync(dir, old);
    onPhase?.('moved-aside');
  }
  renameSync(tmp, dir);
  rmSync(old, { recursive: true, force: true });
}

/** The folder written by `writeDirAtomic`, or its previous version if a crash happened between the two renames. */
export function resolveAtomicDir(dir: string): string | undefined {
  if (existsSync(join(dir, 'state.json')) || existsSync(join(dir, 'model.json'))) return dir;
  const old = `${dir}.old`;
  if (existsSync(old)) return old;
  return undefined;
}

/** Appends one JSON line (the run's log). */
export function appendJsonLine(path: string, record: Record<string, unknown>): void {
  appendFileSync(path, `${JSON.stringify(record)}\n`);
}

/** A run folder's file names. */
export function runPaths(runDir: string) {
  return {
    root: runDir,
    config: join(runDir, 'config.json'),
    log: join(runDir, 'log.jsonl'),
    checkpoint: join(runDir, 'checkpoint'),
    best: join(runDir, 'best'),
    metrics: join(runDir, 'metrics.json'),
    submission: join(runDir, 'submission.csv'),
    report: join(runDir, 'report.html'),
    split: join(runDir, 'split.json'),
  };
}
export type RunPaths = ReturnType<typeof runPaths>;

/** A run name from the current time: `2026-11-25T10-31-02`. */
export function timestampName(date = new Date()): string {
  return date.toISOString().slice(0, 19).replace(/:/g, '-');
}

/** Writes pretty JSON atomically. */
export function writeJson(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

