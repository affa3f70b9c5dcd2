// The .safetensors format: an 8-byte little-endian header length N, N bytes of JSON
// ({ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: { string: string } }), then the tensor bytes,
// little-endian, offsets relative to the end of the header.
import { echo, ModelsError } from './errors.ts';

/** dtypes {@link decodeSafetensors} reads. Floats decode to `Float32Array`, I64 to `BigInt64Array`, I32 to `Int32Array`. */
export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32';

/** One tensor of a .safetensors file. */
export interface SafeTensor {
  /** dtype as stored in the file. */
  readonly dtype: SafetensorsDtype;
  /** Shape in PyTorch's layout (e.g. OIHW for convolution weights); `[]` for a scalar. */
  readonly shape: readonly number[];
  /** Values in row-major order. */
  readonly data: Float32Array | BigInt64Array | Int32Array;
}

/** The tensors of a .safetensors file by name, plus its `__metadata__`. */
export interface SafetensorsFile {
  readonly tensors: ReadonlyMap<string, SafeTensor>;
  readonly metadata: Readonly<Record<string, string>>;
}

const ITEM_SIZE: Record<SafetensorsDtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4 };
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function invalid(message: string): never {
  throw new ModelsError('INVALID_SAFETENSORS', message);
}

/** IEEE 754 half-precision bits to a number (subnormals, infinities and NaN included). */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction === 0 ? sign * Infinity : Number.NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

function decodeData(dtype: SafetensorsDtype, bytes: Uint8Array, count: number): SafeTensor['data'] {
  // Copy into a fresh, aligned buffer; typed-array views then read little-endian on little-endian hosts.
  const copy = bytes.slice();
  const view = new DataView(copy.buffer, copy.byteOffset, copy.byteLength);
  switch (dtype) {
    case 'F32': {
      if (LITTLE_ENDIAN) return new Float32Array(copy.buffer, 0, count);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    }
    case 'F64': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
      return out;
    }
    case 'F16': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
      return out;
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const bits = new Uint32Array(count);
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(i * 2, true) << 16;
      return new Float32Array(bits.buffer);
    }
    case 'I64': {
      if (LITTLE_ENDIAN) return new BigInt64Array(copy.buffer, 0, count);
      const out = new BigInt64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getBigInt64(i * 8, true);
      return out;
    }
    case 'I32': {
      if (LITTLE_ENDIAN) return new Int32Array(copy.buffer, 0, count);
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, true);
      return out;
    }
  }
}

/**
 * Decodes the bytes of a `.safetensors` file (as written by PyTorch's `safetensors.torch.save_file`) into tensors by name.
 * F32, F16, BF16 and F64 decode to `Float32Array`; I64 to `BigInt64Array` (e.g. batch-norm `num_batches_tracked`); I32 to
 * `Int32Array`. Shapes stay in PyTorch's layout.
 * @throws {ModelsError} `INVALID_SAFETENSORS` for a truncated or malformed file or an unsupported dtype (the message
 *   names the tensor).
 * @example const { tensors } = decodeSafetensors(new Uint8Array(await (await fetch(url)).arrayBuffer()));
 */
