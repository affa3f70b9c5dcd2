import type { ArrayBatch } from '@steel/ensemble';
import type { InferenceEngine } from './engine.ts';
import { InferenceError, echo } from './errors.ts';

/** The part of an onnxruntime `Tensor` the engine reads. */
export interface OnnxTensorLike {
  readonly data: unknown;
  readonly dims: readonly number[];
  readonly type: string;
  dispose?(): void;
}

/** The part of an onnxruntime `InferenceSession` (onnxruntime-node, onnxruntime-web) the engine uses. */
export interface OnnxSessionLike {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OnnxTensorLike>): Promise<Record<string, OnnxTensorLike>>;
  release?(): Promise<void>;
}

/** onnxruntime's `Tensor` class, passed in so that this package loads no runtime. */
export type OnnxTensorConstructor = new (type: 'float32', data: Float32Array, dims: readonly number[]) => OnnxTensorLike;

/** Options of {@link createOnnxEngine}. */
export interface OnnxEngineOptions {
  /** `Tensor` from the same onnxruntime package that created the session. */
  readonly Tensor: OnnxTensorConstructor;
  /** Input channels and classes, e.g. from the model's metadata; default unknown (checked on the first run). */
  readonly inChannels?: number;
  readonly classes?: number;
  /** Shown in logs and reports; default `onnxruntime`. */
  readonly description?: string;
}

/** NHWC -> NCHW. */
function toNchw(data: Float32Array, [n, h, w, c]: readonly number[]): Float32Array {
  if (c === 1) return data;
  const out = new Float32Array(data.length);
  const plane = h! * w!;
  for (let b = 0; b < n!; b++) {
    const base = b * plane * c!;
    for (let p = 0; p < plane; p++) for (let k = 0; k < c!; k++) out[base + k * plane + p] = data[base + p * c! + k]!;
  }
  return out;
}

/** NCHW -> NHWC. */
function toNhwc(data: Float32Array, n: number, c: number, h: number, w: number): Float32Array {
  if (c === 1) return data.slice();
  const out = new Float32Array(data.length);
  const plane = h * w;
  for (let b = 0; b < n; b++) {
    const base = b * plane * c;
    for (let k = 0; k < c; k++) {
      const src = base + k * plane;
      for (let p = 0; p < plane; p++) out[base + p * c + k] = data[src + p]!;
    }
  }
  return out;
}

/**
 * Creates an {@link InferenceEngine} on an ONNX Runtime session whose graph takes `[N, C, H, W]` float32 (input `image`, else
 * the first input) and returns `[N, classes, H, W]` logits (output `logits`, else the first output), as `exportOnnx` from
 * @steel/onnx writes them. The caller creates the session with its own runtime: onnxruntime-node in Node, onnxruntime-web in
 * browsers. `dispose()` releases the session.
 * @throws {InferenceError} `INVALID_OPTION` without a `Tensor` constructor; `run` rejects with `BAD_OUTPUT` when the output is
 * not float32 `[N, classes, H, W]` for the batch given.
 * @example
 * const session = await ort.InferenceSession.create(bytes);
 * const engine = createOnnxEngine(session, { Tensor: ort.Tensor, ...readOnnxMetadata(bytes) });
 */
export function createOnnxEngine(session: OnnxSessionLike, options: OnnxEngineOptions): InferenceEngine {
  if (session === null || typeof session !== 'object' || typeof session.run !== 'function' || !Array.isArray(session.inputNames)) {
    throw new InferenceError('INVALID_OPTION', `Expected an onnxruntime InferenceSession, got ${echo(session)}.`);
  }
  if (typeof options?.Tensor !== 'function') {
    throw new InferenceError('INVALID_OPTION', `Expected options.Tensor to be onnxruntime's Tensor class, got ${echo(options?.Tensor)}.`);
  }
  const { Tensor } = options;
  const inputName = session.inputNames.includes('image') ? 'image' : session.inputNames[0]!;
  const outputName = session.outputNames.includes('logits') ? 'logits' : session.outputNames[0]!;
  return {
    kind: 'onnxruntime',
    description: options.description ?? 'onnxruntime',
    inChannels: options.inChannels,
    classes: options.classes,
    async run(batch: ArrayBatch): Promise<ArrayBatch> {
      const [n, h, w, c] = batch.shape;
      const input = new Tensor('float32', toNchw(batch.data, batch.shape), [n, c, h, w]);
      const outputs = await session.run({ [inputName]: input });
      try {
        const out = outputs[outputName];
        const dims = out?.dims ?? [];
        if (out === undefined || !(out.data instanceof Float32Array) || dims.length !== 4 || dims[0] !== n || dims[2] !== h || dims[3] !== w) {
          throw new InferenceError(
            'BAD_OUTPUT',
            `Expected the ONNX model's output ${outputName} to be float32 [${n}, classes, ${h}, ${w}], got ${out === undefined ? 'none' : `${out.type} [${dims.join(', ')}]`}.`,
          );
        }
        const classes = dims[1]!;
        return { data: toNhwc(out.data, n, classes, h, w), shape: [n, h, w, classes] };
      } finally {
        input.dispose?.();
        for (const t of Object.values(outputs)) t.dispose?.();
      }
    },
    async dispose() {
      await session.release?.();
    },
  };
}
