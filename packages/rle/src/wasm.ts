// A tiny WebAssembly assembler for the codec's kernels: each helper returns the bytes of one instruction in the folded
// form of the text format (operands first), so a kernel reads like `(i32.add (local.get 0) (i32.const 1))` and needs no
// build step or dependency. Only the instructions the kernels use are here; values are i32, i64 or v128.

export type Code = number[];

/** Unsigned LEB128. */
export function uleb(value: number): number[] {
  const bytes: number[] = [];
  let v = value >>> 0;
  do {
    const byte = v & 0x7f;
    v >>>= 7;
    bytes.push(v === 0 ? byte : byte | 0x80);
  } while (v !== 0);
  return bytes;
}

/** Signed LEB128 of a 32-bit integer. */
export function sleb(value: number): number[] {
  const bytes: number[] = [];
  let v = value | 0;
  while (true) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      bytes.push(byte);
      return bytes;
    }
    bytes.push(byte | 0x80);
  }
}

const seq = (...parts: Code[]): Code => parts.flat();
const binary = (opcode: number) => (a: Code, b: Code): Code => [...a, ...b, opcode];
const simd = (opcode: number): Code => [0xfd, ...uleb(opcode)];
const simdBinary = (opcode: number) => (a: Code, b: Code): Code => [...a, ...b, ...simd(opcode)];

// Variables and constants.
export const get = (local: number): Code => [0x20, ...uleb(local)];
export const set = (local: number, value: Code): Code => [...value, 0x21, ...uleb(local)];
export const tee = (local: number, value: Code): Code => [...value, 0x22, ...uleb(local)];
export const i32 = (value: number): Code => [0x41, ...sleb(value)];

// i32 arithmetic and comparisons (unsigned unless named otherwise).
export const add = binary(0x6a);
export const sub = binary(0x6b);
export const mul = binary(0x6c);
export const divU = binary(0x6e);
export const and = binary(0x71);
export const shl = binary(0x74);
export const shrU = binary(0x76);
export const xor = binary(0x73);
export const ne = binary(0x47);
export const ltU = binary(0x49);
export const gtU = binary(0x4b);
export const geU = binary(0x4f);
export const eqz = (a: Code): Code => [...a, 0x45];
/** `condition ? a : b`, both evaluated. */
export const select = (a: Code, b: Code, condition: Code): Code => [...a, ...b, ...condition, 0x1b];

// i64, for 64-bit masks and words.
export const i64 = (value: number | bigint): Code => [0x42, ...sleb64(BigInt(value))];

/** Signed LEB128 of a 64-bit integer. */
function sleb64(value: bigint): number[] {
  const bytes: number[] = [];
  let v = BigInt.asIntN(64, value);
  while (true) {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    if ((v === 0n && (byte & 0x40) === 0) || (v === -1n && (byte & 0x40) !== 0)) {
      bytes.push(byte);
      return bytes;
    }
    bytes.push(byte | 0x80);
  }
}
export const extendU = (a: Code): Code => [...a, 0xad];
export const wrap = (a: Code): Code => [...a, 0xa7];
export const eqz64 = (a: Code): Code => [...a, 0x50];
export const ctz64 = (a: Code): Code => [...a, 0x7a];
export const add64 = binary(0x7c);
export const sub64 = binary(0x7d);
export const mul64 = binary(0x7e);
export const xor64 = binary(0x85);
export const and64 = binary(0x83);
export const or64 = binary(0x84);
export const shl64 = binary(0x86);
export const shrU64 = binary(0x88);

