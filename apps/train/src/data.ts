import { existsSync, statSync } from 'node:fs';
import { decodeMask, openKaggleDataset, readImage, type ImageEntry, type KaggleDataset } from '@steel/data';
import {
  brightnessContrast,
  compose,
  createRng,
  deriveSeed,
  flipHorizontal,
  flipVertical,
  gridShuffle,
  oneOf,
  padToMultiple,
  randomCrop,
  referenceTrainTransform,
  resize,
  withProbability,
  type Sample,
  type Transform,
} from '@steel/transforms';
import type { TrainConfig } from './config.ts';
import { AppError } from './errors.ts';

/** An opened dataset with its train/validation split. */
export interface PreparedData {
  dataset: KaggleDataset;
  train: ImageEntry[];
  val: ImageEntry[];
}

/**
 * Opens a Kaggle-layout folder, with a clear message when it is not there.
 * @throws {AppError} DATA_NOT_FOUND when the folder does not exist; BAD_CSV / BAD_IMAGE from @steel/data.
 */
export async function openDataset(dir: string, options: { verify?: boolean } = {}): Promise<KaggleDataset> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new AppError(
      'DATA_NOT_FOUND',
      `Data folder ${dir} does not exist. Pass --data with a folder holding train.csv and train_images/ ` +
        `(the Kaggle layout), or use "import" to convert a mask-folder dataset, or "generate" for synthetic data.`,
    );
  }
  return openKaggleDataset(dir, { verifyImages: options.verify ? 'header' : 'none' });
}

/** A loaded sample plus its id. */
export interface LoadedSample extends Sample {
  id: string;
}

/** Decodes images and masks, scaled by `scale`, and keeps them in memory when they fit (`cacheBytes`). */
export class SampleStore {
  private readonly cache = new Map<string, LoadedSample>();
  private bytes = 0;
  constructor(
    private readonly dataset: KaggleDataset,
    private readonly channels: 1 | 3,
    private readonly scale = 1,
    private readonly cacheBytes = 2 ** 30,
  ) {}

  /** The image and its `[H, W, classes]` mask at the dataset's size times `scale`. */
  async load(entry: ImageEntry): Promise<LoadedSample> {
    const hit = this.cache.get(entry.id);
    if (hit) return hit;
    const { height, width, classes } = this.dataset;
    const image = await readImage(entry.file, { channels: this.channels, height, width });
    const mask = decodeMask(entry, { height, width, classes });
    let sample: LoadedSample = { id: entry.id, image: image.data, mask, height, width, channels: this.channels, maskChannels: classes };
    if (this.scale !== 1) {
      const size = scaledSize(this.dataset, this.scale);
      sample = { ...resize({ ...size, method: 'area' })(sample, createRng(0)), id: entry.id };
    }
    const size = sample.image.byteLength + sample.mask.byteLength;
    if (this.bytes + size <= this.cacheBytes) {
      this.cache.set(entry.id, sample);
      this.bytes += size;
    }
    return sample;
  }
}

/** The training augmentation for a config: the reference recipe (random crop, flips, intensity or grid shuffle), or less. */
export function trainTransform(config: Pick<TrainConfig, 'crop' | 'augment'>): Transform {
  if (config.crop && config.augment === 'reference') {
    return referenceTrainTransform({ cropHeight: config.crop.height, cropWidth: config.crop.width, maskCentreProbability: 0.5, maxValue: 255 });
  }
  const steps: Transform[] = [];
  if (config.crop) steps.push(randomCrop({ height: config.crop.height, width: config.crop.width, maskCentreProbability: 0.5 }));
  if (config.augment === 'reference') {
    steps.push(withProbability(0.6, oneOf([flipVertical, flipHorizontal])));
    steps.push(withProbability(0.6, oneOf([brightnessContrast({ brightness: 0.2, contrast: 0.2, maxValue: 255 }), gridShuffle({ rows: 1, cols: 2 })])));
  } else if (config.augment === 'flips') {
    steps.push(withProbability(0.5, flipHorizontal), withProbability(0.5, flipVertical));
  }
  return compose(steps);
}

/** The size images are trained and validated at: the stored size times `scale`, rounded. */
export function scaledSize(dataset: Pick<KaggleDataset, 'height' | 'width'>, scale: number): { height: number; width: number } {
  return { height: Math.max(1, Math.round(dataset.height * scale)), width: Math.max(1, Math.round(dataset.width * scale)) };
}

/** A batch in NHWC: images scaled to [0, 1], masks 0/1 per class. */
export interface Batch {
  x: Float32Array;
  y: Float32Array;
  shape: [number, number, number, number];
  classes: number;
  ids: string[];
}

/** Stacks samples (padded to multiples of 32) into one batch; all samples must have the same size. */
export function stackBatch(samples: readonly (Sample & { id?: string })[]): Batch {
  const padded = samples.map((s) => padToMultiple(s, { multiple: 32 }).sample);
  const first = padded[0]!;
  const { height, width, channels, maskChannels } = first;
  const x = new Float32Array(padded.length * height * width * channels);
  const y = new Float32Array(padded.length * height * width * maskChannels);
  padded.forEach((s, b) => {
    if (s.height !== height || s.width !== width) {
      throw new AppError('BAD_IMAGE', `Images of one batch differ in size: ${s.height}x${s.width} vs ${height}x${width}. Use --crop.`);
    }
    const xo = b * height * width * channels;
    for (let i = 0; i < s.image.length; i++) x[xo + i] = (s.image[i] as number) / 255;
    const yo = b * height * width * maskChannels;
    for (let i = 0; i < s.mask.length; i++) y[yo + i] = s.mask[i] as number;
  });
  return { x, y, shape: [padded.length, height, width, channels], classes: maskChannels, ids: samples.map((s) => s.id ?? '') };
}

/** Seeded order of the training images for an epoch. */
export function epochOrder(count: number, seed: number, epoch: number): number[] {
  const rng = createRng(deriveSeed(seed, 1, epoch));
  const order = Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/**
 * The augmented training batch number `batchIndex` of an epoch. All randomness comes from (seed, epoch, position), so a
 * resumed run sees exactly the batches an uninterrupted run would.
 */
export async function trainBatch(
  store: SampleStore,
  entries: readonly ImageEntry[],
  order: readonly number[],
  batchIndex: number,
  batchSize: number,
  transform: Transform,
  seed: number,
  epoch: number,
): Promise<Batch> {
  const samples: Sample[] = [];
  for (let k = 0; k < batchSize; k++) {
    const position = (batchIndex * batchSize + k) % order.length;
    const entry = entries[order[position]!]!;
    const sample = await store.load(entry);
    samples.push(transform(sample, createRng(deriveSeed(seed, 2, epoch, batchIndex * batchSize + k))));
  }
  return stackBatch(samples);
}
