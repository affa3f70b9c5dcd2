// The encoder registry: one line per encoder, each built by its family's file.
import type { EncoderSpec } from '../model-spec.ts';
import { resnet18, resnet34 } from './resnet.ts';
import { resnet50 } from './resnet-bottleneck.ts';

/** Encoders by name: torchvision ResNets without the classifier (`avgpool`, `fc`). */
export const encoders = {
  resnet18,
  resnet34,
  resnet50,
} as const satisfies Record<string, EncoderSpec>;

/** Name of an encoder in {@link encoders}. */
export type EncoderName = keyof typeof encoders;
