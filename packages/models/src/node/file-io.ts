// A Node IOHandler for a directory holding model.json + weights.bin (tfjs layers format). Saves are atomic: the files
// are written and fsynced in a sibling temporary directory that is then renamed into place.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { ModelsError } from '../errors.ts';
import { joinWeightData } from '../memory-io.ts';

/** File names inside a saved model directory. */
export const MODEL_FILES = { topology: 'model.json', weights: 'weights.bin' } as const;

async function writeSynced(path: string, data: Uint8Array | string): Promise<void> {
  const handle = await open(path, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function syncDirectory(path: string): Promise<void> {
  try {
    const handle = await open(path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some platforms cannot fsync a directory; the rename is still atomic.
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function ioError(message: string, cause?: unknown): ModelsError {
  return new ModelsError('IO_ERROR', message, cause === undefined ? undefined : { cause });
}

/** A file IOHandler: `save` and `load` both defined. */
export interface FileIOHandler extends tf.io.IOHandler {
  save: NonNullable<tf.io.IOHandler['save']>;
  load: NonNullable<tf.io.IOHandler['load']>;
  /** The absolute directory. */
  readonly directory: string;
}

/**
 * An IOHandler that saves a model as `<directory>/model.json` + `<directory>/weights.bin` (the format
 * `tf.loadLayersModel(url)` reads over HTTP) and loads it back. Saving is atomic: both files are written and fsynced in
 * a temporary sibling directory, then renamed into place, so a crash leaves either the previous model or the new one,
 * never a mix. An existing directory is replaced only if it holds nothing but model files.
 * @throws {ModelsError} `IO_ERROR` when the directory holds other files, or reading or writing fails (with `cause`).
 * @example await model.save(createFileIOHandler('models/unet-r18')); const back = await tf.loadLayersModel(createFileIOHandler('models/unet-r18'));
 */
export function createFileIOHandler(directory: string): FileIOHandler {
  if (typeof directory !== 'string' || directory.length === 0) {
    throw new ModelsError('INVALID_OPTION', `Expected a directory path, got ${JSON.stringify(directory)}.`);
  }
  const dir = resolve(directory);
  return {
    directory: dir,
    async save(artifacts) {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw ioError('Only layers models (JSON topology) can be saved here; got a binary GraphDef topology.');
      }
      const weightData = new Uint8Array(joinWeightData(artifacts.weightData));
      const modelJSON: Record<string, unknown> = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [`./${MODEL_FILES.weights}`], weights: artifacts.weightSpecs ?? [] }],
      };
      for (const key of ['trainingConfig', 'signature', 'userDefinedMetadata', 'modelInitializer', 'initializerSignature'] as const) {
        if (artifacts[key] !== undefined) modelJSON[key] = artifacts[key];
      }
      const json = JSON.stringify(modelJSON);
      const parent = dirname(dir);
      const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
      const tmp = join(parent, `.${basename(dir)}.tmp-${tag}`);
      const old = join(parent, `.${basename(dir)}.old-${tag}`);
      try {
        if (await exists(dir)) {
          const entries = await readdir(dir).catch((cause: unknown) => {
            throw ioError(`Cannot save to ${dir}: it exists and is not a readable directory.`, cause);
          });
          const foreign = entries.filter((e) => e !== MODEL_FILES.topology && !/^weights.*\.bin$/.test(e));
          if (foreign.length > 0) {
            throw ioError(`Refusing to replace ${dir}: it holds files that are not model files (${foreign.slice(0, 5).join(', ')}); choose an empty or new directory.`);
          }
        }
        await mkdir(parent, { recursive: true });
        await mkdir(tmp);
        await writeSynced(join(tmp, MODEL_FILES.weights), weightData);
        await writeSynced(join(tmp, MODEL_FILES.topology), json);
        await syncDirectory(tmp);
        // Commit: move any previous model aside, move the new one in, then delete the old one.
        const hadOld = await exists(dir);
        if (hadOld) await rename(dir, old);
        await rename(tmp, dir);
        await syncDirectory(parent);
        if (hadOld) await rm(old, { recursive: true, force: true });
      } catch (error) {
        await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
        if (error instanceof ModelsError) throw error;
        throw ioError(`Saving the model to ${dir} failed: ${(error as Error).message}`, error);
      }
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          modelTopologyBytes: Buffer.byteLength(JSON.stringify(artifacts.modelTopology ?? null)),
          weightSpecsBytes: Buffer.byteLength(JSON.stringify(artifacts.weightSpecs ?? [])),
          weightDataBytes: weightData.byteLength,
        },
      };
    },
    async load() {
      let modelJSON: tf.io.ModelJSON;
      try {
        modelJSON = JSON.parse(await readFile(join(dir, MODEL_FILES.topology), 'utf8')) as tf.io.ModelJSON;
      } catch (error) {
        throw ioError(`Cannot read ${join(dir, MODEL_FILES.topology)}: ${(error as Error).message}`, error);
      }
      const specs: tf.io.WeightsManifestEntry[] = [];
      const buffers: Uint8Array[] = [];
      for (const group of modelJSON.weightsManifest ?? []) {
        specs.push(...group.weights);
        for (const path of group.paths) {
          const file = resolve(dir, path);
          try {
            buffers.push(await readFile(file));
          } catch (error) {
            throw ioError(`Cannot read weights file ${file} named in model.json: ${(error as Error).message}`, error);
          }
        }
      }
      const artifacts: tf.io.ModelArtifacts = {
        modelTopology: modelJSON.modelTopology,
        weightSpecs: specs,
        weightData: joinWeightData(buffers.map((b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer)),
      };
      if (modelJSON.format !== undefined) artifacts.format = modelJSON.format;
      if (modelJSON.generatedBy !== undefined) artifacts.generatedBy = modelJSON.generatedBy;
      if (modelJSON.convertedBy != null) artifacts.convertedBy = modelJSON.convertedBy;
      if (modelJSON.trainingConfig !== undefined) artifacts.trainingConfig = modelJSON.trainingConfig;
      if (modelJSON.userDefinedMetadata !== undefined) artifacts.userDefinedMetadata = modelJSON.userDefinedMetadata;
      if (modelJSON.signature !== undefined) artifacts.signature = modelJSON.signature;
      return artifacts;
    },
  };
}
