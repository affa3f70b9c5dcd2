// Reading ONNX bytes back: metadata and the graph's inputs and outputs, with corrupt or truncated files refused.
import { OnnxError } from './errors.ts';
import { ModelProto, type Dim } from './proto.ts';

/** A graph input or output: its name and shape (fixed sizes as numbers, symbolic ones as names, unknown as null). */
export interface OnnxValueInfo {
  name: string;
  shape: Dim[];
}

/** What {@link describeOnnxModel} returns. */
export interface OnnxModelDescription {
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  metadata: Record<string, string>;
}

interface DecodedDim {
  dim_value?: number | { toNumber(): number };
  dim_param?: string;
}
interface DecodedValueInfo {
  name?: string;
  type?: { tensor_type?: { shape?: { dim?: DecodedDim[] } } };
}
interface DecodedModel {
  ir_version?: number | { toNumber(): number };
  opset_import?: { domain?: string; version?: unknown }[];
  graph?: { node?: unknown[]; input?: DecodedValueInfo[]; output?: DecodedValueInfo[] };
  metadata_props?: { key?: string; value?: string }[];
}

const num = (v: number | { toNumber(): number } | undefined) => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());

function decode(bytes: Uint8Array): DecodedModel {
  if (!(bytes instanceof Uint8Array)) {
    throw new OnnxError('INVALID_MODEL', `Expected the bytes of an .onnx file as a Uint8Array, got ${bytes === null ? 'null' : typeof bytes}.`);
  }
  let model: DecodedModel;
  try {
    model = ModelProto.decode(bytes) as unknown as DecodedModel;
  } catch (error) {
    throw new OnnxError(
      'INVALID_MODEL',
      `Expected an ONNX model, got ${bytes.length} bytes that do not decode as one (${(error as Error).message}); the file is corrupt, truncated or not ONNX.`,
      { cause: error },
    );
  }
  const problem =
    num(model.ir_version) < 3
      ? `IR version ${num(model.ir_version)}`
      : !model.opset_import?.length
        ? 'no opset_import'
        : !model.graph
          ? 'no graph'
          : !model.graph.output?.length
            ? 'a graph without outputs'
            : null;
  if (problem) {
    throw new OnnxError('INVALID_MODEL', `Expected a complete ONNX model (IR version >= 3, an opset, a graph with outputs), got ${bytes.length} bytes with ${problem}; the file is truncated or not ONNX.`);
  }
  return model;
}

function metadataOf(model: DecodedModel): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const { key, value } of model.metadata_props ?? []) if (key != null) out[key] = value ?? '';
  return out;
}

const infoOf = (v: DecodedValueInfo): OnnxValueInfo => ({
  name: v.name ?? '',
  // Decoded messages carry proto2 defaults on their prototype: only own fields were in the file.
  shape: (v.type?.tensor_type?.shape?.dim ?? []).map((d) =>
    Object.hasOwn(d, 'dim_value') ? num(d.dim_value) : Object.hasOwn(d, 'dim_param') ? d.dim_param! : null,
  ),
});

/**
 * The `metadata_props` of an ONNX model as a plain object (what {@link exportOnnx} stored from its `metadata` option).
 * @throws {OnnxError} `INVALID_MODEL` when the bytes are corrupt, truncated or not an ONNX model.
 * @example const { classes } = readOnnxMetadata(new Uint8Array(await readFile('model.onnx')));
 */
export function readOnnxMetadata(bytes: Uint8Array): Record<string, string> {
  return metadataOf(decode(bytes));
}

/**
 * The inputs and outputs of an ONNX model's graph (names and shapes) and its metadata.
 * @throws {OnnxError} `INVALID_MODEL` when the bytes are corrupt, truncated or not an ONNX model.
 * @example describeOnnxModel(bytes).inputs; // [{ name: 'image', shape: ['N', 1, 'H', 'W'] }]
 */
export function describeOnnxModel(bytes: Uint8Array): OnnxModelDescription {
  const model = decode(bytes);
  const initializers = new Set((model.graph as { initializer?: { name?: string }[] }).initializer?.map((t) => t.name) ?? []);
  return {
    // Older exporters list initializers among the inputs too; they are not inputs a caller feeds.
    inputs: (model.graph!.input ?? []).filter((v) => !initializers.has(v.name)).map(infoOf),
    outputs: (model.graph!.output ?? []).map(infoOf),
    metadata: metadataOf(model),
  };
}
