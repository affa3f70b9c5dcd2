/** Learning-rate schedules. `state` is plain JSON so checkpoints can store it. */
export type ScheduleName = 'constant' | 'one-cycle' | 'cosine' | 'plateau';

export interface ScheduleOptions {
  name: ScheduleName;
  lr: number;
  totalSteps: number;
  patience: number;
  factor: number;
  /** Floor for plateau reductions. */
  minLr?: number;
}

/** The learning rate for global step `step` (0-based) of `totalSteps`; `plateau` uses `state.lr`. */
export function learningRate(options: ScheduleOptions, step: number, state: Record<string, number>): number {
  const { name, lr, totalSteps } = options;
  const t = Math.min(1, step / Math.max(1, totalSteps));
  switch (name) {
    case 'constant':
      return lr;
    case 'cosine':
      // Half-cosine from lr to lr / 100.
      return lr / 100 + (lr - lr / 100) * 0.5 * (1 + Math.cos(Math.PI * t));
    case 'one-cycle': {
      // Linear warm-up from lr / 25 over the first 30% (PyTorch OneCycleLR's div_factor and pct_start), then half-cosine
      // down to lr / 1e4.
      const warm = 0.3;
      if (t < warm) return lr / 25 + (lr - lr / 25) * (t / warm);
      const u = (t - warm) / (1 - warm);
      return lr / 1e4 + (lr - lr / 1e4) * 0.5 * (1 + Math.cos(Math.PI * u));
    }
    case 'plateau':
      return state['lr'] ?? lr;
  }
}

/** Updates the plateau schedule after an epoch with the monitored value (lower is better). Returns the new state. */
export function plateauStep(options: ScheduleOptions, state: Record<string, number>, value: number): Record<string, number> {
  const lr = state['lr'] ?? options.lr;
  const best = state['best'] ?? Infinity;
  let bad = state['bad'] ?? 0;
  // The first epoch always sets the best (Infinity - 1e-4 * Infinity would be NaN, and NaN compares false).
  if (!Number.isFinite(best) || value < best - 1e-4 * Math.abs(best)) return { lr, best: value, bad: 0 };
  bad += 1;
  if (bad > options.patience) return { lr: Math.max(options.minLr ?? 0, lr * options.factor), best, bad: 0 };
  return { lr, best, bad };
}
