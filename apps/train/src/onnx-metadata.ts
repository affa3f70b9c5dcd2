// Reading what an exported .onnx file says about feeding its model (the metadata_props `export` writes, see
// commands/export.ts), for `--models x.onnx`.
import type { Normalization } from '@steel/inference';

/** The pixel normalisation steel trains with: bytes / 255. */
export const STEEL_NORMALIZATION: Normalization = { scale: 1 / 255, mean: 0, std: 1 };

const num = (v: unknown): number | undefined => {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
};

function json(value: string | undefined): unknown {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return undefined;
  }
}

/** What a steel .onnx file's metadata says, with the graph's shapes where the metadata is silent. */
export interface OnnxModelMetadata {
  architecture: string | undefined;
  encoder: string | undefined;
  inChannels: number | undefined;
  classes: number | undefined;
  /** Factor the model was trained at (default 1). */
  scale: number;
  normalization: Normalization;
  threshold: number | undefined;
  minArea: number[] | undefined;
}

/**
 * Reads the metadata keys `export` writes (`in_channels`, `classes`, `scale`, `normalisation` as
 * `{ divisor, mean, std }`, `threshold`, `min_area`), falling back to `fromGraph` for channels and classes, scale 1 and
 * bytes / 255.
 */
export function parseOnnxMetadata(metadata: Record<string, string>, fromGraph: { inChannels?: number | undefined; classes?: number | undefined }): OnnxModelMetadata {
  const norm = json(metadata['normalisation'] ?? metadata['normalization']) as { divisor?: unknown; scale?: unknown; mean?: unknown; std?: unknown } | undefined;
  const divisor = num(norm?.divisor);
  const perChannel = (v: unknown) => (Array.isArray(v) && v.every((x) => typeof x === 'number') ? (v as number[]) : num(v));
  const normalization: Normalization = norm
    ? {
        scale: divisor !== undefined && divisor !== 0 ? 1 / divisor : (num(norm.scale) ?? STEEL_NORMALIZATION.scale!),
        mean: perChannel(norm.mean) ?? 0,
        std: perChannel(norm.std) ?? 1,
      }
    : STEEL_NORMALIZATION;
  const minArea = json(metadata['min_area']);
  return {
    architecture: metadata['architecture'],
    encoder: metadata['encoder'],
    inChannels: num(metadata['in_channels']) ?? fromGraph.inChannels,
    classes: num(metadata['classes']) ?? fromGraph.classes,
    scale: num(metadata['scale']) ?? 1,
    normalization,
    threshold: num(metadata['threshold']),
    minArea: Array.isArray(minArea) && minArea.every((a) => Number.isInteger(a)) ? (minArea as number[]) : undefined,
  };
}
