// Which engine runs the models (tfjs or ONNX Runtime through onnxruntime-node, loaded on demand) and on which device.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createOnnxEngine, createTfjsEngine, type InferenceEngine, type OnnxSessionLike, type OnnxTensorConstructor } from '@steel/inference';
import type { DEVICES, ENGINES } from './config.ts';
import { AppError } from './errors.ts';

export type EngineName = (typeof ENGINES)[number];
export type DeviceName = (typeof DEVICES)[number];

/** The part of onnxruntime-node the app uses. */
export interface OnnxRuntime {
  InferenceSession: { create(bytes: Uint8Array, options?: Record<string, unknown>): Promise<OnnxSessionLike> };
  Tensor: OnnxTensorConstructor;
  env: { versions?: { node?: string } };
}

/** The engine chosen for a command, what to tell the user, and how to build it for each model. */
export interface EngineChoice {
  kind: 'tfjs' | 'onnxruntime';
  /** For logs and metrics.json, e.g. `onnxruntime 1.31.1 (cpu, 2 threads)`. */
  description: string;
  /** A one-line hint when `auto` fell back to tfjs. */
  hint?: string;
  runtime?: OnnxRuntime;
}

const INSTALL_HINT = 'install it with "pnpm --filter train add onnxruntime-node" (its CPU engine needs no internet once the package is fetched)';

/** Loads onnxruntime-node, or returns why it cannot be loaded. */
export async function loadOnnxRuntime(): Promise<OnnxRuntime | Error> {
  try {
    const mod = (await import('onnxruntime-node')) as unknown as OnnxRuntime & { default?: OnnxRuntime };
    const ort = mod.InferenceSession ? mod : mod.default!;
    if (typeof ort?.InferenceSession?.create !== 'function') return new Error('onnxruntime-node has no InferenceSession');
    return ort;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** The folder holding onnxruntime-node's native libraries for this platform. */
function onnxBinDir(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
    return join(dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return undefined;
  }
}

/**
 * Picks the engine: `auto` takes onnxruntime when onnxruntime-node loads, else tfjs with a hint; `onnxruntime` fails with an
 * install hint when it does not load; `--device cuda|tensorrt` needs onnxruntime-node's GPU execution providers.
 * @throws {AppError} BACKEND when the engine or device asked for is not available; USAGE for cuda with tfjs.
 */
export async function chooseEngine(engine: EngineName, device: DeviceName, threads: number | undefined): Promise<EngineChoice> {
  if (device !== 'cpu' && engine === 'tfjs') {
    throw new AppError('USAGE', `--device ${device} applies to --engine onnxruntime; tfjs uses the GPU through --backend tensorflow or webgpu.`);
  }
  if (engine === 'tfjs') return { kind: 'tfjs', description: 'tfjs' };
  const ort = await loadOnnxRuntime();
  if (ort instanceof Error) {
    const why = ort.message.split('\n')[0]!.slice(0, 160);
    if (engine === 'onnxruntime' || device !== 'cpu') {
      throw new AppError('BACKEND', `--engine onnxruntime: onnxruntime-node could not be loaded (${why}); ${INSTALL_HINT}, or use --engine tfjs.`);
    }
    return { kind: 'tfjs', description: 'tfjs', hint: `engine: tfjs (onnxruntime-node is not available: ${why}; for faster inference ${INSTALL_HINT})` };
  }
  if (device !== 'cpu') {
    const dir = onnxBinDir();
    const library = `libonnxruntime_providers_${device}.so`;
    if (dir === undefined || !existsSync(join(dir, library))) {
      throw new AppError(
        'BACKEND',
        `--device ${device}: onnxruntime-node has no ${device === 'cuda' ? 'CUDA' : 'TensorRT'} execution provider here (no ${library} in ${dir ?? 'its bin folder'}); ` +
          'on a machine with an NVIDIA GPU, CUDA 12 and cuDNN 9, run its install script with internet (see apps/train/README.md, "GPU inference"), or use --device cpu.',
      );
    }
  }
  const version = ort.env?.versions?.node ?? '';
  return {
    kind: 'onnxruntime',
    description: `onnxruntime ${version} (${device}${threads === undefined ? '' : `, ${threads} thread(s)`})`.replace('  ', ' '),
    runtime: ort,
  };
}

/**
 * An engine for one model: the tfjs model itself, or an ONNX Runtime session on the model's ONNX bytes.
 * @throws {AppError} CHECKPOINT when ONNX Runtime cannot load the bytes; BACKEND when the CUDA provider fails to start.
 */
export async function createEngine(
  choice: EngineChoice,
  model: { path: string; tfjs?: import('@tensorflow/tfjs-layers').LayersModel | undefined; onnx: () => Uint8Array; inChannels: number; classes: number },
  options: { device: DeviceName; threads: number | undefined },
): Promise<InferenceEngine> {
  if (choice.kind === 'tfjs') {
    if (model.tfjs === undefined) throw new AppError('USAGE', `${model.path} is an ONNX model; it runs only with --engine onnxruntime (or auto with onnxruntime-node installed).`);
    return createTfjsEngine(model.tfjs);
  }
  const ort = choice.runtime!;
  const sessionOptions: Record<string, unknown> = {
    executionProviders: options.device === 'tensorrt' ? ['tensorrt', 'cuda', 'cpu'] : options.device === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
    graphOptimizationLevel: 'all',
    interOpNumThreads: 1,
    ...(options.threads === undefined ? {} : { intraOpNumThreads: options.threads }),
  };
  let session: OnnxSessionLike;
  try {
    session = await ort.InferenceSession.create(model.onnx(), sessionOptions);
  } catch (error) {
    const why = (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 200);
    if (options.device !== 'cpu') throw new AppError('BACKEND', `--device ${options.device}: ONNX Runtime could not start its ${options.device} execution provider for ${model.path} (${why}); use --device cpu.`);
    throw new AppError('CHECKPOINT', `ONNX Runtime cannot load ${model.path}: ${why}. Export it again with "export --models <run>".`);
  }
  return createOnnxEngine(session, { Tensor: ort.Tensor, inChannels: model.inChannels, classes: model.classes, description: choice.description });
}
