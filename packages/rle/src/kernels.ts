// The WebAssembly SIMD kernels of encode and decode, assembled at load time by ./wasm (a few hundred bytes, compiled
// synchronously on first use, so no async setup and browser-safe). Where WebAssembly or its SIMD is unavailable the
// kernel lookups return undefined and the codec runs its plain JavaScript paths, which give the same results.
//
// Encode. Transitions: in column-major order a run starts where a pixel is on and the pixel before is off, and ends
// where it is off and the one before is on. For r >= 1 the pixel before (r, c) is (r - 1, c), the row above, so `scan`
// goes down each strip of 64 columns of the row-major mask, comparing each row's 64 bytes with the row above
// (kept in registers): most blocks equal the block above and cost a few vector instructions. Each pixel whose zero-ness
// differs from the pixel above is a transition; `scan` appends its column-major position and column and counts the
// column. `finish` sorts the positions by column with a stable counting sort (within a column they arrive sorted by
// row) and writes the `start length` pairs as ASCII digits, eight bytes at a time from a four-digit table.
//
// Decode. `decode` parses canonical RLE from ASCII bytes (single spaces; anything else returns 0 and the caller takes
// its checked path) and, for each column segment of a run, flips the pixel at its top and the pixel just below its
// bottom in a zeroed row-major buffer, recording per strip of 16 columns the first and last row touched. A prefix XOR
// down each strip's touched rows (`xorStrips`, one vector per row) then gives the mask; `clear` zeroes those rows again.

import {
  add, add64, and64, anyTrue, assemble, block, br, brIf, call, ctz64, divU, eqz, eqz64, extendU, get, geU, gtU,
  i32, i64, i8x16Bitmask, i8x16Eq, ifElse, load, load32U64, load64, load8, loop, ltU, mul, mul64, ne, or64, ret,
  select, set, shl, shl64, shrU, shrU64, store, store64, store8, sub, sub64, tee, v128Load, v128Or, v128Store, v128Xor,
  v128Zero, when, wrap, xor, xor64, type Code, type WasmFunction,
} from './wasm.ts';

/** Byte address of the table of the four ASCII digits of 0 … 9999 ('0000', '0001', …) used to write numbers. */
export const DIGIT_TABLE = 0;
const DIGIT_TABLE_END = 40_000;

/**
 * Code that writes `value` (1 <= value < 10^7) in decimal at `p`, followed by a space, and advances `p`. Eight bytes are
 * stored at once: the eight digits with leading zeros (two entries of the four-digit table), shifted down past the
 * leading zeros (the low zero bits of the digits' values, whole bytes), and the space after them; the bytes past the
 * space are overwritten by what follows. Uses the locals `high`, and `word` and `shift` (i64).
 */
function writeNumber(p: number, value: Code, v: number, high: number, word: number, shift: number): Code[] {
  const quad = (of: Code): Code => load32U64(shl(of, i32(2)), DIGIT_TABLE);
  return [
    set(v, value),
    set(high, wrap(shrU64(mul64(extendU(get(v)), i64(0xd1b71759)), i64(45)))), // v / 10000, exact for any u32
    set(word, or64(quad(get(high)), shl64(quad(sub(get(v), mul(get(high), i32(10_000)))), i64(32)))),
    set(shift, and64(ctz64(xor64(get(word), i64(0x3030303030303030n))), i64(56))),
    store64(get(p), or64(shrU64(get(word), get(shift)), shl64(i64(32), sub64(i64(64), get(shift))))),
    set(p, add(get(p), sub(i32(9), wrap(shrU64(get(shift), i64(3)))))),
  ];
}

/**
 * scan(width, height, above, rows, r0, out, counts): the chunk's rows r0 … r0 + rows - 1 lie at above + width, after the
 * row above them. Goes down each strip of 64 columns keeping the row above in registers; where a row's 64 bytes differ
 * from those above, each byte whose zero-ness differs is a transition: appends its column-major position and its column
 * (two i32) at `out` and counts its column at counts + 4 (column + 1). In a last strip narrower than 64 columns the
 * bytes past the row end are read (up to 63 bytes past the chunk) and ignored. Returns the new end of the list; within
 * a column, positions come in increasing order. Function 0.
 */
