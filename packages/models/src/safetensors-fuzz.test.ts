// Fuzzing decodeSafetensors, the parser a user's .safetensors file reaches (`train --pretrained`, `import`): a decoded file
// or a typed ModelsError INVALID_SAFETENSORS, nothing else.
import { readFileSync } from 'node:fs';
import { fc, test } from '@fast-check/vitest';
import { expect } from 'vitest';
import { fuzzSuites, typedOnly } from '../../../tooling/vitest/fuzz.ts';
import { isModelsError } from './errors.ts';
import { decodeSafetensors, encodeSafetensors } from './safetensors.ts';

const REAL = new Uint8Array(readFileSync(new URL('./__fixtures__/dtypes.safetensors', import.meta.url)));
const isInvalidSafetensors = (e: unknown) => isModelsError(e) && e.code === 'INVALID_SAFETENSORS';

/** A file with `header` (any JSON value, or raw text) and `body` bytes after it, its length field set to `claimed` if given. */
function file(header: string, body: Uint8Array, claimed?: bigint): Uint8Array {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.length + body.length);
  new DataView(out.buffer).setBigUint64(0, claimed ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(body, 8 + json.length);
  return out;
}

const dim = fc.oneof(fc.integer({ min: 0, max: 6 }), fc.constantFrom(-1, 1.5, 2 ** 53, 1e300, Number.NaN), fc.string({ maxLength: 2 }));
const entry = fc.record(
  {
    dtype: fc.oneof(fc.constantFrom('F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'U8', 'f32', ''), fc.jsonValue()),
    shape: fc.oneof(fc.array(dim, { maxLength: 4 }), fc.jsonValue()),
    data_offsets: fc.oneof(fc.tuple(fc.integer({ min: 0, max: 80 }), fc.integer({ min: 0, max: 80 })), fc.array(dim, { maxLength: 3 }), fc.jsonValue()),
  },
  { requiredKeys: [] },
);
const metadata = fc.oneof(fc.dictionary(fc.string(), fc.string()), fc.jsonValue());
const header = fc.oneof(
  fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'a.weight')), fc.oneof(entry, fc.jsonValue()), { maxKeys: 4 }),
  fc.record({ __metadata__: metadata, 'x.weight': entry }, { requiredKeys: [] }),
  fc.jsonValue(),
);

/** The result must be what the file says: every tensor's values fill its shape. */
function checkDecoded(bytes: Uint8Array): void {
  const { tensors, metadata: meta } = decodeSafetensors(bytes);
  for (const [, t] of tensors) expect(t.data.length).toBe(t.shape.reduce((a, b) => a * b, 1));
  for (const v of Object.values(meta)) expect(typeof v).toBe('string');
}

fuzzSuites('fuzzing decodeSafetensors', (numRuns, suite) => {
  test.prop([fc.uint8Array({ maxLength: 256 })], { numRuns })(`random bytes (${suite})`, async (bytes) => {
    await typedOnly(() => checkDecoded(bytes), isInvalidSafetensors);
  });
  test.prop([header, fc.uint8Array({ maxLength: 96 })], { numRuns })(`JSON headers with any body (${suite})`, async (h, body) => {
    await typedOnly(() => checkDecoded(file(JSON.stringify(h) ?? 'undefined', body)), isInvalidSafetensors);
  });
  test.prop([fc.string({ unit: 'binary', maxLength: 64 }), fc.uint8Array({ maxLength: 32 }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })], { numRuns })(
    `any header text and length field (${suite})`,
    async (text, body, claimed) => {
      await typedOnly(() => checkDecoded(file(text, body, claimed)), isInvalidSafetensors);
    },
  );
  // A real PyTorch file, truncated or with bytes overwritten anywhere (length field, header, data).
  test.prop([fc.nat({ max: REAL.length }), fc.array(fc.tuple(fc.nat({ max: REAL.length - 1 }), fc.integer({ min: 0, max: 255 })), { maxLength: 4 })], { numRuns })(
    `a PyTorch file, cut and mutated (${suite})`,
    async (cut, edits) => {
      const bytes = REAL.slice(0, cut === REAL.length ? REAL.length : cut);
      for (const [at, value] of edits) if (at < bytes.length) bytes[at] = value;
      await typedOnly(() => checkDecoded(bytes), isInvalidSafetensors);
    },
  );
  test.prop([fc.dictionary(fc.string(), fc.array(fc.float({ noNaN: true }), { maxLength: 6 }), { maxKeys: 3 }), fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 })], { numRuns })(
    `round trip of encodeSafetensors (${suite})`,
    (tensors, meta) => {
      const input = new Map(Object.entries(tensors).map(([k, v]) => [k, { shape: [v.length], data: Float32Array.from(v) }]));
      const { tensors: out, metadata: back } = decodeSafetensors(encodeSafetensors(input, meta));
      expect([...out.keys()]).toEqual([...input.keys()]);
      for (const [k, t] of input) expect(out.get(k)!.data).toEqual(t.data);
      expect(back).toEqual(meta);
    },
  );
});
