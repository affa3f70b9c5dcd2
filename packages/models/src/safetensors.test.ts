import { readFileSync } from 'node:fs';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { isModelsError } from './errors.ts';
import { decodeSafetensors, encodeSafetensors, halfToFloat } from './safetensors.ts';
import expected from './__fixtures__/dtypes.json' with { type: 'json' };

describe('decodeSafetensors on a file PyTorch serialised', () => {
  // F32 / F16 / BF16 / I64 tensors converted by torch itself (scripts/pytorch_reference.py).
  const file = decodeSafetensors(new Uint8Array(readFileSync(new URL('./__fixtures__/dtypes.safetensors', import.meta.url))));

  it('reads the metadata and every tensor name', () => {
    expect(file.metadata).toEqual({ format: 'pt' });
    expect([...file.tensors.keys()].sort()).toEqual(Object.keys(expected.tensors).sort());
  });

  it.each(Object.entries(expected.tensors))('decodes %s', (name, want) => {
    const t = file.tensors.get(name)!;
    expect(t.dtype).toBe(want.dtype);
    expect(t.shape).toEqual(want.shape);
    if (want.dtype === 'I64') expect([...(t.data as BigInt64Array)]).toEqual(want.values.map((v) => BigInt(v)));
    else expect([...(t.data as Float32Array)]).toEqual(want.values);
  });
});

describe('halfToFloat', () => {
  it.each([
    [0x3c00, 1],
    [0xc000, -2],
    [0x0001, 2 ** -24],
    [0x7bff, 65504],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
    [0x8000, -0],
  ])('0x%s → %s', (bits, value) => {
    expect(halfToFloat(bits)).toBe(value);
  });
  it('maps NaN patterns to NaN', () => expect(halfToFloat(0x7e00)).toBeNaN());
});

const tensorArb = fc
  .array(fc.integer({ min: 0, max: 4 }), { minLength: 0, maxLength: 4 })
  .chain((shape) => {
    const count = shape.reduce((a, b) => a * b, 1);
    return fc.record({
      shape: fc.constant(shape),
      data: fc.oneof(
        fc.float32Array({ minLength: count, maxLength: count, noDefaultInfinity: false }),
        fc.bigInt64Array({ minLength: count, maxLength: count }),
        fc.int32Array({ minLength: count, maxLength: count }),
      ),
    });
  });

test.prop([fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }).filter((s) => s !== '__metadata__'), tensorArb, { maxKeys: 5 })])(
  'decode(encode(tensors)) returns the tensors',
  (tensors) => {
    const file = decodeSafetensors(encodeSafetensors(tensors, { note: 'x' }));
    expect(file.metadata).toEqual({ note: 'x' });
    expect(file.tensors.size).toBe(Object.keys(tensors).length);
    for (const [name, t] of Object.entries(tensors)) {
      const got = file.tensors.get(name)!;
      expect(got.shape).toEqual(t.shape);
      expect(got.data.constructor).toBe(t.data.constructor);
      // Bit-exact, NaN payloads aside: compare the raw bytes.
      expect(new Uint8Array(got.data.buffer, got.data.byteOffset, got.data.byteLength)).toEqual(
        new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
      );
    }
  },
);

describe('malformed files', () => {
  const header = (obj: unknown, body = new Uint8Array(0)) => {
    const json = new TextEncoder().encode(JSON.stringify(obj));
    const out = new Uint8Array(8 + json.length + body.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(json, 8);
    out.set(body, 8 + json.length);
    return out;
  };
  const codeOf = (bytes: Uint8Array) => {
    try {
      decodeSafetensors(bytes);
    } catch (error) {
      return isModelsError(error) ? error.code : error;
    }
    return 'no error';
  };

  it.each([
    ['shorter than the length field', new Uint8Array(4)],
    ['header length past the end', header({}).slice(0, 9)],
    ['header not JSON', (() => { const b = header({ a: 1 }); b[8] = 0x7b; b[9] = 0x7b; return b; })()],
    ['header an array', header([1, 2])],
    ['unsupported dtype', header({ a: { dtype: 'U8', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1))],
    ['offsets not matching the shape', header({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, new Uint8Array(8))],
    ['offsets past the buffer', header({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(4))],
    ['negative shape', header({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } })],
  ])('%s → INVALID_SAFETENSORS', (_why, bytes) => {
    expect(codeOf(bytes)).toBe('INVALID_SAFETENSORS');
  });

  it('names the tensor and the supported dtypes', () => {
    expect(() => decodeSafetensors(header({ 'encoder.conv1.weight': { dtype: 'U8', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)))).toThrowErrorMatchingInlineSnapshot(`[ModelsError: Tensor "encoder.conv1.weight" has dtype "U8"; supported: F64, F32, F16, BF16, I64, I32.]`);
  });

  it('rejects data whose length does not match the shape when encoding', () => {
    expect(() => encodeSafetensors({ a: { shape: [3], data: new Float32Array(2) } })).toThrow(/shape \[3\] \(3 values\) but 2 values/);
  });
});

it('keeps a tensor named __proto__', () => {
  const tensors = JSON.parse('{"__proto__": {"shape": [2], "data": null}}') as Record<string, { shape: number[]; data: Float32Array }>;
  Object.defineProperty(tensors, '__proto__', { value: { shape: [2], data: Float32Array.from([1, 2]) }, enumerable: true });
  const file = decodeSafetensors(encodeSafetensors(tensors));
  expect([...file.tensors.keys()]).toEqual(['__proto__']);
  expect(Array.from(file.tensors.get('__proto__')!.data as Float32Array)).toEqual([1, 2]);
});
