// The training loop: builds the model, resumes from the checkpoint, runs the steps and epochs, keeps the best model,
// checkpoints and logs, and stops cleanly when asked.
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { recalibrateBatchNorm } from '@steel/models';
import { accumulateGradients } from './accumulate.ts';
import { stepsPerEpoch, type Replan, type ReplanHook } from './budget.ts';
import { applyPretrained, buildLoss, buildModel, buildOptimizer } from './builders.ts';
import { loadCheckpoint, loadModelWeights, saveCheckpoint, saveModelDir, type EpochRecord, type ModelIdentity, type TrainState } from './checkpoint.ts';
import type { TrainConfig } from './config.ts';
import { epochOrder, SampleStore, scaledSize, trainBatch, trainTransform, type PreparedData } from './data.ts';
import { AppError, isAppError } from './errors.ts';
import { faultPoint } from './fault.ts';
import { objective } from './head.ts';
import type { Progress } from './progress.ts';
import { appendJsonLine, resolveAtomicDir, type RunPaths } from './run-dir.ts';
import { truncateLog } from './run-log.ts';
import { anchorSchedule, learningRate, plateauStep, type ScheduleOptions } from './schedule.ts';
import { isImprovement, recalibrationBatches, validate } from './validation.ts';

/** What a finished (or stopped) training returns. */
export interface TrainResult {
  state: TrainState;
  stopped: 'finished' | 'interrupted';
  /** The steps per epoch planned again from the run's own steps (a time budget), in order, when they were. */
  replans?: Replan[];
}

/** Options of {@link runTraining}. */
export interface TrainOptions {
  config: TrainConfig;
  data: PreparedData;
  paths: RunPaths;
  resume: boolean;
  progress: Progress;
  /** Set to true (e.g. by SIGINT) to save a checkpoint and stop after the current step. */
  stop: { requested: boolean };
  /** Stops after this many optimizer steps in this process (tests: a deterministic interruption). */
  stopAfterSteps?: number | undefined;
  /**
   * A time budget's re-plans: after each of its steps the current epoch and the later ones get the steps it returns for the
   * timed steps, and the schedule spans the new total from where it was. A resumed run goes on with the re-plans its
   * checkpoint has not had yet; without a hook it keeps the epoch lengths its checkpoint holds.
   */
  replan?: ReplanHook | undefined;
}

/** The model identity a run's checkpoints and best model carry (checked when they are loaded). */
export function identityOf(config: TrainConfig, classes: number): ModelIdentity {
  return {
    architecture: config.architecture,
    encoder: config.encoder,
    inChannels: config.inChannels,
    classes,
    ...(config.classificationHead ? { classificationHead: true } : {}),
  };
}

/** The state of a run that has not taken a step. */
function freshState(config: TrainConfig): TrainState {
  return {
    epoch: 0,
    stepInEpoch: 0,
    step: 0,
    lr: config.lr,
    rng: { seed: config.seed, epoch: 0, step: 0 },
    schedule: {},
    best: null,
    history: [],
    epochLossSum: 0,
  } as TrainState;
}

/**
 * Trains a model as `config` says, writing checkpoints, the best model and the log into the run folder. Resumes from the
 * checkpoint when `resume` is set; the result equals an uninterrupted run (same seed, same backend).
 * @throws {AppError} NON_FINITE_LOSS when the loss becomes NaN or Inf (the last checkpoint stays).
 */
