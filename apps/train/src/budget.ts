// How many steps training runs: steps per epoch, and the plan that fits a time budget (`--budget`) from a measured step.
import * as tf from '@tensorflow/tfjs-core';
import { buildLoss, buildModel, buildOptimizer } from './builders.ts';
import type { TrainConfig } from './config.ts';
import { objective } from './head.ts';

/** Steps (optimizer updates) per epoch. */
export function stepsPerEpoch(config: TrainConfig, trainCount: number): number {
  return config.steps ?? Math.max(1, Math.floor(trainCount / (config.batchSize * config.accumulate)));
}

/**
 * A training step on real batches over the measured one on a fixed random batch: reading, cropping and flipping the
 * images, the progress line (the main job measured 0.60 s and trained at about 0.65 s a step).
 */
const STEP_OVERHEAD = 1.1;

/** Timed steps at most, and the seconds after which measuring stops once two are timed. */
const MEASURED_STEPS = 6;
const MEASURE_SECONDS = 20;

/**
 * Seconds of one optimizer step of the configured model on a random batch of the given shape (a throwaway model): the
 * median of the last three of up to six steps after a warm-up, since the first steps run while the runtime is still
 * compiling the kernels' optimised code (on wasm they can take twice as long as the steps after them).
 */
export async function measureStep(config: TrainConfig, classes: number, shape: [number, number, number, number]): Promise<number> {
  const model = await buildModel(config, classes);
  const optimizer = buildOptimizer(config);
  const lossFn = buildLoss(config, classes);
  const x = tf.randomUniform(shape, 0, 1, 'float32', 1);
  const y = tf.cast(tf.greater(tf.randomUniform([shape[0], shape[1], shape[2], classes], 0, 1, 'float32', 2), 0.9), 'float32');
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const step = async () => {
    const t0 = performance.now();
    const { value, grads } = tf.variableGrads(() => objective(lossFn, config, y, model.apply(x, { training: true }) as tf.Tensor | tf.Tensor[]), vars);
    optimizer.applyGradients(grads);
    await value.data();
    tf.dispose([value, ...Object.values(grads)]);
    return (performance.now() - t0) / 1000;
  };
  try {
    await step(); // warm-up: kernel setup and first-call costs
    const times: number[] = [];
    const start = performance.now();
    while (times.length < MEASURED_STEPS && (times.length < 2 || performance.now() - start < MEASURE_SECONDS * 1000)) times.push(await step());
    const last = times.slice(-3).sort((a, b) => a - b);
    return last[Math.floor(last.length / 2)]!;
  } finally {
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
  }
}

/** What a time budget made of a run: the measured step, and the epochs and steps per epoch that fit. */
export interface TrainingPlan {
  budgetMinutes?: number | undefined;
  stepSeconds: number;
  epochs: number;
  steps: number;
  /** The plans made again from the run's own steps (see {@link replanHook}), in order; absent when none was. */
  replans?: Replan[];
}

/**
 * A plan made again after `afterSteps` global steps, in epoch `epoch` (1-based): the `timedSteps` steps before it took
 * `stepSeconds` each, so that epoch and the later ones run `steps` steps, `totalSteps` in all.
 */
export interface Replan {
  afterSteps: number;
  epoch: number;
  timedSteps: number;
  stepSeconds: number;
  steps: number;
  totalSteps: number;
}

/**
 * The share of the planned steps after which the trainer first times its own steps (loading and augmentation included) and
 * plans the steps per epoch again. The step timed on a random batch before training is slower than the steady state (wasm
 * compiles its optimised code during the first steps, and the machine's load moves): run 6 of the main job trained for
 * 7 min 26 s of its 9 minutes.
 */
