// A small ONNX graph under construction: nodes in execution order, float32/int64 initializers, unique value names, and
// values that carry pending zero padding (folded into the next Conv or MaxPool, or materialised as a Pad node).
import { attr, DataType, rawBytes, type Attribute, type NodeProto, type TensorProto } from './proto.ts';

/** A tensor of the ONNX graph, as the converters see it. Rank-4 values are NCHW. */
export interface Value {
  /** ONNX value name of the tensor (without `pad` applied). */
  readonly name: string;
  readonly rank: number;
  /** Every element is >= 0 (output of a ReLU, or padding / pooling of such a tensor). */
  readonly nonNegative: boolean;
  /** Zero padding not yet applied: [top, left, bottom, right]. */
  readonly pad?: readonly [number, number, number, number];
}

export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly used = new Set<string>();
  private readonly padded = new Map<string, string>();

  /** A value name not used before, derived from `base`. */
  unique(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  /** Keeps `names` for later use as exact value names (graph inputs and outputs). */
  reserve(names: readonly string[]): void {
    for (const name of names) this.used.add(name);
  }

  /** Adds a node; returns its output names (fresh names derived from `name`, or exactly `outputs` when given). */
  node(opType: string, name: string, inputs: readonly string[], attributes: Attribute[] = [], outputs?: readonly string[]): string[] {
    const output = outputs ? [...outputs] : [this.unique(name)];
    this.nodes.push({ op_type: opType, name: this.unique(`${name}/${opType}`), input: [...inputs], output, attribute: attributes });
    return output;
  }

  /** Adds a float32 initializer; returns its name. */
  float(name: string, dims: readonly number[], data: Float32Array): string {
    const unique = this.unique(name);
    this.initializers.push({ name: unique, dims: [...dims], data_type: DataType.FLOAT, raw_data: rawBytes(data) });
    return unique;
  }

  /** Adds an int64 initializer; returns its name. */
  int64(name: string, values: readonly number[]): string {
    const unique = this.unique(name);
    const data = BigInt64Array.from(values, (v) => BigInt(v));
    this.initializers.push({ name: unique, dims: [values.length], data_type: DataType.INT64, raw_data: rawBytes(data) });
    return unique;
  }

  /** The name of `value` with its pending padding applied (one Pad node per padded value, shared by its consumers). */
  materialize(value: Value): string {
    if (!value.pad || value.pad.every((p) => p === 0)) return value.name;
    const key = `${value.name}|${value.pad.join(',')}`;
    const cached = this.padded.get(key);
    if (cached) return cached;
    const [top, left, bottom, right] = value.pad;
    const pads = this.int64(`${value.name}.pads`, [0, 0, top, left, 0, 0, bottom, right]);
    const [out] = this.node('Pad', `${value.name}.pad`, [value.name, pads], [attr.string('mode', 'constant')]);
    this.padded.set(key, out!);
    return out!;
  }
}
