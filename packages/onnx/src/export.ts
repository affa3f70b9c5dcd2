// exportOnnx: walks a tfjs-layers functional model node by node and writes the ONNX model (NCHW, dynamic N/H/W).
import type { LayersModel, SymbolicTensor, layers } from '@tensorflow/tfjs-layers';
import { echo, OnnxError } from './errors.ts';
import { GraphBuilder, type Value } from './graph.ts';
import { canFoldBatchNorm, LAYER_CONVERTERS, SUPPORTED_LAYERS } from './layers.ts';
import { encodeModel, valueInfo, type Dim } from './proto.ts';

/** Options of {@link exportOnnx}. */
export interface ExportOnnxOptions {
  /**
   * Stored as the model's `metadata_props` (string keys and values): what a deployment needs to feed the model, such as
   * normalisation, the training scale, the classes, the threshold, minimum areas, tuned rules as JSON.
   */
  metadata?: Record<string, string>;
  /** Fold each batch norm that follows a convolution into that convolution's weights and bias. Default true. */
  foldBatchNorm?: boolean;
  /** ONNX opset of the default domain, 13 to 21. Default 17. */
  opset?: number;
}

/** The opset {@link exportOnnx} writes unless told otherwise. */
export const DEFAULT_OPSET = 17;
const OPSETS = { min: 13, max: 21 } as const;
/** ONNX IR version per opset range (IR 8 up to opset 17, IR 9 to 20, IR 10 from 21). */
const irVersion = (opset: number) => (opset <= 17 ? 8 : opset <= 20 ? 9 : 10);

/** Name of the graph input. */
export const INPUT_NAME = 'image';
/** Names of the graph outputs, in the model's output order (`output_<i>` beyond these). */
export const OUTPUT_NAMES = ['logits', 'class_logits'] as const;

const INPUT_DOC =
  'float32 [N, C, H, W], normalised as the metadata says; H and W must be multiples of 32 (pad right/bottom with 0 after normalisation and crop the logits back).';

type Layer = layers.Layer;
interface Application {
  layer: Layer;
  inputs: SymbolicTensor[];
  outputs: SymbolicTensor[];
}

/** Every (layer, inbound node) pair that belongs to the model, in an order where producers come first. */
function applications(model: LayersModel): Application[] {
  const inModel = (model as unknown as { containerNodes?: Set<string> }).containerNodes;
  const all: Application[] = [];
  for (const layer of model.layers) {
    if (layer.getClassName() === 'Functional' || layer.getClassName() === 'Sequential' || layer.getClassName() === 'Model') {
      throw new OnnxError('UNSUPPORTED_MODEL', `Cannot export nested model "${layer.name}"; export a model built from layers only.`);
    }
    layer.inboundNodes.forEach((node, i) => {
      if (inModel && !inModel.has(`${layer.name}_ib-${i}`)) return;
      all.push({ layer, inputs: node.inputTensors, outputs: node.outputTensors });
    });
  }
  const ready = new Set<number>(model.inputs.map((t) => t.id));
  const ordered: Application[] = [];
  let pending = all;
  while (pending.length > 0) {
    const next: Application[] = [];
    for (const a of pending) {
      if (a.layer.getClassName() === 'InputLayer' || a.inputs.every((t) => ready.has(t.id))) {
        ordered.push(a);
        for (const t of a.outputs) ready.add(t.id);
      } else {
        next.push(a);
      }
    }
    if (next.length === pending.length) {
      throw new OnnxError('UNSUPPORTED_MODEL', `Cannot order the layers of "${model.name}": ${next.map((a) => a.layer.name).slice(0, 5).join(', ')} never get their inputs.`);
    }
    pending = next;
  }
  return ordered;
}

function checkOptions(options: ExportOnnxOptions) {
  const opset = options.opset ?? DEFAULT_OPSET;
  if (!Number.isInteger(opset) || opset < OPSETS.min || opset > OPSETS.max) {
    throw new OnnxError('INVALID_OPTION', `Expected opset to be an integer from ${OPSETS.min} to ${OPSETS.max}, got ${echo(opset)}.`);
  }
  const metadata = options.metadata ?? {};
  for (const [key, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') {
      throw new OnnxError('INVALID_OPTION', `Expected metadata values to be strings, got ${echo(v)} for key ${echo(key)}; JSON.stringify objects first.`);
    }
  }
  return { opset, metadata, foldBatchNorm: options.foldBatchNorm ?? true };
}

/** A graph dimension for a tfjs dimension: fixed sizes stay, unknown ones get `symbol`. */
const dim = (size: number | null | undefined, symbol: string | null): Dim => (size == null ? symbol : size);

/** Whether output spatial size equals input spatial size (so the output can share the input's symbolic H and W). */
function keepsSize(model: LayersModel): boolean {
  const [, , , c] = model.inputs[0]!.shape;
  try {
    const out = model.computeOutputShape([1, 64, 96, c ?? 1]);
    const first = (Array.isArray(out[0]) ? out[0] : out) as (number | null)[];
    return first[1] === 64 && first[2] === 96;
  } catch {
    return false;
  }
}