function scan(): WasmFunction {
  const [width, height, above, rows, r0, out, counts] = [0, 1, 2, 3, 4, 5, 6];
  const [s, strips, address, r, rowEnd, o, c, column0, a] = [7, 8, 9, 10, 11, 12, 13, 14, 15];
  const [a0, a1, a2, a3, c0, c1, c2, c3] = [16, 17, 18, 19, 20, 21, 22, 23];
  const [bits, lanes] = [24, 25];
  const zeroChange = (now: number, before: number) => extendU(i8x16Bitmask(v128Xor(i8x16Eq(get(now), v128Zero), i8x16Eq(get(before), v128Zero))));
  const loadRow = (into: number[]): Code[] => into.map((local, k) => set(local, v128Load(get(address), 16 * k)));
  /** Row r of the strip into `now`, compared with `before` (the row above); then r + 1. */
  const row = (now: number[], before: number[]): Code[] => {
    const [n0, n1, n2, n3] = now as [number, number, number, number];
    const [b0, b1, b2, b3] = before as [number, number, number, number];
    return [
      set(address, add(get(address), get(width))),
      ...loadRow(now),
      when(anyTrue(v128Or(v128Or(v128Xor(get(n0), get(b0)), v128Xor(get(n1), get(b1))), v128Or(v128Xor(get(n2), get(b2)), v128Xor(get(n3), get(b3))))),
        // bit k: column column0 + k is zero in this row and not in the row above, or the other way round
        set(bits, and64(get(lanes), or64(
          or64(zeroChange(n0, b0), shl64(zeroChange(n1, b1), i64(16))),
          or64(shl64(zeroChange(n2, b2), i64(32)), shl64(zeroChange(n3, b3), i64(48))),
        ))),
        block(loop(
          brIf(1, eqz64(get(bits))),
          set(c, add(get(column0), wrap(ctz64(get(bits))))),
          store(get(o), add(mul(get(c), get(height)), get(r))),
          store(get(o), get(c), 4),
          set(a, add(get(counts), shl(get(c), i32(2)))),
          store(get(a), add(load(get(a), 4), i32(1)), 4),
          set(o, add(get(o), i32(8))),
          set(bits, and64(get(bits), sub64(get(bits), i64(1)))),
          br(0),
        ))),
      set(r, add(get(r), i32(1))),
    ];
  };
  return {
    name: 'scan', params: 7, result: true, locals: 9, vectors: 8, longs: 2,
    body: [
      set(strips, shrU(add(get(width), i32(63)), i32(6))), set(s, i32(0)), set(o, get(out)), set(rowEnd, add(get(r0), get(rows))),
      block(loop(
        brIf(1, geU(get(s), get(strips))),
        set(column0, shl(get(s), i32(6))),
        // the strip's columns as bits; fewer than 64 in a last, narrower strip
        set(lanes, select(i64(-1), sub64(shl64(i64(1), extendU(sub(get(width), get(column0)))), i64(1)), geU(sub(get(width), get(column0)), i32(64)))),
        set(address, add(get(above), get(column0))),
        ...loadRow([a0, a1, a2, a3]),
        set(r, get(r0)),
        // two rows per iteration, the registers of the row above and of this row swapping roles
        block(loop(
          brIf(1, geU(get(r), get(rowEnd))),
          ...row([c0, c1, c2, c3], [a0, a1, a2, a3]),
          brIf(1, geU(get(r), get(rowEnd))),
          ...row([a0, a1, a2, a3], [c0, c1, c2, c3]),
          br(0),
        )),
        set(s, add(get(s), i32(1))),
        br(0),
      )),
      get(o),
    ],
  };
}

