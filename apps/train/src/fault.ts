// Fault injection for the fault tests: a real signal at a chosen point of a real run.

/** Points where a run can be made to fail. */
export type FaultPoint = 'after-step' | 'checkpoint-half-written' | 'checkpoint-moved-aside';

interface Fault {
  signal: 'SIGKILL' | 'SIGINT';
  point: FaultPoint;
  step: number;
}

/**
 * `STEEL_TRAIN_FAULT=<sigkill|sigint>:<point>:<step>`, e.g. `sigkill:after-step:4` (kill -9 right after step 4 is logged) or
 * `sigkill:checkpoint-moved-aside:6` (kill -9 while the checkpoint of step 6 is being swapped in). Unset: no fault.
 */
function parseFault(text: string | undefined): Fault | undefined {
  const m = /^(sigkill|sigint):(after-step|checkpoint-half-written|checkpoint-moved-aside):(\d+)$/.exec(text ?? '');
  if (!m) return undefined;
  return { signal: m[1] === 'sigkill' ? 'SIGKILL' : 'SIGINT', point: m[2] as FaultPoint, step: Number(m[3]) };
}

const FAULT = parseFault(process.env['STEEL_TRAIN_FAULT']);

/**
 * Sends the configured signal to this process when `point` at global step `step` is the configured fault. SIGKILL ends the
 * process at once; after SIGINT this waits until the signal handler has run.
 */
export async function faultPoint(point: FaultPoint, step: number): Promise<void> {
  if (FAULT === undefined || FAULT.point !== point || FAULT.step !== step) return;
  process.kill(process.pid, FAULT.signal);
  await new Promise((resolve) => setTimeout(resolve, 100));
}

/** The synchronous form of {@link faultPoint} for code that cannot wait (SIGKILL only). */
export function faultPointSync(point: FaultPoint, step: number): void {
  if (FAULT === undefined || FAULT.point !== point || FAULT.step !== step || FAULT.signal !== 'SIGKILL') return;
  process.kill(process.pid, 'SIGKILL');
}
