import { combineProbabilities, normalizeWeights, parseTtaTransforms, withTtaArrays, type ArrayBatch, type CombineMode, type TtaTransform } from '@steel/ensemble';
import type { InferenceEngine } from './engine.ts';
import { InferenceError, echo } from './errors.ts';
import { checkImage, createGeometryFn, toInputBatch, type GeometryOptions, type InferenceImage, type Normalization, type ProbabilityMap } from './pipeline.ts';

/** One network of a {@link createPredictor} ensemble and how images are brought to it. */
export interface InferenceModel {
  readonly engine: InferenceEngine;
  /** Factor the model was trained at (the training images were area-resized by it); default 1. */
  readonly scale?: number;
  /** Instead of `scale`: the height the model works at, the width keeping the aspect ratio. */
  readonly workHeight?: number;
  /** Default `{ scale: 1 / 255 }`: pixels in [0, 1]. */
  readonly normalization?: Normalization;
  /** Ensemble weight (non-negative; normalised over the models); default equal weights. */
  readonly weight?: number;
  /** Used in error messages; default the engine's description. */
  readonly name?: string;
}

/** Options of {@link createPredictor}. */
export interface PredictorOptions {
  /** Test-time flips averaged with the plain prediction of each model (`'hflip,vflip'` or a list); default none. */
  readonly tta?: string | readonly string[];
  /** How the models' probabilities are combined; default `'mean'` (weighted). */
  readonly mode?: CombineMode;
  /** Widest piece a network sees, in columns at its working size; wider images are tiled. Default: no limit. */
  readonly tileWidth?: number;
  /** Columns shared by neighbouring tiles (half of it is dropped on each inner border); default 64. */
  readonly overlap?: number;
  /** Classes the caller expects (e.g. the data set's); checked against every model. */
  readonly classes?: number;
  /** Convert a grey image for an RGB model (repeat) and an RGB image for a grey model (channel mean); default true. */
  readonly convertChannels?: boolean;
}

/** Predicts per-class probabilities for images of any size; see {@link createPredictor}. */
export interface Predictor {
  /** Probabilities of each image at its own size. Images of one size are run as one batch. */
  predict(images: readonly InferenceImage[]): Promise<ProbabilityMap[]>;
  /** Classes predicted, when the models say. */
  readonly classes: number | undefined;
  /** Input channels: 3 if any model takes RGB, else 1 (the channels to decode images with). */
  readonly channels: 1 | 3;
  /** The test-time flips in use. */
  readonly tta: readonly TtaTransform[];
  /** Each model's engine description, e.g. `onnxruntime (cpu)`. */
  readonly engines: readonly string[];
}

function checkPositive(name: string, value: number | undefined): void {
  if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value) && value > 0)) {
    throw new InferenceError('INVALID_OPTION', `${name}: expected a positive number, got ${echo(value)}.`);
  }
}

/**
 * Creates the one inference path: each image (uint8 HWC, 1 or 3 channels, any size) is normalised, area-resized to each
 * model's working size, zero-padded to a multiple of 32 (after normalisation), cut into overlapping tiles when wider than
 * `tileWidth`, run by the model's engine (tfjs or ONNX Runtime), cropped, resized back to the image's size (bilinear on the
 * logits) and passed through the sigmoid; test-time flips and the weighted ensemble (from @steel/ensemble) act on the
 * probabilities at the image's size.
 * @throws {InferenceError} `INVALID_OPTION` for bad options, `CHANNEL_MISMATCH` for a model that takes neither 1 nor 3
 * channels, `CLASS_MISMATCH` when models disagree on classes or differ from `classes`; `predict` rejects with
 * `INVALID_IMAGE` for a malformed image, `CHANNEL_MISMATCH` for an image of other channels with `convertChannels: false`,
 * `CLASS_MISMATCH` or `BAD_OUTPUT` when an engine's output does not fit.
 * @example
 * const predictor = createPredictor([{ engine: createTfjsEngine(model), scale: 0.5 }], { tta: 'hflip' });
 * const [map] = await predictor.predict([{ data, height: 256, width: 1600, channels: 1 }]); // map.probs: [256, 1600, 4]
 */
