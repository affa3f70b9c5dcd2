import { existsSync, readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { recalibrateBatchNorm } from '@steel/models';
import type { ImageEntry } from '@steel/data';
import { loadCheckpoint, saveCheckpoint, saveModelDir, type EpochRecord, type ModelIdentity, type TrainState } from './checkpoint.ts';
import type { TrainConfig } from './config.ts';
import { epochOrder, SampleStore, scaledSize, stackBatch, trainBatch, trainTransform, type PreparedData } from './data.ts';
import { AppError, isAppError } from './errors.ts';
import { faultPoint } from './fault.ts';
import type { Progress } from './progress.ts';
import { appendJsonLine, resolveAtomicDir, writeFileAtomic, type RunPaths } from './run-dir.ts';
import { learningRate, plateauStep, type ScheduleOptions } from './schedule.ts';
import { scoreMasks, type DiceScore } from './scoring.ts';
import { objective, splitOutputs } from './head.ts';
import { applyPretrained, buildLoss, buildModel, buildOptimizer } from './steel.ts';

/** What a finished (or stopped) training returns. */
export interface TrainResult {
  state: TrainState;
  stopped: 'finished' | 'interrupted';
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
}

export function identityOf(config: TrainConfig, classes: number): ModelIdentity {
  return {
    architecture: config.architecture,
    encoder: config.encoder,
    inChannels: config.inChannels,
    classes,
    ...(config.classificationHead ? { classificationHead: true } : {}),
  };
}

/** Steps (optimizer updates) per epoch. */
export function stepsPerEpoch(config: TrainConfig, trainCount: number): number {
  return config.steps ?? Math.max(1, Math.floor(trainCount / (config.batchSize * config.accumulate)));
}

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

/** Validation: loss and competition Dice over the validation images at the training scale (full images, padded). */
export async function validate(
  model: LayersModel,
  lossFn: (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar,
  store: SampleStore,
  entries: readonly ImageEntry[],
  config: TrainConfig,
  classes: number,
): Promise<{ loss: number; dice: DiceScore }> {
  let lossSum = 0;
  const preds: Uint8Array[] = [];
  const truths: Uint8Array[] = [];
  const batchSize = Math.max(1, config.batchSize);
  let shape = { height: 0, width: 0 };
  for (let i = 0; i < entries.length; i += batchSize) {
    const samples = await Promise.all(entries.slice(i, i + batchSize).map((e) => store.load(e)));
    const batch = stackBatch(samples);
    const first = samples[0]!;
    shape = { height: first.height, width: first.width };
    const { loss, probs } = tf.tidy(() => {
      const x = tf.tensor4d(batch.x, batch.shape);
      const y = tf.tensor4d(batch.y, [batch.shape[0], batch.shape[1], batch.shape[2], classes]);
      const out = model.predict(x) as tf.Tensor | tf.Tensor[];
      return { loss: objective(lossFn, config, y, out), probs: tf.sigmoid(splitOutputs(out).masks) };
    });
    lossSum += (await loss.data())[0]! * samples.length;
    const p = await probs.data();
    tf.dispose([loss, probs]);
    const [, H, W] = batch.shape;
    for (let b = 0; b < samples.length; b++) {
      const s = samples[b]!;
      const pred = new Uint8Array(s.height * s.width * classes);
      for (let r = 0; r < s.height; r++) {
        for (let c = 0; c < s.width; c++) {
          for (let k = 0; k < classes; k++) {
            pred[(r * s.width + c) * classes + k] = p[((b * H + r) * W + c) * classes + k]! > config.threshold ? 1 : 0;
          }
        }
      }
      preds.push(pred);
      truths.push(s.mask);
    }
  }
  return { loss: lossSum / Math.max(1, entries.length), dice: scoreMasks(preds, truths, { ...shape, classes }) };
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
  if (options.resume && existsSync(paths.log)) {
    state = await loadCheckpoint(paths.checkpoint, model, optimizer, identity, (line) => progress.log(line));
    truncateLog(paths.log, state);
    progress.log(`Resuming from epoch ${state.epoch + 1}, step ${state.stepInEpoch} (global step ${state.step}).`);
  }
  const perEpoch = stepsPerEpoch(config, data.train.length);
  const totalSteps = perEpoch * config.epochs;
  const schedule: ScheduleOptions = {
    name: config.schedule,
    lr: config.lr,
    totalSteps,
    patience: config.patience,
    factor: config.factor,
  };
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const imagesPerStep = config.batchSize * config.accumulate;
  const startedAt = performance.now();
  let stepsThisProcess = 0;
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
      while (state.stepInEpoch < perEpoch) {
        if (stop.requested || (options.stopAfterSteps !== undefined && stepsThisProcess >= options.stopAfterSteps)) {
          await checkpoint();
          progress.done();
          return { state, stopped: 'interrupted' };
        }
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
        const remaining = totalSteps - state.step;
        progress.step({
          epoch,
          epochs: config.epochs,
          step: state.stepInEpoch,
          steps: perEpoch,
          loss: stepLoss,
          imagesPerSecond: imagesPerStep / stepSeconds,
          eta: (elapsed / stepsThisProcess) * remaining,
        });
        appendJsonLine(paths.log, { type: 'step', epoch: epoch + 1, step: state.step, loss: stepLoss, lr, seconds: stepSeconds });
        if (state.step % config.checkpointEvery === 0) await checkpoint();
        await faultPoint('after-step', state.step);
      }

      // End of epoch: recalibrate batch norm, validate, keep the best model, update the schedule, checkpoint.
      if (config.bnRecalibration > 0) {
        await recalibrateBatchNorm(model, recalibrationBatches(store, data.train, order, config, transform, epoch));
      }
      const v = await validate(model, lossFn, store, data.val, config, classes);
      const record: EpochRecord = {
        epoch: epoch + 1,
        step: state.step,
        trainLoss: mutable.epochLossSum / perEpoch,
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
  return { state, stopped: 'finished' };
}

/**
 * Whether an epoch with `monitored` (validation loss, or minus the validation Dice for `--best-by dice`; lower is better)
 * and validation `loss` beats the best so far. Equal monitored values (an untrained model's empty masks tie with later
 * ones on Dice) go to the lower loss.
 */
export function isImprovement(best: TrainState['best'], monitored: number, loss: number): boolean {
  return (
    best === null ||
    monitored < best.value - 1e-12 ||
    (Math.abs(monitored - best.value) <= 1e-12 && loss < (best.loss ?? Infinity))
  );
}

/**
 * Gradient accumulation: the mean loss and the mean gradients of `k` batches (one optimizer update of k batches equals
 * one of a batch k times larger, for a model without batch norm). `batch(a)` gives batch a's loss and gradients; `check`
 * sees each loss before anything is summed (it throws to stop).
 */
export async function accumulateGradients(
  k: number,
  batch: (a: number) => Promise<{ value: tf.Scalar; grads: tf.NamedTensorMap }> | { value: tf.Scalar; grads: tf.NamedTensorMap },
  check: (loss: number) => void = () => {},
): Promise<{ loss: number; grads: tf.NamedTensorMap }> {
  let sum: tf.NamedTensorMap | undefined;
  let loss = 0;
  try {
    for (let a = 0; a < k; a++) {
      const { value, grads } = await batch(a);
      const v = (await value.data())[0]!;
      value.dispose();
      try {
        check(v);
      } catch (error) {
        tf.dispose(Object.values(grads));
        throw error;
      }
      loss += v / k;
      if (sum === undefined) sum = grads;
      else {
        const prev: tf.NamedTensorMap = sum;
        sum = tf.tidy(() => Object.fromEntries(Object.keys(prev).map((key) => [key, tf.add(prev[key]!, grads[key]!)])));
        tf.dispose([...Object.values(prev), ...Object.values(grads)]);
      }
    }
  } catch (error) {
    if (sum) tf.dispose(Object.values(sum));
    throw error;
  }
  if (k === 1) return { loss, grads: sum! };
  const summed = sum!;
  const grads = tf.tidy(() => Object.fromEntries(Object.keys(summed).map((key) => [key, tf.div(summed[key]!, k)])));
  tf.dispose(Object.values(summed));
  return { loss, grads };
}

/**
 * The first `bnRecalibration` training batches of the epoch (same images and augmentation as training saw), as tensors
 * disposed once used.
 */
async function* recalibrationBatches(
  store: SampleStore,
  entries: readonly ImageEntry[],
  order: readonly number[],
  config: TrainConfig,
  transform: ReturnType<typeof trainTransform>,
  epoch: number,
): AsyncGenerator<tf.Tensor4D> {
  const count = Math.min(config.bnRecalibration, Math.max(1, Math.ceil(entries.length / config.batchSize)));
  for (let i = 0; i < count; i++) {
    const batch = await trainBatch(store, entries, order, i, config.batchSize, transform, config.seed, epoch);
    const x = tf.tensor4d(batch.x, batch.shape);
    try {
      yield x;
    } finally {
      x.dispose();
    }
  }
}

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


/** Median seconds of one optimizer step of the configured model on a random batch of the given shape (a throwaway model). */
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
    return Math.min(await step(), await step());
  } finally {
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
  }
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
): Promise<{ epochs: number; steps: number } | undefined> {
  if (config.budgetMinutes === undefined) return undefined;
  const stepSeconds = await measureStep(config, classes, [config.batchSize, sizes.train.height, sizes.train.width, config.inChannels]);
  const plan = budgetPlan({ ...config, budgetMinutes: config.budgetMinutes }, counts, sizes, stepSeconds, performance.now() / 1000);
  log(
    `Budget ${config.budgetMinutes} min: one step of ${config.batchSize} images takes ${stepSeconds.toFixed(2)} s here, ` +
      `so training runs ${plan.epochs} epoch(s) of ${plan.steps} steps (a full pass is ${stepsPerEpoch(config, counts.train)}).`,
  );
  return plan;
}

/**
 * The plan of {@link planBudget} for a measured `stepSeconds` when `elapsedSeconds` of the budget are gone: `config.epochs`
 * epochs, the steps per epoch that fill what is left after validation (batch-norm recalibration included), the final
 * predictions and 25 s of fixed costs. At least one step.
 */
export function budgetPlan(
  config: Pick<TrainConfig, 'epochs' | 'batchSize' | 'accumulate' | 'bnRecalibration'> & { budgetMinutes: number },
  counts: { train: number; val: number; test: number },
  sizes: { train: { height: number; width: number }; eval: { height: number; width: number } },
  stepSeconds: number,
  elapsedSeconds: number,
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
  const steps = Math.max(1, Math.floor((left - epochs * epochEvalSeconds) / (epochs * stepSeconds * config.accumulate)));
  return { epochs, steps };
}