/**
 * Exports a tfjs-layers functional model (every model `createModel` of @steel/models builds: UNet/FPN on ResNet
 * encoders, 1 or 3 channels, with or without the classification head) or a `tf.sequential` model to ONNX bytes.
 *
 * The graph's input is `image`, float32 `[N, C, H, W]` with dynamic N, H and W (H and W multiples of 32; the graph does
 * not check it); its outputs are `logits` `[N, classes, H, W]` and, with a classification head, `class_logits`
 * `[N, classes]`. The whole graph is NCHW (no Transpose inside); ZeroPadding2D is folded into the next Conv or MaxPool,
 * and with `foldBatchNorm` each batch norm after a convolution is folded into it. Weights are read with `dataSync()`.
 * @throws {OnnxError} `UNSUPPORTED_LAYER` for a layer class with no ONNX form (the message names the layer and lists the
 *   supported classes), `UNSUPPORTED_MODEL` for several inputs or nested models, `INVALID_OPTION` for a bad opset or a
 *   metadata value that is not a string.
 * @example
 * const bytes = exportOnnx(model, { metadata: { classes: '4', normalisation: JSON.stringify({ mean: 0.34, std: 0.14 }) } });
 * await writeFile('model.onnx', bytes);
 */
export function exportOnnx(net: LayersModel, options: ExportOnnxOptions = {}): Uint8Array {
  const { opset, metadata, foldBatchNorm } = checkOptions(options);
  // A tf.sequential model keeps its layers' graph in an inner functional model, made when it is first built.
  const sequential = net as unknown as { model?: LayersModel; build?: () => void };
  if (net.getClassName() === 'Sequential' && sequential.model === undefined) sequential.build?.();
  const model = net.getClassName() === 'Sequential' && sequential.model !== undefined ? sequential.model : net;
  if (model.inputs.length !== 1) {
    throw new OnnxError('UNSUPPORTED_MODEL', `Expected a model with one input (the image), got ${model.inputs.length}.`);
  }
  const g = new GraphBuilder();
  const values = new Map<number, Value>();
  const consumers = new Map<number, Layer[]>();
  const order = applications(model);
  for (const a of order) for (const t of a.inputs) consumers.set(t.id, [...(consumers.get(t.id) ?? []), a.layer]);
  for (const t of model.outputs) consumers.set(t.id, [...(consumers.get(t.id) ?? []), model as unknown as Layer]);

  const input = model.inputs[0]!;
  const [, h, w, c] = input.shape;
  const outputNames = model.outputs.map((_, i) => OUTPUT_NAMES[i] ?? `output_${i}`);
  g.reserve([INPUT_NAME, ...outputNames]);
  values.set(input.id, { name: INPUT_NAME, rank: 4, nonNegative: false });

  const folded = new Set<Layer>();
  for (const { layer, inputs, outputs } of order) {
    if (layer.getClassName() === 'InputLayer' || folded.has(layer)) continue;
    const convert = LAYER_CONVERTERS[layer.getClassName()];
    if (!convert) {
      throw new OnnxError(
        'UNSUPPORTED_LAYER',
        `Cannot export layer "${layer.name}": no ONNX form for class ${layer.getClassName()}; supported: ${SUPPORTED_LAYERS.join(', ')}.`,
      );
    }
    const users = outputs.length === 1 ? (consumers.get(outputs[0]!.id) ?? []) : [];
    const fold = foldBatchNorm && users.length === 1 && canFoldBatchNorm(layer, users[0]!) ? users[0]! : null;
    const ins = inputs.map((t) => values.get(t.id)!);
    const outs = convert({ g, layer, config: layer.getConfig() as Record<string, unknown>, inputs: ins, fold });
    outputs.forEach((t, i) => values.set(t.id, outs[i]!));
    if (fold) {
      folded.add(fold);
      for (const bnOut of fold.inboundNodes.flatMap((n) => n.outputTensors)) values.set(bnOut.id, outs[0]!);
    }
  }

  const same = keepsSize(model);
  const outputsInfo = model.outputs.map((t, i) => {
    const v = values.get(t.id);
    if (v === undefined) throw new OnnxError('UNSUPPORTED_MODEL', `Cannot export "${net.name}": its output ${i} is not computed by the model's own layers.`);
    const name = outputNames[i]!;
    g.node('Identity', name, [g.materialize(v)], [], [name]);
    const shape = t.shape;
    const dims: Dim[] =
      shape.length === 4
        ? [dim(shape[0], 'N'), dim(shape[3], null), dim(shape[1], same ? 'H' : null), dim(shape[2], same ? 'W' : null)]
        : shape.map((s, j) => dim(s, j === 0 ? 'N' : null));
    return valueInfo(name, dims);
  });

  const graph = {
    name: model.name,
    node: g.nodes,
    initializer: g.initializers,
    input: [valueInfo(INPUT_NAME, [dim(input.shape[0], 'N'), dim(c, null), dim(h, 'H'), dim(w, 'W')], INPUT_DOC)],
    output: outputsInfo,
  };
  const header = {
    ir_version: irVersion(opset),
    opset_import: [{ domain: '', version: opset }],
    producer_name: '@steel/onnx',
    producer_version: '0.1.0',
    doc_string: `${model.name}: ${INPUT_DOC}`,
    metadata_props: Object.entries(metadata).map(([key, v]) => ({ key, value: v })),
  };
  return encodeModel(header, graph);
}