/**
 * finish(list, listEnd, width, counts, sorted, text, lastOn, n): the list holds (position, column) pairs from `scan`
 * and `counts` their columns; `lastOn` adds the end of a run through the last pixel. Sorts the positions by column
 * (stable, so by row within a column) into `sorted` and writes the RLE at `text`; returns its end (text when empty).
 * Function 1.
 */
function finish(): WasmFunction {
  const [list, listEnd, width, counts, sorted, text, lastOn, n] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [k, e, sum, a, p, start, last, v, high, word, shift] = [8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18];
  return {
    name: 'finish', params: 8, result: true, locals: 9, longs: 2,
    body: [
      when(get(lastOn),
        store(get(listEnd), get(n)),
        store(get(listEnd), get(width), 4),
        set(a, add(get(counts), shl(get(width), i32(2)))),
        store(get(a), add(load(get(a), 4), i32(1)), 4),
        set(listEnd, add(get(listEnd), i32(8)))),
      // Prefix sums: counts[c] becomes the first slot of column c.
      set(a, add(get(counts), i32(4))), set(last, add(get(counts), shl(add(get(width), i32(2)), i32(2)))), set(sum, i32(0)),
      loop(
        set(sum, add(get(sum), load(get(a)))),
        store(get(a), get(sum)),
        brIf(0, ltU(tee(a, add(get(a), i32(4))), get(last))),
      ),
      // Stable scatter by column.
      set(k, get(list)),
      block(loop(
        brIf(1, geU(get(k), get(listEnd))),
        set(a, add(get(counts), shl(load(get(k), 4), i32(2)))),
        set(sum, load(get(a))),
        store(get(a), add(get(sum), i32(1))),
        store(add(get(sorted), shl(get(sum), i32(2))), load(get(k))),
        set(k, add(get(k), i32(8))),
        br(0),
      )),
      // Digits: `start + 1` and `end - start` for each pair, each followed by a space.
      set(e, shrU(sub(get(listEnd), get(list)), i32(1))), // bytes of sorted positions
      set(p, get(text)), set(k, i32(0)),
      block(loop(
        brIf(1, geU(get(k), get(e))),
        set(start, load(add(get(sorted), get(k)))),
        ...writeNumber(p, add(get(start), i32(1)), v, high, word, shift),
        ...writeNumber(p, sub(load(add(get(sorted), get(k)), 4), get(start)), v, high, word, shift),
        set(k, add(get(k), i32(8))),
        br(0),
      )),
      select(sub(get(p), i32(1)), get(text), gtU(get(p), get(text))),
    ],
  };
}

/**
 * decode(text, textEnd, width, height, buf, strips): parses canonical RLE and flips run boundaries into the zeroed
 * row-major `buf` as described above, then calls `xorStrips`; returns 1, or 0 (leaving flips and strip records for
 * `clear`) on anything that is not a valid canonical RLE. Strip s holds at strips + 8s: height - first row touched,
 * and last row touched + 1 (0, 0 when untouched). Needs eight readable bytes from textEnd, the first not a digit.
 * Function 2.
 */
