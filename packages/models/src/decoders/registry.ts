// The architecture registry: one line per decoder plus head, each built by its own file.
import type { ArchitectureSpec } from '../model-spec.ts';
import { fpn } from './fpn.ts';
import { unet } from './unet.ts';

/** Architectures by name: decoder plus segmentation head, as segmentation_models defines them. */
export const architectures = {
  unet,
  fpn,
} satisfies Record<string, ArchitectureSpec>;

/** Name of an architecture in {@link architectures}. */
export type ArchitectureName = keyof typeof architectures;
