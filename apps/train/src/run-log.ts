// Repairing the run log (log.jsonl) on resume, so a resumed run logs what an uninterrupted one would.
import { readFileSync } from 'node:fs';
import type { TrainState } from './checkpoint.ts';
import { writeFileAtomic } from './run-dir.ts';

/**
 * Drops log lines written after the checkpoint (a run killed between a step and its checkpoint logged steps that the
 * resumed run does again), so the log of a resumed run equals an uninterrupted one.
 */
export function truncateLog(path: string, state: TrainState): void {
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const kept = lines.filter((line) => {
    const record = JSON.parse(line) as { type?: string; step?: number; epoch?: number };
    if (record.type === 'step') return (record.step ?? 0) <= state.step;
    if (record.type === 'epoch') return (record.epoch ?? 0) <= state.epoch;
    return true;
  });
  if (kept.length !== lines.length) writeFileAtomic(path, kept.map((l) => `${l}\n`).join(''));
}