export function decodeSafetensors(bytes: Uint8Array): SafetensorsFile {
  if (!(bytes instanceof Uint8Array)) invalid(`Expected the file's bytes as a Uint8Array, got ${echo(bytes)}.`);
  if (bytes.byteLength < 8) invalid(`Expected at least 8 bytes (the header length), got ${bytes.byteLength}.`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(bytes.byteLength - 8)) {
    invalid(`Header length ${headerLength} runs past the end of the file (${bytes.byteLength} bytes); the file is truncated or not .safetensors.`);
  }
  const start = 8 + Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, start)));
  } catch (cause) {
    throw new ModelsError('INVALID_SAFETENSORS', 'The header is not valid UTF-8 JSON; the file is not .safetensors.', { cause });
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) invalid(`Expected the header to be a JSON object, got ${echo(header)}.`);
  const bufferLength = bytes.byteLength - start;
  const tensors = new Map<string, SafeTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      // The format's metadata is a map of strings; anything else would reach callers as strings that are not.
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry) || !Object.values(entry).every((v) => typeof v === 'string')) {
        invalid(`Expected __metadata__ to be an object of strings, got ${echo(entry)}.`);
      }
      metadata = { ...(entry as Record<string, string>) };
      continue;
    }
    const { dtype, shape, data_offsets: offsets } = (entry ?? {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string' || !Object.hasOwn(ITEM_SIZE, dtype)) {
      invalid(`Tensor ${echo(name)} has dtype ${echo(dtype)}; supported: ${Object.keys(ITEM_SIZE).join(', ')}.`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      invalid(`Tensor ${echo(name)} has shape ${echo(shape)}; expected an array of non-negative integers.`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0)) {
      invalid(`Tensor ${echo(name)} has data_offsets ${echo(offsets)}; expected [begin, end].`);
    }
    const [begin, end] = offsets as [number, number];
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    const size = ITEM_SIZE[dtype as SafetensorsDtype];
    if (end < begin || end > bufferLength || end - begin !== count * size) {
      invalid(
        `Tensor ${echo(name)} (${dtype} [${(shape as number[]).join(', ')}]) expects ${count * size} bytes, got data_offsets [${begin}, ${end}] in a ${bufferLength}-byte buffer.`,
      );
    }
    tensors.set(name, {
      dtype: dtype as SafetensorsDtype,
      shape: shape as number[],
      data: decodeData(dtype as SafetensorsDtype, bytes.subarray(start + begin, start + end), count),
    });
  }
  return { tensors, metadata };
}

/** A tensor to encode: F32 from a `Float32Array`, I64 from a `BigInt64Array`, I32 from an `Int32Array`. */
export interface SafeTensorInput {
  readonly shape: readonly number[];
  readonly data: Float32Array | BigInt64Array | Int32Array;
}

/**
 * Encodes tensors (PyTorch layout) as a `.safetensors` file that PyTorch's `safetensors.torch.load_file` reads.
 * The dtype follows the array: `Float32Array` → F32, `BigInt64Array` → I64, `Int32Array` → I32.
 * @throws {ModelsError} `INVALID_SAFETENSORS` when a tensor's data length does not match its shape.
 * @example await writeFile('model.safetensors', encodeSafetensors(toPytorchWeights(model)));
 */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, SafeTensorInput> | Readonly<Record<string, SafeTensorInput>>,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  const entries: [string, SafeTensorInput][] =
    tensors instanceof Map ? [...(tensors as ReadonlyMap<string, SafeTensorInput>).entries()] : Object.entries(tensors as Record<string, SafeTensorInput>);
  // No prototype: a tensor named "__proto__" stays a key of the header.
  const header: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  if (Object.keys(metadata).length > 0) header['__metadata__'] = metadata;
  let offset = 0;
  for (const [name, t] of entries) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== count) invalid(`Tensor ${echo(name)} has shape [${t.shape.join(', ')}] (${count} values) but ${t.data.length} values.`);
    const dtype = t.data instanceof Float32Array ? 'F32' : t.data instanceof BigInt64Array ? 'I64' : 'I32';
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  // Pad the header with spaces to a multiple of 8 so the tensor data is aligned.
  const padded = Math.ceil(json.byteLength / 8) * 8;
  if (padded !== json.byteLength) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.byteLength + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  let at = 8 + json.byteLength;
  for (const [, t] of entries) {
    if (LITTLE_ENDIAN) {
      out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    } else {
      for (let i = 0; i < t.data.length; i++) {
        if (t.data instanceof Float32Array) view.setFloat32(at + i * 4, t.data[i]!, true);
        else if (t.data instanceof BigInt64Array) view.setBigInt64(at + i * 8, t.data[i]!, true);
        else view.setInt32(at + i * 4, t.data[i]!, true);
      }
    }
    at += t.data.byteLength;
  }
  return out;
}
