// The ONNX protobuf messages, from the official schema (schema/onnx.proto, embedded as src/onnx-schema.ts) through
// protobufjs' reflection runtime: no hand-written wire format. Field names are the schema's (snake_case).
import protobuf from 'protobufjs/light.js';
import { ONNX_SCHEMA } from './onnx-schema.ts';

const root = protobuf.Root.fromJSON(ONNX_SCHEMA as protobuf.INamespace);

/** `onnx.ModelProto`. */
export const ModelProto = root.lookupType('onnx.ModelProto');
/** `onnx.GraphProto`. */
export const GraphProto = root.lookupType('onnx.GraphProto');

/** `TensorProto.DataType` values used here. */
export const DataType = { FLOAT: 1, INT64: 7 } as const;

/** `AttributeProto.AttributeType` values used here. */
const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 } as const;

export type Attribute = Record<string, unknown> & { name: string };
export interface NodeProto {
  op_type: string;
  name: string;
  input: string[];
  output: string[];
  attribute: Attribute[];
}
export interface TensorProto {
  name: string;
  dims: number[];
  data_type: number;
  raw_data: Uint8Array;
}
/** A dimension: a fixed size, a symbolic name, or unknown (`null`). */
export type Dim = number | string | null;

export const attr = {
  int: (name: string, i: number): Attribute => ({ name, type: AttributeType.INT, i }),
  ints: (name: string, ints: readonly number[]): Attribute => ({ name, type: AttributeType.INTS, ints: [...ints] }),
  float: (name: string, f: number): Attribute => ({ name, type: AttributeType.FLOAT, f }),
  string: (name: string, s: string): Attribute => ({ name, type: AttributeType.STRING, s: new TextEncoder().encode(s) }),
};

/** A float32 `ValueInfoProto` with the given shape. */
export function valueInfo(name: string, shape: readonly Dim[], docString?: string) {
  const dim = shape.map((d) => (typeof d === 'number' ? { dim_value: d } : typeof d === 'string' ? { dim_param: d } : {}));
  return {
    name,
    type: { tensor_type: { elem_type: DataType.FLOAT, shape: { dim } } },
    ...(docString ? { doc_string: docString } : {}),
  };
}

/** Little-endian bytes of a typed array (a view when the platform is little-endian, which every supported one is). */
export function rawBytes(data: Float32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Encodes a model with the graph written last. Protobuf readers accept fields in any order, and with the graph last a
 * truncated file always fails to decode (the graph's length prefix points past the end) or lacks its graph, instead of
 * decoding as a smaller valid model.
 */
export function encodeModel(model: Record<string, unknown>, graph: Record<string, unknown>): Uint8Array {
  const head = ModelProto.encode(ModelProto.fromObject(model)).finish();
  const body = GraphProto.encode(GraphProto.fromObject(graph)).finish();
  const tag = protobuf.Writer.create().uint32((7 << 3) | 2).uint32(body.length).finish();
  const out = new Uint8Array(head.length + tag.length + body.length);
  out.set(head, 0);
  out.set(tag, head.length);
  out.set(body, head.length + tag.length);
  return out;
}