export async function runTraining(options: TrainOptions): Promise<TrainResult> {
  const { config, data, paths, progress, stop } = options;
  const classes = data.dataset.classes;
  const identity = identityOf(config, classes);
  const store = new SampleStore(data.dataset, config.inChannels, config.scale);
  const size = scaledSize(data.dataset, config.scale);
  if (config.crop && (config.crop.height > size.height || config.crop.width > size.width)) {
    const fit = { height: Math.floor(size.height / 32) * 32, width: Math.floor(size.width / 32) * 32 };
    throw new AppError(
      'BAD_SIZE',
      `--crop ${config.crop.height}x${config.crop.width} is larger than the training images (${size.height}x${size.width} at --scale ${config.scale}). ` +
        `Pass ${fit.height > 0 && fit.width > 0 ? `a crop that fits (at most --crop ${fit.height}x${fit.width}), or ` : ''}--crop none for whole images.`,
    );
  }
  const model = await buildModel(config, classes);
  const optimizer = buildOptimizer(config);
  const lossFn = buildLoss(config, classes);
  const transform = trainTransform(config);

  let state = freshState(config);
  if (config.pretrained !== undefined && !(options.resume && existsSync(paths.log))) {
    const loaded = applyPretrained(model, config.pretrained);
    progress.log(`Pretrained weights: ${loaded.loaded.length} tensors (${loaded.format} names) from ${config.pretrained}.`);
  }
  if (config.initFrom !== undefined && !(options.resume && existsSync(paths.log))) {
    loadModelWeights(model, config.initFrom, identity);
    progress.log(`Starting from the weights of ${config.initFrom}.`);
  }
  if (options.resume && existsSync(paths.log)) {
    state = await loadCheckpoint(paths.checkpoint, model, optimizer, identity, (line) => progress.log(line));
    truncateLog(paths.log, state);
    progress.log(`Resuming from epoch ${state.epoch + 1}, step ${state.stepInEpoch} (global step ${state.step}).`);
  }
  const baseSteps = stepsPerEpoch(config, data.train.length);
  const hook = options.replan;
  // A run that plans again keeps each epoch's length in its state: a re-plan changes the current epoch and the later ones,
  // and a resume trains the lengths its checkpoint holds.
  if (hook !== undefined && state.epochSteps === undefined) state.epochSteps = Array.from({ length: config.epochs }, () => baseSteps);
  const epochLength = (epoch: number) => state.epochSteps?.[epoch] ?? baseSteps;
  const plannedTotal = () => Array.from({ length: config.epochs }, (_, e) => epochLength(e)).reduce((a, b) => a + b, 0);
  const schedule: ScheduleOptions = {
    name: config.schedule,
    lr: config.lr,
    totalSteps: plannedTotal(),
    patience: config.patience,
    factor: config.factor,
  };
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const imagesPerStep = config.batchSize * config.accumulate;
  const startedAt = performance.now();
  let stepsThisProcess = 0;
  // The re-plans time the step loop of this process only: loading, the step, logging and the checkpoints inside the loop,
  // not the end of an epoch (batch-norm recalibration, validation, the best model), which budgetPlan reserves apart.
  // `loop` adds up the loop's time and steps; a re-plan takes what was added since its window opened: after step
  // `hook.timeFrom` for the first, at the re-plan before for a later one (or when this process started, if later).
  const loop = { seconds: 0, steps: 0 };
  let window: { seconds: number; steps: number } | undefined;
  let windowStart = 0;
  let nextReplan: number | undefined;
  if (hook !== undefined) {
    const last = state.replans?.at(-1);
    windowStart = last?.afterSteps ?? hook.timeFrom;
    nextReplan = hook.at(state.replans?.length ?? 0, schedule.totalSteps, last?.afterSteps ?? 0);
    if (state.step >= windowStart) window = { ...loop };
  }
  let mark = performance.now();
  const lap = () => {
    const now = performance.now();
    loop.seconds += (now - mark) / 1000;
    mark = now;
  };
  const replanned = () => (state.replans !== undefined && state.replans.length > 0 ? { replans: state.replans } : {});
  const checkpoint = async () => {
    try {
      await saveCheckpoint(paths.checkpoint, model, optimizer, identity, state);
    } catch (error) {
      if (!isAppError(error) || error.code !== 'WRITE_FAILED') throw error;
      throw new AppError('WRITE_FAILED', `${error.message} Then continue with: train --resume ${paths.root}`, { cause: error });
    }
  };
  const mutable = state as TrainState & { epochLossSum: number };

  try {
    while (state.epoch < config.epochs) {
      const epoch = state.epoch;
      const order = epochOrder(data.train.length, config.seed, epoch);
      const epochStart = performance.now();
      while (state.stepInEpoch < epochLength(epoch)) {
        if (stop.requested || (options.stopAfterSteps !== undefined && stepsThisProcess >= options.stopAfterSteps)) {
          await checkpoint();
          progress.done();
          return { state, stopped: 'interrupted', ...replanned() };
        }
        mark = performance.now();
        const lr = learningRate(schedule, state.step, state.schedule);
        (optimizer as unknown as { learningRate: number }).learningRate = lr;
        const t0 = performance.now();
        const { loss: stepLoss, grads } = await accumulateGradients(
          config.accumulate,
          async (a) => {
            const batch = await trainBatch(store, data.train, order, state.stepInEpoch * config.accumulate + a, config.batchSize, transform, config.seed, epoch);
            return tf.tidy(() => {
              const x = tf.tensor4d(batch.x, batch.shape);
              const y = tf.tensor4d(batch.y, [batch.shape[0], batch.shape[1], batch.shape[2], classes]);
              return tf.variableGrads(() => objective(lossFn, config, y, model.apply(x, { training: true }) as tf.Tensor | tf.Tensor[]), vars);
            });
          },
          (v) => {
            if (Number.isFinite(v)) return;
            throw new AppError(
              'NON_FINITE_LOSS',
              `The loss became ${v} at epoch ${epoch + 1}, step ${state.stepInEpoch + 1} (global step ${state.step + 1}); training stopped. ` +
                (resolveAtomicDir(paths.checkpoint) !== undefined
                  ? `The last good checkpoint stays in ${paths.checkpoint}${existsSync(paths.best) ? ` and the best model in ${paths.best}` : ''}. `
                  : 'No checkpoint had been saved yet. ') +
                `Lower --lr (now ${lr}) or check the data, then start a new run.`,
            );
          },
        );
        optimizer.applyGradients(grads);
        tf.dispose(Object.values(grads));
        state.step += 1;
        state.stepInEpoch += 1;
        state.lr = lr;
        state.rng = { seed: config.seed, epoch, step: state.stepInEpoch };
        mutable.epochLossSum += stepLoss;
        stepsThisProcess += 1;
        const elapsed = (performance.now() - startedAt) / 1000;
        const stepSeconds = (performance.now() - t0) / 1000;
        const remaining = schedule.totalSteps - state.step;
        progress.step({
          epoch,
          epochs: config.epochs,
          step: state.stepInEpoch,
          steps: epochLength(epoch),
          loss: stepLoss,
          imagesPerSecond: imagesPerStep / stepSeconds,
          eta: (elapsed / stepsThisProcess) * remaining,
        });
        appendJsonLine(paths.log, { type: 'step', epoch: epoch + 1, step: state.step, loss: stepLoss, lr, seconds: stepSeconds });
        lap();
        loop.steps += 1;
        if (hook !== undefined && window === undefined && state.step === windowStart) window = { ...loop };
        // Before the step's checkpoint, so that the checkpoint holds the new plan.
        if (hook !== undefined && window !== undefined && state.step === nextReplan) {
          const timedSteps = loop.steps - window.steps;
          const seconds = (loop.seconds - window.seconds) / timedSteps;
          const before = epochLength(epoch);
          const steps = Math.max(state.stepInEpoch + 1, hook.plan(seconds, { epoch, stepInEpoch: state.stepInEpoch }));
          // The schedule keeps its progress at this step and reaches its end at the new total (no jump in the rate).
          state.schedule = anchorSchedule(schedule, state.step, state.schedule);
          state.epochSteps = Array.from({ length: config.epochs }, (_, e) => (e < epoch ? epochLength(e) : steps));
          schedule.totalSteps = plannedTotal();
          state.replans = [
            ...(state.replans ?? []),
            { afterSteps: state.step, epoch: epoch + 1, timedSteps, stepSeconds: seconds, steps, totalSteps: schedule.totalSteps },
          ];
          const which = epoch + 1 === config.epochs ? `epoch ${epoch + 1} runs` : `epochs ${epoch + 1}-${config.epochs} run`;
          progress.log(
            `Budget: the last ${timedSteps} steps took ${seconds.toFixed(2)} s each, ` +
              `so ${which} ${steps} steps instead of ${before} (${schedule.totalSteps} steps in all).`,
          );
          window = { ...loop };
          nextReplan = hook.at(state.replans.length, schedule.totalSteps, state.step);
        }
        if (state.step % config.checkpointEvery === 0) await checkpoint();
        await faultPoint('after-step', state.step);
        lap();
      }

      // End of epoch: recalibrate batch norm, validate, keep the best model, update the schedule, checkpoint.
      if (config.bnRecalibration > 0) {
        await recalibrateBatchNorm(model, recalibrationBatches(store, data.train, order, config, transform, epoch));
      }
      const v = await validate(model, lossFn, store, data.val, config, classes);
      const record: EpochRecord = {
        epoch: epoch + 1,
        step: state.step,
        trainLoss: mutable.epochLossSum / epochLength(epoch),
        valLoss: v.loss,
        valDice: v.dice.mean,
        valDicePerClass: v.dice.perClass,
        lr: state.lr,
        seconds: (performance.now() - epochStart) / 1000,
      };
      state.history.push(record);
      appendJsonLine(paths.log, { type: 'epoch', ...record });
      // Best by validation loss, or by Dice with the loss breaking ties (an untrained model's empty masks tie with later ones).
      const monitored = config.bestBy === 'loss' ? v.loss : -v.dice.mean;
      const improved = isImprovement(state.best, monitored, v.loss);
      if (improved) {
        state.best = { value: monitored, epoch: epoch + 1, loss: v.loss };
        await saveModelDir(paths.best, model, identity, { 'best.json': JSON.stringify(record, null, 2) });
      }
      progress.log(
        `epoch ${epoch + 1}/${config.epochs}: train loss ${record.trainLoss.toFixed(4)}, val loss ${v.loss.toFixed(4)}, ` +
          `val Dice ${v.dice.mean.toFixed(4)} [${v.dice.perClass.map((d) => d.toFixed(3)).join(' ')}]${improved ? ' (best)' : ''}`,
      );
      if (config.schedule === 'plateau') state.schedule = plateauStep(schedule, state.schedule, v.loss);
      state.epoch += 1;
      state.stepInEpoch = 0;
      mutable.epochLossSum = 0;
      state.rng = { seed: config.seed, epoch: state.epoch, step: 0 };
      await checkpoint();
    }
  } finally {
    progress.done();
    optimizer.dispose();
    model.dispose();
  }
  return { state, stopped: 'finished', ...replanned() };
}