// Memory. Offsets are static byte offsets added to the address.
export const load = (address: Code, offset = 0): Code => [...address, 0x28, 2, ...uleb(offset)];
export const load8 = (address: Code, offset = 0): Code => [...address, 0x2d, 0, ...uleb(offset)];
export const load64 = (address: Code, offset = 0): Code => [...address, 0x29, 3, ...uleb(offset)];
/** i64.load32_u. */
export const load32U64 = (address: Code, offset = 0): Code => [...address, 0x35, 2, ...uleb(offset)];
export const store = (address: Code, value: Code, offset = 0): Code => [...address, ...value, 0x36, 2, ...uleb(offset)];
export const store8 = (address: Code, value: Code, offset = 0): Code => [...address, ...value, 0x3a, 0, ...uleb(offset)];
export const store64 = (address: Code, value: Code, offset = 0): Code => [...address, ...value, 0x37, 3, ...uleb(offset)];
/** memory.fill (bulk memory). */
export const fill = (address: Code, value: Code, length: Code): Code => [...address, ...value, ...length, 0xfc, ...uleb(11), 0];

// 128-bit SIMD.
export const v128Load = (address: Code, offset = 0): Code => [...address, ...simd(0x00), 0, ...uleb(offset)];
export const v128Store = (address: Code, value: Code, offset = 0): Code => [...address, ...value, ...simd(0x0b), 0, ...uleb(offset)];
export const v128Zero: Code = [...simd(0x0c), ...new Array<number>(16).fill(0)];
export const v128Or = simdBinary(0x50);
export const v128Xor = simdBinary(0x51);
export const anyTrue = (a: Code): Code => [...a, ...simd(0x53)];
export const i8x16Eq = simdBinary(0x23);
export const i8x16Bitmask = (a: Code): Code => [...a, ...simd(0x64)];

// Control. Branch targets are depths: 0 is the innermost enclosing block, loop or if.
export const block = (...body: Code[]): Code => [0x02, 0x40, ...seq(...body), 0x0b];
export const loop = (...body: Code[]): Code => [0x03, 0x40, ...seq(...body), 0x0b];
export const when = (condition: Code, ...body: Code[]): Code => [...condition, 0x04, 0x40, ...seq(...body), 0x0b];
export const ifElse = (condition: Code, then: Code[], otherwise: Code[]): Code => [...condition, 0x04, 0x40, ...seq(...then), 0x05, ...seq(...otherwise), 0x0b];
export const br = (depth: number): Code => [0x0c, ...uleb(depth)];
export const brIf = (depth: number, condition: Code): Code => [...condition, 0x0d, ...uleb(depth)];
export const ret = (value: Code): Code => [...value, 0x0f];
export const call = (func: number, ...args: Code[]): Code => [...seq(...args), 0x10, ...uleb(func)];

/**
 * One function: `params` i32 parameters, an optional i32 result, `locals` more i32 locals numbered after the parameters,
 * then `vectors` v128 locals, then `longs` i64 locals.
 */
export interface WasmFunction {
  readonly name: string;
  readonly params: number;
  readonly result: boolean;
  readonly locals: number;
  readonly vectors?: number;
  readonly longs?: number;
  readonly body: Code[];
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

function vector(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function name(text: string): number[] {
  return [...uleb(text.length), ...Array.from(text, (ch) => ch.charCodeAt(0))];
}

/** A module with one memory of at least one page, exported as `m`, and `functions` exported by name (function i has type i). */
export function assemble(functions: readonly WasmFunction[]): Uint8Array<ArrayBuffer> {
  const types = functions.map((f) => [0x60, ...uleb(f.params), ...new Array<number>(f.params).fill(0x7f), ...(f.result ? [1, 0x7f] : [0])]);
  const code = functions.map((f) => {
    const groups = ([[f.locals, 0x7f], [f.vectors ?? 0, 0x7b], [f.longs ?? 0, 0x7e]] as const).filter(([count]) => count > 0).map(([count, type]) => [...uleb(count), type]);
    const body = [...vector(groups), ...seq(...f.body), 0x0b];
    return [...uleb(body.length), ...body];
  });
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
    ...section(1, vector(types)),
    ...section(3, vector(functions.map((_, i) => uleb(i)))),
    ...section(5, [1, 0x00, 1]), // one memory, at least 1 page
    ...section(7, vector([[...name('m'), 0x02, 0], ...functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)])])),
    ...section(10, vector(code)),
  ]);
}