function decode(): WasmFunction {
  const [text, textEnd, width, height, buf, strips] = [0, 1, 2, 3, 4, 5];
  const [i, total, previousEnd, start, length, digits, c, r, left, take, a, e] = [6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17];
  const [word, x] = [18, 19];
  const flip = (row: Code): Code[] => [set(a, add(get(buf), add(mul(row, get(width)), get(c)))), store8(get(a), xor(load8(get(a)), i32(1)))];
  const fail = ret(i32(0));
  const nibbles = i64(0xf0f0f0f0f0f0f0f0n);
  const zeros = i64(0x3030303030303030n);
  /**
   * The decimal token at i (one to seven digits) into `into`, i past it; fails on no digit or eight or more. Eight bytes
   * are read at once: a byte is a digit when its high nibble is 3 before and after adding 6; the first byte that is not
   * ends the token. The digits, shifted up so that leading zeros fill the low bytes, combine in three multiplications
   * (pairs, quads, the eight).
   */
  const token = (into: number): Code[] => [
    set(word, load64(get(i))),
    set(digits, shrU(wrap(ctz64(or64(
      xor64(and64(get(word), nibbles), zeros),
      xor64(and64(add64(get(word), i64(0x0606060606060606n)), nibbles), zeros),
    ))), i32(3))),
    when(eqz(get(digits)), fail),
    when(gtU(get(digits), i32(7)), fail),
    set(x, shl64(sub64(get(word), zeros), extendU(shl(sub(i32(8), get(digits)), i32(3))))),
    set(x, and64(add64(mul64(get(x), i64(10)), shrU64(get(x), i64(8))), i64(0x00ff00ff00ff00ffn))),
    set(x, and64(add64(mul64(get(x), i64(100)), shrU64(get(x), i64(16))), i64(0x0000ffff0000ffffn))),
    set(into, wrap(add64(mul64(get(x), i64(10_000)), shrU64(get(x), i64(32))))),
    set(i, add(get(i), get(digits))),
  ];
  return {
    name: 'decode', params: 6, result: true, locals: 12, longs: 2,
    body: [
      set(total, mul(get(width), get(height))), set(i, get(text)), set(previousEnd, i32(0)),
      block(loop(
        block(loop( // spaces; the end of the text here means done
          brIf(3, geU(get(i), get(textEnd))),
          brIf(1, ne(load8(get(i)), i32(32))),
          set(i, add(get(i), i32(1))),
          br(0),
        )),
        // start: digits, then exactly one space, then the length: digits, then a space or the end
        ...token(start),
        when(ne(load8(get(i)), i32(32)), fail),
        when(geU(tee(i, add(get(i), i32(1))), get(textEnd)), fail),
        ...token(length),
        when(ltU(get(i), get(textEnd)), when(ne(load8(get(i)), i32(32)), fail)),
        // checks: 1-based start after the previous run, nonzero length, inside the mask
        when(eqz(get(start)), fail),
        set(start, sub(get(start), i32(1))),
        when(ltU(get(start), get(previousEnd)), fail),
        when(eqz(get(length)), fail),
        when(gtU(tee(previousEnd, add(get(start), get(length))), get(total)), fail),
        // column segments
        set(c, divU(get(start), get(height))),
        set(r, sub(get(start), mul(get(c), get(height)))),
        set(left, get(length)),
        loop(
          set(take, select(get(left), sub(get(height), get(r)), ltU(get(left), sub(get(height), get(r))))),
          ...flip(get(r)),
          set(e, add(get(r), get(take))),
          ifElse(ltU(get(e), get(height)), flip(get(e)), [set(e, sub(get(height), i32(1)))]),
          set(a, add(get(strips), shl(shrU(get(c), i32(4)), i32(3)))),
          when(gtU(sub(get(height), get(r)), load(get(a))), store(get(a), sub(get(height), get(r)))),
          when(gtU(add(get(e), i32(1)), load(get(a), 4)), store(get(a), add(get(e), i32(1)), 4)),
          set(left, sub(get(left), get(take))),
          set(r, i32(0)),
          set(c, add(get(c), i32(1))),
          brIf(0, get(left)),
        ),
        br(0),
      )),
      call(3, get(width), get(height), get(buf), get(strips)),
      i32(1),
    ],
  };
}

/** Visits the touched rows of each strip: `body` gets the address of the strip's first touched row. */
function stripLoop(name: string, perStrip: (first: number, last: number, address: number) => Code[]): WasmFunction {
  const [width, height, buf, strips, s, a, first, last, address, count] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  return {
    name, params: 4, result: false, locals: 6, vectors: 1,
    body: [
      set(count, shrU(get(width), i32(4))), set(s, i32(0)),
      block(loop(
        brIf(1, geU(get(s), get(count))),
        set(a, add(get(strips), shl(get(s), i32(3)))),
        when(load(get(a)),
          set(first, sub(get(height), load(get(a)))),
          set(last, load(get(a), 4)),
          set(address, add(get(buf), add(mul(get(first), get(width)), shl(get(s), i32(4))))),
          ...perStrip(first, last, address)),
        set(s, add(get(s), i32(1))),
        br(0),
      )),
    ],
  };
}

