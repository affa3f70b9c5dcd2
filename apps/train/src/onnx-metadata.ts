// What an exported .onnx file says about feeding its model (metadata_props), written by `export` and read by `--models x.onnx`.
import type { Normalization } from '@steel/inference';
import type { ModelIdentity } from './checkpoint.ts';
import type { TrainConfig } from './config.ts';

/** The metadata key holding {@link SteelOnnxMetadata} as JSON. */
export const STEEL_METADATA_KEY = 'steel';

/** Everything a deployment needs to feed a steel model exported to ONNX. */
export interface SteelOnnxMetadata {
  architecture: string;
  encoder: string;
  inChannels: number;
  classes: number;
  /** Factor the model was trained at: images are area-resized by it before the network. */
  scale: number;
  /** `(byte · scale − mean) / std`. */
  normalization: { scale: number; mean: number; std: number };
  threshold?: number;
  minArea?: number[];
  /** The tuned post-processing (tuned.json), when the run has one. */
  postprocess?: unknown;
}

/** The pixel normalisation steel trains with: bytes / 255. */
export const STEEL_NORMALIZATION = { scale: 1 / 255, mean: 0, std: 1 } as const;

/** The metadata_props of a steel model (one JSON key plus readable flat keys). */
export function onnxMetadataFor(identity: ModelIdentity, config: TrainConfig | undefined, postprocess?: unknown): Record<string, string> {
  const meta: SteelOnnxMetadata = {
    ...identity,
    scale: config?.scale ?? 1,
    normalization: { ...STEEL_NORMALIZATION },
    ...(config ? { threshold: config.threshold, minArea: config.minArea } : {}),
    ...(postprocess === undefined ? {} : { postprocess }),
  };
  return {
    [STEEL_METADATA_KEY]: JSON.stringify(meta),
    architecture: identity.architecture,
    encoder: identity.encoder,
    in_channels: String(identity.inChannels),
    classes: String(identity.classes),
    scale: String(meta.scale),
    normalization: JSON.stringify(meta.normalization),
  };
}

const num = (v: unknown): number | undefined => {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
};

/**
 * Reads the steel metadata of an .onnx file: the `steel` JSON key, else flat keys (`classes`, `in_channels`, `scale`,
 * `normalization`), else what the graph's shapes say (`fromGraph`). Scale defaults to 1 and normalisation to bytes / 255.
 */
export function parseSteelMetadata(
  metadata: Record<string, string>,
  fromGraph: { inChannels?: number | undefined; classes?: number | undefined },
): { inChannels: number | undefined; classes: number | undefined; scale: number; normalization: Normalization; rest: Partial<SteelOnnxMetadata> } {
  let parsed: Partial<SteelOnnxMetadata> = {};
  try {
    const raw = metadata[STEEL_METADATA_KEY];
    if (raw !== undefined) parsed = JSON.parse(raw) as Partial<SteelOnnxMetadata>;
  } catch {
    parsed = {};
  }
  let flatNorm: Normalization | undefined;
  try {
    const raw = metadata['normalization'] ?? metadata['normalisation'];
    if (raw !== undefined) flatNorm = JSON.parse(raw) as Normalization;
  } catch {
    flatNorm = undefined;
  }
  return {
    inChannels: num(parsed.inChannels) ?? num(metadata['in_channels'] ?? metadata['inChannels']) ?? fromGraph.inChannels,
    classes: num(parsed.classes) ?? num(metadata['classes']) ?? fromGraph.classes,
    scale: num(parsed.scale) ?? num(metadata['scale']) ?? 1,
    normalization: parsed.normalization ?? flatNorm ?? STEEL_NORMALIZATION,
    rest: parsed,
  };
}
