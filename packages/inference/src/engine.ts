import type { ArrayBatch } from '@steel/ensemble';

/** Which runtime an {@link InferenceEngine} uses. */
export type EngineKind = 'tfjs' | 'onnxruntime';

/**
 * A segmentation network behind one interface, whatever runs it: an NHWC float32 batch (height and width multiples of 32,
 * already normalised) in, NHWC logits `[batch, height, width, classes]` out.
 */
export interface InferenceEngine {
  readonly kind: EngineKind;
  /** What runs the model, for logs and reports, e.g. `tfjs (wasm)` or `onnxruntime (cpu)`. */
  readonly description: string;
  /** Input channels the model takes (1 or 3), when the model says. */
  readonly inChannels: number | undefined;
  /** Classes the model predicts, when the model says. */
  readonly classes: number | undefined;
  /** Runs the network on one batch; never keeps or changes `batch`. */
  run(batch: ArrayBatch): Promise<ArrayBatch>;
  /** Frees what the engine holds (the tfjs engine leaves the model to its owner). */
  dispose(): Promise<void>;
}