const REPLAN_FRACTION = 0.1;
/** Steps at the start of a run that the first re-plan does not time (the slow first ones), and the fewest a re-plan times. */
const REPLAN_SKIP = 5;
const REPLAN_MIN_TIMED = 10;
/**
 * The shares of the current plan after which the trainer plans again, after the first re-plan. The steps keep getting faster
 * after the first tenth (run 7 of the main job: about 0.55 s a step in its first epoch, 0.41 s in its fourth, so it trained
 * for 7 min 1 s of its 9 minutes; NEU-Seg: 0.70 s early, 0.50 to 0.59 s later, 766 of its 840 s), so one re-plan from the
 * first steps leaves budget unused. These two points split the rest of the run into three near-equal stretches: each
 * re-plan times the quarter or third of the run since the previous one (its recent speed, hundreds of steps on the main job,
 * so a checkpoint or a busy moment averages out), and the last one still has a third of the run ahead to spend what it
 * corrects on; a re-plan can only change the steps after it, so a later one would gain little.
 */
const LATER_REPLANS = [0.35, 0.65];
/** The share of the current plan that a later re-plan must leave after it (and no fewer than {@link REPLAN_MIN_TIMED} steps). */
const REPLAN_MIN_LEFT = 0.25;

/** What the trainer needs to plan again: when, from which step the first re-plan times, and the new plan. */
export interface ReplanHook {
  /** The global step whose end starts the timing of the first re-plan; a later re-plan times the steps since the one before. */
  timeFrom: number;
  /**
   * The global step after which re-plan `index` (0-based) runs, when the plan holds `totalSteps` steps and the re-plan
   * before it ran after `previous` steps (0 for the first); undefined when no re-plan is left.
   */
  at(index: number, totalSteps: number, previous: number): number | undefined;
  /**
   * The steps of the current epoch and of each later one, when optimizer steps take `stepSeconds` and the current epoch
   * (`epoch`, 0-based) has `stepInEpoch` steps behind it. Never fewer than `stepInEpoch + 1`.
   */
  plan(stepSeconds: number, progress: { epoch: number; stepInEpoch: number }): number;
}

/**
 * The re-plans of a budget run that planned `plan`. The first comes after a tenth of its steps, or before its first epoch
 * ends when that comes sooner, and times the steps after the first {@link REPLAN_SKIP}; undefined when the first epoch is too
 * short to time {@link REPLAN_MIN_TIMED} steps that way and still plan again before it ends. Later ones come at the shares
 * {@link LATER_REPLANS} of the plan as it then stands, each at least {@link REPLAN_MIN_TIMED} steps after the one before and
 * leaving {@link REPLAN_MIN_LEFT} of the plan after it.
 */
export function replanHook(
  config: Pick<TrainConfig, 'epochs' | 'batchSize' | 'accumulate' | 'bnRecalibration'> & { budgetMinutes: number },
  counts: { train: number; val: number; test: number },
  sizes: { train: { height: number; width: number }; eval: { height: number; width: number } },
  plan: { epochs: number; steps: number },
): ReplanHook | undefined {
  const first = Math.max(REPLAN_SKIP + REPLAN_MIN_TIMED, Math.min(Math.round(REPLAN_FRACTION * plan.epochs * plan.steps), plan.steps - 1));
  if (first >= plan.steps) return undefined;
  return {
    timeFrom: REPLAN_SKIP,
    at: (index, totalSteps, previous) => {
      if (index === 0) return first;
      const share = LATER_REPLANS[index - 1];
      if (share === undefined) return undefined;
      const step = Math.max(previous + REPLAN_MIN_TIMED, Math.round(share * totalSteps));
      return totalSteps - step >= Math.max(REPLAN_MIN_TIMED, REPLAN_MIN_LEFT * totalSteps) ? step : undefined;
    },
    // The trainer times optimizer steps; the plan counts batches (an optimizer step is `accumulate` of them).
    plan: (stepSeconds, progress) =>
      budgetPlan(config, counts, sizes, stepSeconds / config.accumulate, performance.now() / 1000, progress).steps,
  };
}

/**
 * Fits training into `config.budgetMinutes` of wall time counted from process start: measures a step, reserves time for
 * validation (batch-norm recalibration included), checkpoints, tuning and the final predictions, and returns the steps
 * per epoch that fit `config.epochs` epochs (an epoch may be several passes over the training images, or part of one).
 */
