// What an encoder and an architecture (decoder plus head) must provide to be listed in a registry: a description and a
// build function over tfjs-layers symbolic tensors. createModel wires input → encoder → decoder → logits.
import type { SymbolicTensor } from '@tensorflow/tfjs-layers';

/** What an encoder builder receives. */
export interface EncoderContext {
  /** Model seed; derive per-layer seeds from it (`kernelInitializer` in blocks.ts does). */
  readonly seed: number;
}

/**
 * An encoder: from the input `[batch, height, width, inChannels]` to five features f1..f5 at strides 2, 4, 8, 16, 32,
 * with layers named after the PyTorch modules (`encoder.<module path>`), so state_dicts map onto it by name.
 */
export interface EncoderSpec {
  /** One line for error messages and docs. */
  readonly description: string;
  /** Channels of f1..f5 (strides 2, 4, 8, 16, 32). */
  readonly channels: readonly [number, number, number, number, number];
  /** Builds the encoder on the symbolic input; returns `[f1, f2, f3, f4, f5]`. */
  readonly build: (input: SymbolicTensor, context: EncoderContext) => SymbolicTensor[];
}

/** What an architecture's decoder builder receives. */
export interface DecoderContext {
  /** Output channels of the segmentation head (one logit per class). */
  readonly classes: number;
  /** Model seed; derive per-layer seeds from it. */
  readonly seed: number;
  /** Channels of the encoder features f1..f5. */
  readonly encoderChannels: readonly number[];
  /** Initial bias of the segmentation head's logits. */
  readonly headBias: number;
}

/** A decoder plus segmentation head: from encoder features f1..f5 (strides 2..32) to logits at the input size. */
export interface ArchitectureSpec {
  /** One line for error messages and docs. */
  readonly description: string;
  /** Builds the decoder and head on symbolic features `[f1, f2, f3, f4, f5]`; returns NHWC logits. */
  readonly build: (features: readonly SymbolicTensor[], context: DecoderContext) => SymbolicTensor;
}
