// Loading one training sample (decode, mask, transform): shared by the loader in this thread and by its workers.
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { decodeMask, type ImageEntry } from './dataset.ts';
import { DataError } from './errors.ts';
import { readImage } from './image.ts';

/**
 * One decoded sample: `image` is row-major HWC float in [0, 1] (`channels` per pixel), `mask` is row-major HWC 0/1
 * with one channel per class (channel = class id - 1). The shape of `@steel/transforms` samples.
 */
export interface Sample {
  readonly image: Float32Array;
  readonly mask: Uint8Array;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
}

/** What a transform knows about the sample it gets: a per-sample seed that does not depend on worker timing. */
export interface TransformContext {
  /** 32-bit seed for this sample in this epoch; use it for every random choice. */
  readonly seed: number;
  readonly id: string;
  readonly epoch: number;
  /** Position of the sample in the epoch's order. */
  readonly index: number;
}

/** Augmentation and preprocessing applied to every sample. May change height and width (crops); must keep them equal within a batch. */
export type SampleTransform = (sample: Sample, context: TransformContext) => Sample | Promise<Sample>;

/**
 * A transform that worker threads can load: `module` (absolute path, file URL, or a package name resolvable from
 * @steel/data) exports under `exportName` (default `'default'`) a factory that returns the transform when called with `options`.
 * @example { module: '/app/dist/augment.js', exportName: 'createTrainTransform', options: { crop: [224, 1568] } }
 */
export interface TransformSpec {
  readonly module: string;
  readonly exportName?: string;
  readonly options?: unknown;
}

/** Settings every sample of a loader shares. */
export interface SampleConfig {
  readonly height: number;
  readonly width: number;
  readonly classes: number;
  readonly channels: 1 | 3;
}

/** A unit of work: one image of one epoch. */
export interface SampleJob {
  readonly id: string;
  readonly file: string;
  readonly rles: ImageEntry['rles'];
  readonly seed: number;
  readonly epoch: number;
  readonly index: number;
}

function specifier(module: string): string {
  if (module.startsWith('file:') || module.startsWith('node:')) return module;
  if (isAbsolute(module) || module.startsWith('.')) return pathToFileURL(resolve(module)).href;
  return module;
}

/**
 * Imports a {@link TransformSpec} and calls its factory.
 * @throws {DataError} `INVALID_ARGUMENT` if the module cannot be imported or the export is not a factory of a function.
 */
export async function resolveTransform(spec: TransformSpec): Promise<SampleTransform> {
  const exportName = spec.exportName ?? 'default';
  let mod: Record<string, unknown>;
  try {
    mod = (await import(specifier(spec.module))) as Record<string, unknown>;
  } catch (cause) {
    throw new DataError('INVALID_ARGUMENT', `Could not import transform module '${spec.module}': ${cause instanceof Error ? cause.message : String(cause)}.`, { found: spec.module }, { cause });
  }
  const factory = mod[exportName];
  if (typeof factory !== 'function') {
    const names = Object.keys(mod).join(', ') || 'none';
    throw new DataError('INVALID_ARGUMENT', `Transform module '${spec.module}': expected export '${exportName}' to be a factory function, got ${typeof factory}. Exports: ${names}.`, { expected: 'function', found: typeof factory });
  }
  const transform = await (factory as (options: unknown) => unknown)(spec.options);
  if (typeof transform !== 'function') {
    throw new DataError('INVALID_ARGUMENT', `Transform module '${spec.module}': '${exportName}(options)' must return a function, got ${typeof transform}.`, { expected: 'function', found: typeof transform });
  }
  return transform as SampleTransform;
}

/**
 * Decodes one job's image and masks and applies the transform.
 * @throws {DataError} from {@link readImage}, or `INVALID_ARGUMENT` if the transform returns inconsistent sizes.
 */
export async function loadSample(job: SampleJob, config: SampleConfig, transform?: SampleTransform): Promise<Sample> {
  const { height, width, classes, channels } = config;
  const decoded = await readImage(job.file, { channels, height, width });
  const image = new Float32Array(decoded.data.length);
  for (let i = 0; i < image.length; i++) image[i] = (decoded.data[i] as number) / 255;
  const mask = decodeMask(job, { height, width, classes });
  let sample: Sample = { image, mask, height, width, channels };
  if (transform !== undefined) sample = await transform(sample, { seed: job.seed, id: job.id, epoch: job.epoch, index: job.index });
  const pixels = sample.height * sample.width;
  if (!(sample.image instanceof Float32Array) || sample.image.length !== pixels * sample.channels || !(sample.mask instanceof Uint8Array) || sample.mask.length !== pixels * classes) {
    throw new DataError(
      'INVALID_ARGUMENT',
      `Transform output for ${job.id}: expected a Float32Array image of ${sample.height}x${sample.width}x${sample.channels} and a Uint8Array mask of ${sample.height}x${sample.width}x${classes}, got lengths ${sample.image.length} and ${sample.mask.length}.`,
      { file: job.file },
    );
  }
  return sample;
}
