// Reading what an exported .onnx file says about feeding its model (the metadata_props `export` writes, see
// commands/export.ts), for `--models x.onnx`.
import type { Normalization } from '@steel/inference';
import { AppError } from './errors.ts';

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
 * bytes / 255 where a key is absent.
 * @throws {AppError} CHECKPOINT naming `file` and the key when a key is present but unusable (a class count of 0, a
 * threshold of 2, a zero std, min_area that is not a list of whole pixel counts).
 */
export function parseOnnxMetadata(
  metadata: Record<string, string>,
  fromGraph: { inChannels?: number | undefined; classes?: number | undefined },
  file = 'the .onnx model',
): OnnxModelMetadata {
  const bad = (key: string, expected: string): never => {
    throw new AppError('CHECKPOINT', `${file}: metadata "${key}" is '${String(metadata[key]).slice(0, 80)}'; expected ${expected}. Re-export the model or fix its metadata.`);
  };
  const has = (key: string) => Object.hasOwn(metadata, key);
  const count = (key: string, fallback: number | undefined) => {
    if (!has(key)) return fallback;
    const n = num(metadata[key]);
    return n !== undefined && Number.isInteger(n) && n >= 1 ? n : bad(key, 'a whole number of at least 1');
  };
  const normKey = has('normalisation') ? 'normalisation' : 'normalization';
  let normalization: Normalization = STEEL_NORMALIZATION;
  if (has(normKey)) {
    const norm = json(metadata[normKey]);
    const expected = '{ divisor, mean, std } with finite numbers (or lists of them), divisor and std not 0';
    if (norm === null || typeof norm !== 'object' || Array.isArray(norm)) bad(normKey, expected);
    const { divisor: d, scale: sc, mean: m, std: sd } = norm as { divisor?: unknown; scale?: unknown; mean?: unknown; std?: unknown };
    const values = (v: unknown, fallback: number, nonZero: boolean): number | number[] => {
      if (v === undefined) return fallback;
      const list = Array.isArray(v) ? v.map(num) : [num(v)];
      if (list.length === 0 || list.some((x) => x === undefined || (nonZero && x === 0))) bad(normKey, expected);
      return Array.isArray(v) ? (list as number[]) : list[0]!;
    };
    const divisor = d === undefined ? undefined : (values(d, 1, true) as number);
    if (Array.isArray(divisor)) bad(normKey, expected);
    normalization = {
      scale: divisor !== undefined ? 1 / divisor : (values(sc, STEEL_NORMALIZATION.scale as number, true) as number),
      mean: values(m, 0, false),
      std: values(sd, 1, true),
    };
    const all = [normalization.scale, normalization.mean, normalization.std].flat();
    if (Array.isArray(normalization.scale) || !all.every((x) => Number.isFinite(x))) bad(normKey, expected);
  }
  const scale = has('scale') ? num(metadata['scale']) : 1;
  if (scale === undefined || scale <= 0) bad('scale', 'a number above 0');
  const threshold = has('threshold') ? num(metadata['threshold']) : undefined;
  if (has('threshold') && (threshold === undefined || threshold <= 0 || threshold >= 1)) bad('threshold', 'a probability between 0 and 1');
  const minArea = has('min_area') ? json(metadata['min_area']) : undefined;
  if (has('min_area') && !(Array.isArray(minArea) && minArea.every((a) => Number.isInteger(a) && a >= 0))) bad('min_area', 'a JSON list of whole pixel counts, like [0,0,250,250]');
  return {
    architecture: metadata['architecture'],
    encoder: metadata['encoder'],
    inChannels: count('in_channels', fromGraph.inChannels),
    classes: count('classes', fromGraph.classes),
    scale: scale!,
    normalization,
    threshold,
    minArea: minArea as number[] | undefined,
  };
}
