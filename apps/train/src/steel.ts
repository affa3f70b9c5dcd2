// The app's bindings to the model, loss and optimizer packages, chosen from the config.
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import * as losses from '@steel/losses';
import { architectures, createModel, encoders, registerSteelLayers } from '@steel/models';
import type { Size, TrainConfig } from './config.ts';
import { AppError } from './errors.ts';

/** Checks architecture and encoder names against the model registry, listing the valid ones. */
export function checkModelNames(config: Pick<TrainConfig, 'architecture' | 'encoder'>): void {
  if (!Object.hasOwn(architectures, config.architecture)) {
    throw new AppError(
      'UNKNOWN_NAME',
      `Unknown architecture "${config.architecture.slice(0, 80)}". Expected one of: ${Object.keys(architectures).join(', ')}.`,
    );
  }
  if (!Object.hasOwn(encoders, config.encoder)) {
    throw new AppError('UNKNOWN_NAME', `Unknown encoder "${config.encoder.slice(0, 80)}". Expected one of: ${Object.keys(encoders).join(', ')}.`);
  }
}

/** Builds the configured network (any input size that is a multiple of 32). */
export async function buildModel(config: TrainConfig, classes: number, _inputSize?: Size): Promise<LayersModel> {
  checkModelNames(config);
  registerSteelLayers();
  return createModel({
    architecture: config.architecture as keyof typeof architectures,
    encoder: config.encoder as keyof typeof encoders,
    inChannels: config.inChannels,
    classes,
    seed: config.seed,
  });
}

/** The configured optimizer. */
export function buildOptimizer(config: Pick<TrainConfig, 'optimizer' | 'lr'>): tf.Optimizer {
  switch (config.optimizer) {
    case 'adam':
      return tf.train.adam(config.lr);
    case 'sgd':
      return tf.train.momentum(config.lr, 0.9);
    case 'rmsprop':
      return tf.train.rmsprop(config.lr);
  }
}

type LossFn = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar;

/** The configured loss `(yTrue, yPredLogits) => scalar`, from the @steel/losses registry. */
export function buildLoss(config: Pick<TrainConfig, 'loss' | 'posWeight'>, classes: number): LossFn {
  const posWeight = config.posWeight.length === classes ? config.posWeight : Array.from({ length: classes }, () => 1);
  const create = (losses as Record<string, unknown>)['createLoss'] as ((name: string, options?: object) => LossFn) | undefined;
  if (create !== undefined) return create(config.loss, { posWeight });
  // Until the registry is available: BCE with logits and per-class positive weights.
  if (config.loss !== 'bce') throw new AppError('UNKNOWN_NAME', `Unknown loss "${config.loss}". Expected one of: bce.`);
  const w = tf.tensor1d(posWeight);
  return (yTrue, logits) =>
    tf.tidy(() => {
      // (1 - y) * x + (1 + (w - 1) * y) * log(1 + exp(-x)), stable: log(1 + exp(-|x|)) + max(-x, 0).
      const lw = tf.add(1, tf.mul(tf.sub(w, 1), yTrue));
      const softplusNeg = tf.add(tf.log1p(tf.exp(tf.neg(tf.abs(logits)))), tf.relu(tf.neg(logits)));
      return tf.mean(tf.add(tf.mul(tf.sub(1, yTrue), logits), tf.mul(lw, softplusNeg))) as tf.Scalar;
    });
}

/** Probabilities `[B, H, W, classes]` (sigmoid of the logits) for an NHWC batch. */
export function predictProbabilities(model: LayersModel, x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const out = model.predict(x);
    const logits = Array.isArray(out) ? out[0]! : out;
    return tf.sigmoid(logits) as tf.Tensor4D;
  });
}
