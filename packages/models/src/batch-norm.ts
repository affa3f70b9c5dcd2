// Precise batch-norm statistics: replaces the exponential moving averages of every BatchNormalization layer with the
// plain average of its batch statistics over a few batches.
import * as tf from '@tensorflow/tfjs-core';
import { layers, type LayersModel, type LayerVariable } from '@tensorflow/tfjs-layers';
import { ModelsError } from './errors.ts';

/**
 * The kernel `@steel/backend` registers for training-mode batch norm (statistics, normalisation and its gradient in two
 * passes each, instead of tf.moments and FusedBatchNorm: ~30 kernels a layer). Models use it where the current backend
 * has it and fall back to tfjs-layers' own computation elsewhere.
 */
export const BATCH_NORM_TRAINING_KERNEL = 'SteelBatchNormTraining';

type BatchNormLayer = InstanceType<typeof layers.Layer>;
type LayerArgs = NonNullable<Parameters<typeof layers.batchNormalization>[0]>;
type Kwargs = Parameters<BatchNormLayer['call']>[1];

/** What tfjs-layers' BatchNormalization keeps (private in its typings). */
interface BatchNormState {
  axis: number;
  momentum: number;
  epsilon: number;
  gamma: LayerVariable | null;
  beta: LayerVariable | null;
  movingMean: LayerVariable;
  movingVariance: LayerVariable;
}

let fusedClass: (new (args: LayerArgs) => BatchNormLayer) | undefined;

/**
 * tfjs-layers' `BatchNormalization` (same class name, weights and serialised form: saved models load as the stock layer)
 * whose training-mode call runs `SteelBatchNormTraining` when the backend has it. The moving statistics are updated as
 * tfjs-layers does: moving ← moving − (moving − batch) · (1 − momentum).
 */
function fusedBatchNormalization(): new (args: LayerArgs) => BatchNormLayer {
  if (fusedClass) return fusedClass;
  const Stock = Object.getPrototypeOf(layers.batchNormalization({ name: 'steel_batch_norm_probe' })).constructor as new (args: LayerArgs) => BatchNormLayer;
  fusedClass = class extends Stock {
    override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
      const state = this as unknown as BatchNormState;
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const fused =
        kwargs?.['training'] === true &&
        state.gamma !== null &&
        state.beta !== null &&
        (state.axis === -1 || state.axis === x.rank - 1) &&
        x.dtype === 'float32' &&
        tf.getKernel(BATCH_NORM_TRAINING_KERNEL, tf.getBackend()) !== undefined &&
        tf.getGradient(BATCH_NORM_TRAINING_KERNEL) !== undefined;
      if (!fused) return super.call(inputs, kwargs);
      return tf.tidy(() => {
        const [y, mean, variance] = tf.engine().runKernel(
          BATCH_NORM_TRAINING_KERNEL,
          { x, scale: state.gamma!.read(), offset: state.beta!.read() },
          { varianceEpsilon: state.epsilon },
        ) as tf.Tensor[];
        const decay = 1 - state.momentum;
        for (const [variable, value] of [[state.movingMean, mean!], [state.movingVariance, variance!]] as const) {
          const current = variable.read();
          variable.write(tf.sub(current, tf.mul(tf.sub(current, value), decay)));
        }
        return y!;
      });
    }
  };
  return fusedClass;
}

/** A BatchNormalization layer that trains through `SteelBatchNormTraining` where the backend has it (else as tfjs-layers). */
export function batchNormalization(args: LayerArgs): BatchNormLayer {
  return new (fusedBatchNormalization())(args);
}

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
