// Builds what training runs from the config with the @steel packages: the model (its names checked against the model
// registry, pretrained weights loaded), the loss and the optimizer; and the model's probabilities for a batch.
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { createAdam } from '@steel/backend';
import { createLoss, isLossName, losses, type LossFn } from '@steel/losses';
import { architectures, createModel, encoders, loadPytorchWeights, registerSteelLayers, type PytorchWeightsReport } from '@steel/models';
import type { TrainConfig } from './config.ts';
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

/** Checks every registry name of a config (architecture, encoder, loss) before any work starts. */
export function checkNames(config: Pick<TrainConfig, 'architecture' | 'encoder' | 'loss'>): void {
  checkModelNames(config);
  if (!isLossName(config.loss)) {
    throw new AppError('UNKNOWN_NAME', `Unknown loss "${config.loss.slice(0, 80)}". Expected one of: ${Object.keys(losses).join(', ')}.`);
  }
}

/** Builds the configured network (any input size that is a multiple of 32). */
export async function buildModel(config: TrainConfig, classes: number): Promise<LayersModel> {
  checkModelNames(config);
  registerSteelLayers();
  const model = createModel({
    architecture: config.architecture as keyof typeof architectures,
    encoder: config.encoder as keyof typeof encoders,
    inChannels: config.inChannels,
    classes,
    seed: config.seed,
    headBias: config.headBias,
    // No dropout: its random masks would make a resumed run differ from an uninterrupted one.
    ...(config.classificationHead ? { classificationHead: { dropout: 0 } } : {}),
  });
  return model;
}

/**
 * Loads `--pretrained` weights into a fresh model: a `.safetensors` file with torchvision ResNet names (the encoder only;
 * an ImageNet 3-channel stem is summed into a 1-channel one) or the segmentation_models library's full-model names.
 * @throws {AppError} DATA_NOT_FOUND when the file is not there; CHECKPOINT when its tensors do not fit the model (the
 *   message lists the missing, unexpected and mis-shaped ones).
 */
export function applyPretrained(model: LayersModel, file: string): PytorchWeightsReport {
  if (!existsSync(file) || !statSync(file).isFile()) {
    throw new AppError(
      'DATA_NOT_FOUND',
      `Pretrained weights ${file} do not exist. Pass --pretrained with a .safetensors file (torchvision ResNet names such as ` +
        `conv1.weight, or the segmentation_models full-model names such as encoder.conv1.weight).`,
    );
  }
  try {
    return loadPytorchWeights(model, new Uint8Array(readFileSync(file)));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new AppError('CHECKPOINT', `Pretrained weights ${file} do not fit the model: ${message}`, { cause: error });
  }
}

/** The configured optimizer (Adam updates each variable in one kernel on wasm and cpu; same results as tf.train.adam). */
export function buildOptimizer(config: Pick<TrainConfig, 'optimizer' | 'lr'>): tf.Optimizer {
  switch (config.optimizer) {
    case 'adam':
      return createAdam(config.lr);
    case 'sgd':
      return tf.train.momentum(config.lr, 0.9);
    case 'rmsprop':
      return tf.train.rmsprop(config.lr);
  }
}

/** The configured loss `(yTrue, yPredLogits) => scalar`, from the @steel/losses registry (positive weights where it takes them). */
export function buildLoss(config: Pick<TrainConfig, 'loss' | 'posWeight'>, classes: number): LossFn {
  if (!isLossName(config.loss)) {
    throw new AppError('UNKNOWN_NAME', `Unknown loss "${config.loss.slice(0, 80)}". Expected one of: ${Object.keys(losses).join(', ')}.`);
  }
  const posWeight = config.posWeight.length === classes ? config.posWeight : Array.from({ length: classes }, () => 1);
  if (config.loss === 'bce' || config.loss === 'bce-weighted-dice') return createLoss(config.loss, { posWeight });
  return createLoss(config.loss);
}
