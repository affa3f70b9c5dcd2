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
  /** The plan made again from the run's own steps (see {@link REPLAN_FRACTION}), when it was. */
  replanned?: Replan;
}

/** A plan made again after `afterSteps` real steps, which took `stepSeconds` each. */
export interface Replan {
  afterSteps: number;
  stepSeconds: number;
  steps: number;
}

/**
 * The share of the planned steps after which the trainer times its own steps (loading and augmentation included) and plans
 * the steps per epoch again. The step timed on a random batch before training is slower than the steady state (wasm
 * compiles its optimised code during the first steps, and the machine's load moves): run 6 of the main job trained for
 * 7 min 26 s of its 9 minutes.
 */
const REPLAN_FRACTION = 0.1;
/** Steps at the start of a run that the re-plan does not time (the slow first ones), and the fewest it times. */
const REPLAN_SKIP = 5;
const REPLAN_MIN_TIMED = 10;

/** What the trainer needs to plan again: when, from which step it times, and the new plan for the steps it timed. */
export interface ReplanHook {
  /** The global step after which to plan again; always inside the first epoch. */
  atStep: number;
  /** The global step whose end starts the timing. */
  timeFrom: number;
  /** The steps per epoch when the real steps take `stepSeconds` and `stepsDone` of them are behind. */
  plan(stepSeconds: number, stepsDone: number): number;
}

/**
 * The re-plan of a budget run that planned `plan`: after a tenth of its steps, or before its first epoch ends when that
 * comes sooner; undefined when the first epoch is too short to time {@link REPLAN_MIN_TIMED} steps after the first
 * {@link REPLAN_SKIP} and still plan again before it ends.
 */
export function replanHook(
  config: Pick<TrainConfig, 'epochs' | 'batchSize' | 'accumulate' | 'bnRecalibration'> & { budgetMinutes: number },
  counts: { train: number; val: number; test: number },
  sizes: { train: { height: number; width: number }; eval: { height: number; width: number } },
  plan: { epochs: number; steps: number },
): ReplanHook | undefined {
  const atStep = Math.max(REPLAN_SKIP + REPLAN_MIN_TIMED, Math.min(Math.round(REPLAN_FRACTION * plan.epochs * plan.steps), plan.steps - 1));
  if (atStep >= plan.steps) return undefined;
  return {
    atStep,
    timeFrom: REPLAN_SKIP,
    plan: (stepSeconds, stepsDone) => budgetPlan(config, counts, sizes, stepSeconds, performance.now() / 1000, stepsDone).steps,
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
 * The plan of {@link planBudget} for a measured `stepSeconds` when `elapsedSeconds` of the budget are gone: `config.epochs`
 * epochs, the steps per epoch that fill what is left after validation (batch-norm recalibration included), the final
 * predictions and 25 s of fixed costs. At least one step. `stepsDone` steps of the first epoch are behind (the re-plan):
 * the steps per epoch then hold them and the ones that fit the rest, and never fewer than `stepsDone + 1`.
 */
export function budgetPlan(
  config: Pick<TrainConfig, 'epochs' | 'batchSize' | 'accumulate' | 'bnRecalibration'> & { budgetMinutes: number },
  counts: { train: number; val: number; test: number },
  sizes: { train: { height: number; width: number }; eval: { height: number; width: number } },
  stepSeconds: number,
  elapsedSeconds: number,
  stepsDone = 0,
): { epochs: number; steps: number } {
  const { train, eval: full } = sizes;
  // A forward pass costs ~1/3 of a training step on the same batch; evaluation batches are whole images.
  const forwardSeconds = 0.35 * stepSeconds * ((full.height * full.width) / (train.height * train.width));
  const batches = (n: number) => Math.ceil(n / config.batchSize);
  const epochEvalSeconds = batches(counts.val) * forwardSeconds + config.bnRecalibration * 0.4 * stepSeconds + 2;
  const finalSeconds = (batches(counts.val) + 2 * batches(counts.test)) * forwardSeconds;
  const fixedSeconds = 25; // model loading, the report
  const left = config.budgetMinutes * 60 - elapsedSeconds - finalSeconds - fixedSeconds;
  // config.epochs validations; the steps per epoch fill the rest (an epoch may hold several passes or part of one).
  const epochs = config.epochs;
  const ahead = Math.max(0, Math.floor((left - epochs * epochEvalSeconds) / (stepSeconds * config.accumulate)));
  const steps = Math.max(stepsDone + 1, Math.floor((stepsDone + ahead) / epochs));
  return { epochs, steps };
}
