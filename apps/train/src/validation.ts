// The end of an epoch: batch-norm recalibration batches, validation (loss and competition Dice), and whether the
// epoch beats the best so far.
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { ImageEntry } from '@steel/data';
import type { TrainState } from './checkpoint.ts';
import type { TrainConfig } from './config.ts';
import { SampleStore, stackBatch, trainBatch, trainTransform } from './data.ts';
import { objective, splitOutputs } from './head.ts';
import { scoreMasks, type DiceScore } from './scoring.ts';

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
 * The first `bnRecalibration` training batches of the epoch (same images and augmentation as training saw), as tensors
 * disposed once used.
 */
export async function* recalibrationBatches(
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