export function createPredictor(models: readonly InferenceModel[], options: PredictorOptions = {}): Predictor {
  if (!Array.isArray(models) || models.length === 0) throw new InferenceError('INVALID_OPTION', `Expected at least one model, got ${echo(models)}.`);
  const { convertChannels = true, mode = 'mean' } = options;
  checkPositive('classes', options.classes);
  checkPositive('tileWidth', options.tileWidth);
  const tta = parseTtaTransforms(options.tta ?? []);
  const names = models.map((m, i) => {
    if (m === null || typeof m !== 'object' || typeof m.engine?.run !== 'function') {
      throw new InferenceError('INVALID_OPTION', `models[${i}]: expected { engine, scale?, normalization?, weight? }, got ${echo(m)}.`);
    }
    checkPositive(`models[${i}].scale`, m.scale);
    checkPositive(`models[${i}].workHeight`, m.workHeight);
    return m.name ?? m.engine.description;
  });
  models.forEach((m, i) => {
    const c = m.engine.inChannels;
    if (c !== undefined && c !== 1 && c !== 3) {
      throw new InferenceError('CHANNEL_MISMATCH', `${names[i]}: expected a model taking 1 (grey) or 3 (RGB) channels, got ${c}.`);
    }
  });
  let classes = options.classes;
  const source = options.classes === undefined ? undefined : 'the data';
  let classesFrom = source;
  const checkClasses = (found: number, name: string) => {
    if (classes === undefined) {
      classes = found;
      classesFrom = name;
    } else if (found !== classes) {
      throw new InferenceError('CLASS_MISMATCH', `${name} predicts ${found} classes but ${classesFrom} has ${classes}; use models trained for these classes.`);
    }
  };
  models.forEach((m, i) => {
    if (m.engine.classes !== undefined) checkClasses(m.engine.classes, names[i]!);
  });
  const weights = models.some((m) => m.weight !== undefined) ? models.map((m) => m.weight ?? 1) : undefined;
  if (weights) normalizeWeights(weights, models.length);
  const fns = models.map((m, i) => {
    const geometry: GeometryOptions = {
      ...(m.scale === undefined ? {} : { scale: m.scale }),
      ...(m.workHeight === undefined ? {} : { workHeight: m.workHeight }),
      ...(options.tileWidth === undefined ? {} : { tileWidth: options.tileWidth }),
      ...(options.overlap === undefined ? {} : { overlap: options.overlap }),
    };
    const fn = createGeometryFn(m.engine, { ...geometry, checkClasses: (found) => checkClasses(found, names[i]!) });
    return tta.length > 0 ? withTtaArrays(fn, { transforms: tta }) : fn;
  });
  const channels: 1 | 3 = models.some((m) => m.engine.inChannels === 3) ? 3 : 1;

  async function predictGroup(group: readonly InferenceImage[]): Promise<ArrayBatch> {
    const outs: Float32Array[] = [];
    let shape: ArrayBatch['shape'] | undefined;
    for (let i = 0; i < models.length; i++) {
      const m = models[i]!;
      const want = m.engine.inChannels ?? group[0]!.channels;
      if (!convertChannels && group[0]!.channels !== want) {
        throw new InferenceError('CHANNEL_MISMATCH', `${names[i]} takes ${want}-channel images, got a ${group[0]!.channels}-channel image; decode images with ${want} channel(s).`);
      }
      const out = await fns[i]!(toInputBatch(group, want, m.normalization));
      outs.push(out.data);
      shape = out.shape;
    }
    const data = outs.length === 1 ? outs[0]! : combineProbabilities(outs, { mode, ...(weights ? { weights } : {}) });
    return { data, shape: shape! };
  }

  return {
    get classes() {
      return classes;
    },
    channels,
    tta,
    engines: models.map((m) => m.engine.description),
    async predict(images) {
      if (!Array.isArray(images)) throw new InferenceError('INVALID_IMAGE', `Expected an array of images, got ${echo(images)}.`);
      images.forEach((im, i) => checkImage(im, `images[${i}]`));
      const results: ProbabilityMap[] = [];
      for (let start = 0; start < images.length; ) {
        const first = images[start]!;
        let end = start + 1;
        while (end < images.length && images[end]!.height === first.height && images[end]!.width === first.width && images[end]!.channels === first.channels) end++;
        const { data, shape } = await predictGroup(images.slice(start, end));
        const [n, h, w, c] = shape;
        const per = h * w * c;
        for (let i = 0; i < n; i++) results.push({ probs: data.slice(i * per, (i + 1) * per), height: h, width: w, classes: c });
        start = end;
      }
      return results;
    },
  };
}
