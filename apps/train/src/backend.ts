// Starts the tfjs backend the config asks for (through @steel/backend).
import type { TrainConfig } from './config.ts';

/** Sets up the tfjs backend; returns what was chosen (printed by the commands). */
export async function initBackend(config: Pick<TrainConfig, 'backend' | 'threads'>): Promise<{ backend: string; detail: string }> {
  const { setupBackend } = await import('@steel/backend');
  const result = await setupBackend({ backend: config.backend, ...(config.threads === undefined ? {} : { threads: config.threads }) });
  const r = result as unknown as { backend?: string; name?: string; reason?: string; threads?: number };
  const name = r.backend ?? r.name ?? String(result);
  return { backend: name, detail: [r.reason, r.threads != null ? `${r.threads} thread(s)` : undefined].filter(Boolean).join(', ') };
}
