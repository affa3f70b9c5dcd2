import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { add, assemble, get, i32, i64, sleb, uleb, wrap, shrU64, mul64, extendU } from './wasm.ts';

// Independent LEB128 readers, from the WebAssembly specification's definition.
function readUnsigned(bytes: number[]): number {
  let result = 0;
  let shift = 0;
  for (const byte of bytes) {
    result += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if ((byte & 0x80) === 0) break;
  }
  return result;
}
function readSigned(bytes: number[]): bigint {
  let result = 0n;
  let shift = 0n;
  let byte = 0;
  for (byte of bytes) {
    result |= BigInt(byte & 0x7f) << shift;
    shift += 7n;
    if ((byte & 0x80) === 0) break;
  }
  if ((byte & 0x40) !== 0) result -= 1n << shift;
  return result;
}

describe('wasm assembler', () => {
  test.prop([fc.nat({ max: 0xffffffff })])('uleb round-trips unsigned 32-bit values; only the last byte lacks the high bit', (value) => {
    const bytes = uleb(value);
    expect(readUnsigned(bytes)).toBe(value);
    expect(bytes.slice(0, -1).every((b) => b >= 0x80)).toBe(true);
  });

  test.prop([fc.integer({ min: -0x80000000, max: 0x7fffffff })])('sleb round-trips signed 32-bit values', (value) => {
    expect(readSigned(sleb(value))).toBe(BigInt(value));
  });

  test.prop([fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n })])('i64 constants round-trip signed 64-bit values', (value) => {
    const code = i64(value);
    expect(code[0]).toBe(0x42);
    expect(readSigned(code.slice(1))).toBe(value);
  });

  it('assembles a module that runs: i32 and i64 arithmetic', () => {
    const bytes = assemble([
      { name: 'f', params: 2, result: true, locals: 0, body: [add(get(0), add(get(1), i32(-5)))] },
      { name: 'd', params: 1, result: true, locals: 0, body: [wrap(shrU64(mul64(extendU(get(0)), i64(0xd1b71759)), i64(45)))] },
    ]);
    const wasm = (globalThis as unknown as { WebAssembly: { Module: new (b: Uint8Array) => object; Instance: new (m: object) => { exports: unknown } } }).WebAssembly;
    const { f, d } = new wasm.Instance(new wasm.Module(bytes)).exports as { f: (a: number, b: number) => number; d: (v: number) => number };
    expect(f(40, 7)).toBe(42);
    for (const v of [0, 9_999, 10_000, 123_456_789, 0xffffffff]) expect(d(v) >>> 0).toBe(Math.floor(v / 10_000));
  });
});
