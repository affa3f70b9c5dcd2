// Loading a tfjs layers model in the browser and predicting probability maps for images of any size.
import * as tf from '@tensorflow/tfjs-core';
import { loadLayersModel, type LayersModel } from '@tensorflow/tfjs-layers';
import { registerSteelLayers } from '@steel/models';
import type { ModelInfo } from '../shared/api.ts';
import { planTiles, type TilePlan } from '../shared/tiling.ts';
import type { ProbabilityMap } from '../shared/analysis.ts';

/** A loaded model and how images are brought to it. */
export interface LoadedModel {
  readonly info: ModelInfo;
  readonly model: LayersModel;
  /** Input channels: 1 (grey) or 3 (RGB). */
  readonly inChannels: number;
  readonly classes: number;
  /** Fixed input height/width of the model, or null when it takes any multiple of 32. */
  readonly fixedHeight: number | null;
  readonly fixedWidth: number | null;
  readonly parameters: number;
  readonly loadMs: number;
}

/** A model that cannot be used, with the reason shown on the page. */
export class ModelLoadError extends Error {
  override readonly name = 'ModelLoadError';
}

/**
 * Loads the model served under `/models/<id>/model.json` and checks that it is an image segmentation model
 * (NHWC input with 1 or 3 channels, one `[batch, height, width, classes]` output).
 * @throws {ModelLoadError} naming the folder and what is wrong with it.
 */
export async function loadModel(info: ModelInfo): Promise<LoadedModel> {
  const where = `The model folder ${info.dir}`;
  if (!info.hasModelJson) {
    throw new ModelLoadError(`${where} is not a model: it has no model.json. Pick a training run's best/ folder, or a folder saved with model.save().`);
  }
  registerSteelLayers();
  const started = performance.now();
  let model: LayersModel;
  try {
    model = await loadLayersModel(`/models/${encodeURIComponent(info.id)}/model.json`);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new ModelLoadError(`${where} does not hold a loadable TensorFlow.js layers model: ${why.slice(0, 300)}`);
  }
  const input = model.inputs[0]?.shape ?? [];
  const output = model.outputs[0]?.shape ?? [];
  const inChannels = input[3];
  const classes = output[3];
  const fail = (what: string) => {
    model.dispose();
    return new ModelLoadError(`${where} is not a segmentation model: ${what}.`);
  };
  if (model.inputs.length !== 1 || input.length !== 4) throw fail(`expected one image input [batch, height, width, channels], got ${model.inputs.length} input(s) of shape [${input.join(', ')}]`);
  if (inChannels !== 1 && inChannels !== 3) throw fail(`expected 1 or 3 input channels, got ${String(inChannels)}`);
  if (output.length !== 4 || typeof classes !== 'number' || classes < 1) throw fail(`expected an output [batch, height, width, classes], got [${output.join(', ')}]`);
  return {
    info,
    model,
    inChannels,
    classes,
    fixedHeight: input[1] ?? null,
    fixedWidth: input[2] ?? null,
    parameters: model.countParams(),
    loadMs: performance.now() - started,
  };
}

/** How images are brought to a model: the height it works at and the widest tile. */
export interface InputPolicy {
  /** Height the model was trained at (stored height times the training scale); null: the image's own height. */
  readonly workHeight: number | null;
  /** Widest tile, in columns at the working height. */
  readonly tileWidth: number;
}

/** The tiles of an image of `height x width` for a model. */
export function planFor(loaded: LoadedModel, policy: InputPolicy, height: number, width: number): TilePlan {
  const targetHeight = loaded.fixedHeight ?? policy.workHeight ?? height;
  return planTiles(height, width, { targetHeight, tileWidth: loaded.fixedWidth ?? policy.tileWidth });
}

/**
 * Predicts the probabilities `[height, width, classes]` of an RGBA image (as `ImageData` gives it) at its own size:
 * converted to the model's channels (grey by luminance), scaled to [0, 1], resized to the working height, padded to a
 * multiple of 32, predicted tile by tile, stitched, cropped and resized back.
 */
export async function predictImage(loaded: LoadedModel, image: ImageData, plan: TilePlan): Promise<ProbabilityMap> {
  const { height, width } = image;
  const out = tf.tidy(() => {
    const rgb = tf.div(tf.cast(tf.browser.fromPixels(image, 3), 'float32'), 255) as tf.Tensor3D;
    const x: tf.Tensor3D = loaded.inChannels === 1 ? (tf.sum(tf.mul(rgb, tf.tensor1d([0.2126, 0.7152, 0.0722])), -1, true) as tf.Tensor3D) : rgb;
    let batch = tf.expandDims(x, 0) as tf.Tensor4D;
    const { scaledHeight: sh, scaledWidth: sw, paddedHeight: ph } = plan;
    if (sh !== height || sw !== width) {
      // Shrinking by more than 2: average whole blocks first, so the bilinear step does not alias.
      const k = Math.floor(Math.min(height / sh, width / sw));
      if (k >= 2) batch = tf.avgPool(batch, k, k, 'valid') as tf.Tensor4D;
      batch = tf.image.resizeBilinear(batch, [sh, sw], false, true);
    }
    const pieces: tf.Tensor4D[] = [];
    for (const tile of plan.tiles) {
      const fixedW = loaded.fixedWidth ?? tile.paddedWidth;
      const part = tf.slice(batch, [0, 0, tile.start, 0], [1, sh, tile.width, -1]);
      const padded = tf.pad(part, [
        [0, 0],
        [0, Math.max(ph, loaded.fixedHeight ?? 0) - sh],
        [0, Math.max(fixedW, tile.paddedWidth) - tile.width],
        [0, 0],
      ]) as tf.Tensor4D;
      const raw = loaded.model.predict(padded);
      const logits = (Array.isArray(raw) ? raw[0]! : raw) as tf.Tensor4D;
      const probs = tf.sigmoid(logits) as tf.Tensor4D;
      pieces.push(tf.slice(probs, [0, 0, tile.keepFrom - tile.start, 0], [1, sh, tile.keepTo - tile.keepFrom, -1]));
    }
    let probs = pieces.length === 1 ? pieces[0]! : (tf.concat(pieces, 2) as tf.Tensor4D);
    if (sh !== height || sw !== width) probs = tf.image.resizeBilinear(probs, [height, width], false, true);
    return tf.squeeze(probs, [0]) as tf.Tensor3D;
  });
  const data = (await out.data()) as Float32Array;
  const classes = out.shape[2];
  out.dispose();
  return { probs: data, height, width, classes };
}