export async function planBudget(
  config: TrainConfig,
  classes: number,
  counts: { train: number; val: number; test: number },
  sizes: { train: { height: number; width: number }; eval: { height: number; width: number } },
  log: (line: string) => void,
): Promise<TrainingPlan | undefined> {
  if (config.budgetMinutes === undefined) return undefined;
  const measured = await measureStep(config, classes, [config.batchSize, sizes.train.height, sizes.train.width, config.inChannels]);
  const stepSeconds = STEP_OVERHEAD * measured;
  const plan = budgetPlan({ ...config, budgetMinutes: config.budgetMinutes }, counts, sizes, stepSeconds, performance.now() / 1000);
  log(
    `Budget ${config.budgetMinutes} min: one step of ${config.batchSize} images takes ${measured.toFixed(2)} s here ` +
      `(${stepSeconds.toFixed(2)} s with loading and augmentation), ` +
      `so training runs ${plan.epochs} epoch(s) of ${plan.steps} steps (a full pass is ${stepsPerEpoch(config, counts.train)}).`,
  );
  return { ...plan, stepSeconds };
}

/**
 * The plan of {@link planBudget} for a measured `stepSeconds` (one batch of `config.batchSize`; an optimizer step is
 * `accumulate` batches) when `elapsedSeconds` of the budget are gone: `config.epochs` epochs, and the steps per epoch that
 * fill what is left after the validations still ahead (batch-norm recalibration included), the final predictions and 25 s
 * of fixed costs. At least one step. A re-plan passes `done`: `done.epoch` epochs are finished (their steps and validations
 * are in `elapsedSeconds`) and the current one has `done.stepInEpoch` steps behind it; the steps then apply to the current
 * epoch and each later one, hold its steps behind and the ones that fit the rest, and are never fewer than
 * `done.stepInEpoch + 1`.
 */
export function budgetPlan(
  config: Pick<TrainConfig, 'epochs' | 'batchSize' | 'accumulate' | 'bnRecalibration'> & { budgetMinutes: number },
  counts: { train: number; val: number; test: number },
  sizes: { train: { height: number; width: number }; eval: { height: number; width: number } },
  stepSeconds: number,
  elapsedSeconds: number,
  done: { epoch: number; stepInEpoch: number } = { epoch: 0, stepInEpoch: 0 },
): { epochs: number; steps: number } {
  const { train, eval: full } = sizes;
  // A forward pass costs ~1/3 of a training step on the same batch; evaluation batches are whole images.
  const forwardSeconds = 0.35 * stepSeconds * ((full.height * full.width) / (train.height * train.width));
  const batches = (n: number) => Math.ceil(n / config.batchSize);
  // The end of an epoch: batch-norm recalibration, validation, and 2 s for the best model's save and the checkpoint. The
  // trainer's re-plans time the step loop only (checkpoints inside it included), so this is counted once.
  const epochEvalSeconds = batches(counts.val) * forwardSeconds + config.bnRecalibration * 0.4 * stepSeconds + 2;
  const finalSeconds = (batches(counts.val) + 2 * batches(counts.test)) * forwardSeconds;
  const fixedSeconds = 25; // model loading, the report
  const left = config.budgetMinutes * 60 - elapsedSeconds - finalSeconds - fixedSeconds;
  // The current epoch's end is still ahead (even after its last planned step), the finished ones' are behind.
  const epochs = config.epochs;
  const epochsLeft = Math.max(1, epochs - done.epoch);
  const ahead = Math.max(0, Math.floor((left - epochsLeft * epochEvalSeconds) / (stepSeconds * config.accumulate)));
  // The current epoch runs `steps - stepInEpoch` more, each later one `steps`: epochsLeft * steps - stepInEpoch = ahead.
  const steps = Math.max(done.stepInEpoch + 1, Math.floor((done.stepInEpoch + ahead) / epochsLeft));
  return { epochs, steps };
}
