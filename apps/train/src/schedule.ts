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

/**
 * How far the schedule is at global step `step`, in [0, 1]: `step / totalSteps`, or, once `state` holds an anchor (see
 * {@link anchorSchedule}), the anchor's progress at its step, rising linearly to 1 at `totalSteps`.
 */
export function scheduleProgress(options: Pick<ScheduleOptions, 'totalSteps'>, step: number, state: Record<string, number>): number {
  const { totalSteps } = options;
  const anchorStep = state['anchorStep'];
  const anchorProgress = state['anchorProgress'];
  if (anchorStep === undefined || anchorProgress === undefined) return Math.min(1, step / Math.max(1, totalSteps));
  // Steps before the anchor (never asked for by the trainer) rise linearly from 0 to the anchor's progress.
  if (step < anchorStep) return (anchorProgress * step) / Math.max(1, anchorStep);
  return Math.min(1, anchorProgress + ((1 - anchorProgress) * (step - anchorStep)) / Math.max(1, totalSteps - anchorStep));
}

/**
 * The schedule state with an anchor at global step `step`, for a plan whose total steps are about to change: the progress
 * `step` has under `options` (the plan so far) is kept, and later steps go from it to 1 at the new total, so the learning
 * rate does not jump. Anchors chain: each one starts where the previous mapping was. Other keys (the plateau's) stay.
 */
export function anchorSchedule(options: Pick<ScheduleOptions, 'totalSteps'>, step: number, state: Record<string, number>): Record<string, number> {
  return { ...state, anchorStep: step, anchorProgress: scheduleProgress(options, step, state) };
}

/**
 * The learning rate for global step `step` (0-based) of `totalSteps` (from the progress of {@link scheduleProgress});
 * `plateau` uses `state.lr`.
 */
export function learningRate(options: ScheduleOptions, step: number, state: Record<string, number>): number {
  const { name, lr } = options;
  const t = scheduleProgress(options, step, state);
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

/**
 * Updates the plateau schedule after an epoch with the monitored value (lower is better). Returns the new state (an anchor
 * of {@link anchorSchedule} stays in it).
 */
export function plateauStep(options: ScheduleOptions, state: Record<string, number>, value: number): Record<string, number> {
  const lr = state['lr'] ?? options.lr;
  const best = state['best'] ?? Infinity;
  let bad = state['bad'] ?? 0;
  // The first epoch always sets the best (Infinity - 1e-4 * Infinity would be NaN, and NaN compares false).
  if (!Number.isFinite(best) || value < best - 1e-4 * Math.abs(best)) return { ...state, lr, best: value, bad: 0 };
  bad += 1;
  if (bad > options.patience) return { ...state, lr: Math.max(options.minLr ?? 0, lr * options.factor), best, bad: 0 };
  return { ...state, lr, best, bad };
}