/** xorStrips(width, height, buf, strips): rows first + 1 … last of each strip ^= the row above (a running XOR). Function 3. */
function xorStrips(): WasmFunction {
  const [width, value] = [0, 10];
  return stripLoop('xorStrips', (first, last, address) => [
    set(value, v128Load(get(address))),
    block(loop(
      brIf(1, geU(tee(first, add(get(first), i32(1))), get(last))),
      set(address, add(get(address), get(width))),
      set(value, v128Xor(get(value), v128Load(get(address)))),
      v128Store(get(address), get(value)),
      br(0),
    )),
  ]);
}

/** clear(width, height, buf, strips): zeroes the touched rows of each strip and its record. Function 4. */
function clear(): WasmFunction {
  const [width, a] = [0, 5];
  return stripLoop('clear', (first, last, address) => [
    loop(
      v128Store(get(address), v128Zero),
      set(address, add(get(address), get(width))),
      brIf(0, ltU(tee(first, add(get(first), i32(1))), get(last))),
    ),
    store(get(a), i32(0)),
    store(get(a), i32(0), 4),
  ]);
}

const BYTES = assemble([scan(), finish(), decode(), xorStrips(), clear()]);

/** The parts of the WebAssembly API used here (declared locally: the package compiles without DOM or Node types). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { readonly exports: Record<string, unknown> };
}

/** One instance of the kernels, with its own memory. */
export interface RleKernel {
  readonly memory: WasmMemory;
  readonly scan: (width: number, height: number, above: number, rows: number, r0: number, out: number, counts: number) => number;
  readonly finish: (list: number, listEnd: number, width: number, counts: number, sorted: number, text: number, lastOn: number, n: number) => number;
  readonly decode: (text: number, textEnd: number, width: number, height: number, buf: number, strips: number) => number;
  readonly clear: (width: number, height: number, buf: number, strips: number) => void;
}

let compiled: object | null | undefined;

function instantiate(withTable: boolean): RleKernel | null {
  try {
    const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
    if (wasm === undefined) return null;
    compiled ??= new wasm.Module(BYTES);
    const exports = new wasm.Instance(compiled).exports as unknown as RleKernel & { m: WasmMemory };
    const memory = exports.m;
    if (withTable) {
      const bytes = new Uint8Array(memory.buffer);
      for (let d = 0, q = DIGIT_TABLE; d < 10_000; d++, q += 4) {
        bytes[q] = 48 + ((d / 1000) | 0);
        bytes[q + 1] = 48 + (((d / 100) | 0) % 10);
        bytes[q + 2] = 48 + (((d / 10) | 0) % 10);
        bytes[q + 3] = 48 + (d % 10);
      }
    }
    return { memory, scan: exports.scan, finish: exports.finish, decode: exports.decode, clear: exports.clear };
  } catch {
    compiled = null;
    return null;
  }
}

let encoder: RleKernel | null | undefined;
let decoder: RleKernel | null | undefined;

/** The encode kernels (their own instance and memory), on first use; undefined where WebAssembly SIMD is unavailable. */
export function encodeKernel(): RleKernel | undefined {
  if (encoder === undefined) encoder = compiled === null ? null : instantiate(true);
  return encoder ?? undefined;
}

/** The decode kernels (their own instance and memory, kept zeroed between calls); undefined where unavailable. */
export function decodeKernel(): RleKernel | undefined {
  if (decoder === undefined) decoder = compiled === null ? null : instantiate(false);
  return decoder ?? undefined;
}

/** First byte past the digit table: encode's working memory starts here. */
export const ENCODE_BASE = (DIGIT_TABLE_END + 63) & ~63;
