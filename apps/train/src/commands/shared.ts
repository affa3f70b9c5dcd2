// What evaluate, predict and tune share: loading the models, choosing images and their truth, post-processing.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ParsedArgs } from '../cli.ts';
import { parseTrainConfig, type TrainConfig } from '../config.ts';
import { AppError } from '../errors.ts';
import type { InferenceEngine } from '@steel/inference';
import type { Member } from '../inference.ts';
import { checkPerClassOptions } from '../options.ts';
import { createProgress } from '../progress.ts';
import { initBackend } from '../backend.ts';
import { ensureDataset } from './generate.ts';

/** The models of an inference command, the engine running them, and their engines. */
export interface LoadedModels {
  members: Member[];
  engines: InferenceEngine[];
  /** The tfjs backend (used by tfjs engines and the app's own tensors). */
  backend: string;
  /** What runs the models, e.g. `onnxruntime 1.31.1 (cpu)` or `tfjs (wasm)`. */
  engine: string;
  dispose(): Promise<void>;
}

/**
 * Loads every --models entry after setting up the backend, and builds an engine for each (--engine, --device, --threads)
 * unless `engines` is false.
 */
export async function loadMembers(args: ParsedArgs, options: { engines?: boolean } = {}): Promise<LoadedModels> {
  const paths = args.values['models'] as string[] | undefined;
  if (paths === undefined || paths.length === 0) {
    throw new AppError('USAGE', 'Pass --models with one or more run folders (runs/<name>), model folders or .onnx files, comma-separated.');
  }
  for (const p of paths) {
    if (!existsSync(p)) throw new AppError('CHECKPOINT', `Model path ${p} does not exist. Pass a run folder (runs/<name>), its best/ folder or an .onnx file.`);
  }
  const config = parseTrainConfig(
    Object.fromEntries(['backend', 'threads', 'engine', 'device'].filter((k) => args.values[k] !== undefined).map((k) => [k, args.values[k]])),
  );
  const backend = await initBackend(config);
  const { chooseEngine } = await import('../engines.ts');
  const choice = options.engines === false ? { kind: 'tfjs' as const, description: 'tfjs' } : await chooseEngine(config.engine, config.device, config.threads);
  const { createEngines, disposeMembers, loadMember } = await import('../inference.ts');
  const members: Member[] = [];
  const engines: InferenceEngine[] = [];
  try {
    for (const p of paths) members.push(await loadMember(p));
    if (options.engines !== false) engines.push(...(await createEngines(members, choice, { device: config.device, threads: config.threads })));
  } catch (error) {
    await disposeMembers(members, engines);
    throw error;
  }
  if (options.engines === false) return { members, engines, backend: backend.backend, engine: 'none', dispose: () => disposeMembers(members, engines) };
  const engine = choice.kind === 'tfjs' ? `tfjs (${backend.backend})` : choice.description;
  if (choice.hint) process.stderr.write(`${choice.hint}\n`);
  process.stderr.write(`Engine: ${engine}\n`);
  return { members, engines, backend: backend.backend, engine, dispose: () => disposeMembers(members, engines) };
}

/** The training config of the first member that has one (for its data and post-processing), else the defaults. */
export function memberConfig(members: readonly Member[]): TrainConfig {
  return members.find((m) => m.config !== undefined)?.config ?? parseTrainConfig({});
}

/** The dataset folder: --data, else the first run's data (generating the synthetic one if needed). */
export async function dataDirFor(args: ParsedArgs, config: TrainConfig): Promise<string> {
  const data = (args.values['data'] as string | undefined) ?? config.data;
  return ensureDataset({ data, synthetic: config.synthetic }, createProgress(process.stderr));
}

/** Post-processing: --postprocess file, else --threshold / --min-area, else the run's threshold and min areas. */
export async function postprocessFor(args: ParsedArgs, config: TrainConfig, classes: number) {
  const { parsePostprocessConfig } = await import('@steel/ensemble');
  const file = args.values['postprocess'] as string | undefined;
  if (file !== undefined) {
    if (args.values['min-area'] !== undefined) {
      throw new AppError('USAGE', `--min-area is not used with --postprocess ${file}: the file sets each class's minimum area. Drop one of them.`);
    }
    if (!existsSync(file)) throw new AppError('CONFIG', `Post-processing file ${file} does not exist. Make one with "tune", or drop --postprocess.`);
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new AppError('CONFIG', `Post-processing file ${file} is not valid JSON (${(error as Error).message}).`);
    }
    return parsePostprocessConfig(json, { classes });
  }
  const threshold = (args.values['threshold'] as number | undefined) ?? config.threshold;
  const minArea = (args.values['min-area'] as number[] | undefined) ?? config.minArea;
  checkPerClassOptions({ loss: config.loss, posWeight: [], minArea }, classes);
  const { postprocessFromConfig } = await import('../finish.ts');
  return postprocessFromConfig({ threshold, minArea }, classes);
}

/** Image files of a folder (jpg, jpeg, png), sorted. */
export function listImageFiles(dir: string): { id: string; file: string }[] {
  if (!existsSync(dir)) throw new AppError('DATA_NOT_FOUND', `Image folder ${dir} does not exist. Pass --images with a folder of JPEG or PNG files.`);
  return readdirSync(dir)
    .filter((name) => /\.(jpe?g|png)$/i.test(name))
    .sort()
    .map((id) => ({ id, file: resolve(join(dir, id)) }));
}
