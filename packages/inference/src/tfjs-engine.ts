import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { ArrayBatch } from '@steel/ensemble';
import type { InferenceEngine } from './engine.ts';
import { InferenceError } from './errors.ts';

/** The index of the model's segmentation output: the first output of rank 4 (a classification head's output has rank 2). */
function segmentationOutput(model: LayersModel): number {
  const index = model.outputs.findIndex((o) => o.shape.length === 4);
  if (index < 0) {
    const shapes = model.outputs.map((o) => `[${o.shape.join(', ')}]`).join(', ');
    throw new InferenceError('BAD_OUTPUT', `Expected a model with an output [batch, height, width, classes], got outputs ${shapes}.`);
  }
  return index;
}

/**
 * Creates an {@link InferenceEngine} that runs a tfjs layers model on the current tfjs backend (cpu, wasm, webgl, webgpu,
 * tensorflow). The model stays owned by the caller: `dispose()` does not dispose it.
 * @throws {InferenceError} `BAD_OUTPUT` if the model has no `[batch, height, width, classes]` output.
 * @example const engine = createTfjsEngine(await tf.loadLayersModel('/models/unet/model.json'));
 */
export function createTfjsEngine(model: LayersModel): InferenceEngine {
  const output = segmentationOutput(model);
  const inChannels = model.inputs[0]?.shape[3];
  const classes = model.outputs[output]!.shape[3];
  return {
    kind: 'tfjs',
    get description() {
      return `tfjs (${tf.getBackend()})`;
    },
    inChannels: typeof inChannels === 'number' ? inChannels : undefined,
    classes: typeof classes === 'number' ? classes : undefined,
    async run(batch: ArrayBatch): Promise<ArrayBatch> {
      const logits = tf.tidy(() => {
        const out = model.predict(tf.tensor4d(batch.data, [...batch.shape]));
        return Array.isArray(out) ? out[output]! : out;
      });
      try {
        const [n, h, w, c] = logits.shape as [number, number, number, number];
        const data = await logits.data();
        return { data: data instanceof Float32Array ? data : Float32Array.from(data), shape: [n, h, w, c] };
      } finally {
        logits.dispose();
      }
    },
    async dispose() {},
  };
}
