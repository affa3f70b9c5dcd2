// Precise batch-norm statistics: replaces the exponential moving averages of every BatchNormalization layer with the
// plain average of its batch statistics over a few batches.
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { ModelsError } from './errors.ts';

interface MomentumLayer {
  momentum: number;
}

/** The model's BatchNormalization layers (nested models included). */
function batchNormLayers(model: LayersModel): MomentumLayer[] {
  const found: MomentumLayer[] = [];
  const visit = (layers: readonly { getClassName(): string; layers?: unknown }[]) => {
    for (const layer of layers) {
      if (layer.getClassName() === 'BatchNormalization') found.push(layer as unknown as MomentumLayer);
      else if (Array.isArray(layer.layers)) visit(layer.layers as typeof layers);
    }
  };
  visit(model.layers);
  return found;
}

/**
 * Recomputes the moving mean and variance of every BatchNormalization layer as the average of its batch statistics
 * over `batches` (forward passes in training mode; weights are not changed). With momentum 0.1 (PyTorch terms) the moving
 * statistics of a model trained for a few dozen steps still carry much of their initial values (mean 0, variance 1): far
 * from the real statistics where activations are small, e.g. a stem fed [0, 1] grey images. Inference then differs from
 * what training saw; recalibrating before validation, saving or prediction removes that gap. With one batch, inference
 * on that batch equals the training-mode forward pass.
 * Returns the number of layers recalibrated.
 * @throws {ModelsError} `INVALID_OPTION` when `batches` yields no batch.
 * @example await recalibrateBatchNorm(model, trainingBatches.slice(0, 8));
 */
export async function recalibrateBatchNorm(
  model: LayersModel,
  batches: Iterable<tf.Tensor4D> | AsyncIterable<tf.Tensor4D>,
): Promise<number> {
  const layers = batchNormLayers(model);
  const saved = layers.map((layer) => layer.momentum);
  let k = 0;
  try {
    for await (const x of batches) {
      k += 1;
      // tfjs-layers: moving = moving * momentum + batch * (1 - momentum); 1 - 1/k keeps the running mean of k batches.
      for (const layer of layers) layer.momentum = 1 - 1 / k;
      tf.tidy(() => {
        model.apply(x, { training: true });
      });
    }
  } finally {
    layers.forEach((layer, i) => (layer.momentum = saved[i]!));
  }
  if (k === 0) throw new ModelsError('INVALID_OPTION', 'Expected at least one batch to recalibrate batch norm with, got none.');
  return layers.length;
}
