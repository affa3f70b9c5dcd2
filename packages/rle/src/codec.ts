import { RleError, echo } from './errors.ts';
import { checkLength, checkShape } from './shape.ts';
import type { BinaryMask, MaskShape } from './types.ts';
import { decodeKernel, encodeKernel, ENCODE_BASE, type RleKernel } from './kernels.ts';

// Encoding works on transitions: in column-major order (pixel p = c * height + r), a run starts where pixel p is on and
// p - 1 is off, and ends (exclusively) where p is off and p - 1 is on, with virtual off pixels before the first and after
// the last. Transitions alternate start, end, start, … so sorted transitions pair up into runs. For r >= 1 the pixel
// before (r, c) is (r - 1, c), the row above, which row-major data gives without transposing: compare each row with the
// one above and skip blocks that are zero (most of a mask). Row 0 is compared with the last row of the previous column
// (runs that wrap into the next column). Transitions are sorted by column with a stable counting sort, which keeps them
// sorted by row within a column. The WebAssembly kernels (./kernels) do all of this for large masks; the JavaScript
// below is their fallback and the path for small or non-byte masks.

// Scratch buffers, reused across calls and grown on demand (JavaScript runs one call at a time).
let events: Int32Array<ArrayBuffer> = new Int32Array(4096); // column-major positions of transitions, in the order found
let eventCols: Int32Array<ArrayBuffer> = new Int32Array(4096); // their columns
let sorted = new Int32Array(4096);
let colStart = new Int32Array(2048);
let text = new Uint8Array(16384);
let runs: Int32Array<ArrayBuffer> = new Int32Array(4096); // decode: 0-based start, length, start, length, …
let eventCount = 0;

const TENS = new Uint8Array(100);
const ONES = new Uint8Array(100);
for (let i = 0; i < 100; i++) {
  TENS[i] = 48 + ((i / 10) | 0);
  ONES[i] = 48 + (i % 10);
}
const ascii = new TextDecoder();

function grow(array: Int32Array, size: number): Int32Array<ArrayBuffer> {
  const next = new Int32Array(Math.max(size, array.length * 2));
  next.set(array);
  return next;
}

function pushEvent(position: number, col: number): void {
  if (eventCount === events.length) {
    events = grow(events, eventCount + 1);
    eventCols = grow(eventCols, eventCount + 1);
  }
  events[eventCount] = position;
  eventCols[eventCount++] = col;
}

/** Transitions of row 0 against the last row of the previous column, including the end of a run at the last pixel. */
function rowZeroTransitions(mask: ArrayLike<number>, height: number, width: number): void {
  const lastRow = (height - 1) * width;
  let previous = false;
  for (let c = 0; c <= width; c++) {
    const on = c < width && mask[c] !== 0;
    if (on !== previous) pushEvent(c * height, c);
    previous = c < width && mask[lastRow + c] !== 0;
  }
}

function rowTransitionsGeneric(mask: ArrayLike<number>, height: number, width: number): void {
  const n = height * width;
  for (let i = width; i < n; i++) {
    if ((mask[i] !== 0) !== (mask[i - width] !== 0)) {
      const r = (i / width) | 0;
      const c = i - r * width;
      pushEvent(c * height + r, c);
    }
  }
}

let blockFlags = new Uint8Array(8192); // 1 where a 64-byte block of the mask is nonzero
let blockList = new Int32Array(8192); // the nonzero blocks, in order

/**
 * Needs `width % 64 === 0` and an 8-byte aligned `byteOffset`. Pass 1 tests blocks of 64 bytes (a cache line, always
 * inside one row) for zero as eight 64-bit integers. Pass 2 visits only the nonzero blocks: against a zero block above,
 * every on pixel starts a run; against a nonzero one, only differing 8-byte words are looked at byte by byte; when the
 * block below is zero, every on pixel ends a run there.
 */
function rowTransitionsBlocks(mask: Uint8Array, height: number, width: number): void {
  const n = height * width;
  const wide = new BigUint64Array(mask.buffer, mask.byteOffset, n >> 3);
  const blocks = n >> 6;
  const rowBlocks = width >> 6;
  const rowWide = width >> 3;
  if (blockFlags.length < blocks) {
    blockFlags = new Uint8Array(blocks);
    blockList = new Int32Array(blocks);
  } else blockFlags.fill(0, 0, blocks);
  const flags = blockFlags;
  const list = blockList;
  let count = 0;
  for (let b = 0, w = 0; b < blocks; b++, w += 8) {
    if ((wide[w]! | wide[w + 1]! | wide[w + 2]! | wide[w + 3]! | wide[w + 4]! | wide[w + 5]! | wide[w + 6]! | wide[w + 7]!) === 0n) continue;
    flags[b] = 1;
    list[count++] = b;
  }
  let r = 0;
  let rowEnd = rowBlocks;
  for (let j = 0; j < count; j++) {
    const b = list[j]!;
    while (b >= rowEnd) {
      r++;
      rowEnd += rowBlocks;
    }
    const first = b << 3; // first 8-byte word of the block
    const rowStart = r * width;
    if (r > 0) {
      if (flags[b - rowBlocks] === 0) {
        for (let k = first; k < first + 8; k++) {
          if (wide[k] === 0n) continue;
          for (let i = k << 3, end = i + 8; i < end; i++) {
            if (mask[i] !== 0) {
              const c = i - rowStart;
              pushEvent(c * height + r, c);
            }
          }
        }
      } else {
        for (let k = first; k < first + 8; k++) {
          if (wide[k] === wide[k - rowWide]) continue;
          for (let i = k << 3, end = i + 8; i < end; i++) {
            if ((mask[i] !== 0) !== (mask[i - width] !== 0)) {
              const c = i - rowStart;
              pushEvent(c * height + r, c);
            }
          }
        }
      }
    }
    if (r + 1 < height && flags[b + rowBlocks] === 0) {
      for (let k = first; k < first + 8; k++) {
        if (wide[k] === 0n) continue;
        for (let i = k << 3, end = i + 8; i < end; i++) {
          if (mask[i] !== 0) {
            const c = i - rowStart;
            pushEvent(c * height + r + 1, c);
          }
        }
      }
    }
  }
}

// Views of a kernel's memory, renewed when it grows (growing replaces its buffer).
let encodeBuffer: ArrayBuffer | undefined;
let encodeBytes = new Uint8Array(0);
let decodeBuffer: ArrayBuffer | undefined;
let decodeBytes = new Uint8Array(0);
let decodeInts = new Int32Array(0);

/** The largest mask the kernels take (their working memory is about 20 bytes per pixel); larger ones use JavaScript. */
const KERNEL_MAX_PIXELS = 1 << 22;

function ensureMemory(kernel: RleKernel, bytes: number): void {
  const pages = Math.ceil(bytes / 65536) - kernel.memory.buffer.byteLength / 65536;
  if (pages > 0) kernel.memory.grow(pages);
}

/**
 * Encodes with the WebAssembly kernels; undefined where they are unavailable. Memory: the digit table, the row standing
 * above row 0 (the last row shifted right by one column, since the pixel before (0, c) is (height - 1, c - 1), with 0
 * before column 0), the mask, then the (position, column) list, the per-column counts, the sorted positions and the text.
 */
function encodeWasm(mask: Uint8Array, height: number, width: number): string | undefined {
  const kernel = encodeKernel();
  if (kernel === undefined) return undefined;
  const n = height * width;
  const rows = ENCODE_BASE; // the row above row 0, then the mask
  const list = (rows + (height + 1) * width + 64 + 63) & ~63; // (position, column) pairs
  const counts = list + 8 * (n + 2);
  const sorted = counts + 4 * (width + 2);
  const text = sorted + 4 * (n + 2);
  ensureMemory(kernel, text + 8 * (n + 2) + 64); // numbers have at most 7 digits (n <= 2^22), then a space
  if (kernel.memory.buffer !== encodeBuffer) {
    encodeBuffer = kernel.memory.buffer;
    encodeBytes = new Uint8Array(encodeBuffer);
  }
  const bytes = encodeBytes;
  bytes.fill(0, counts, counts + 4 * (width + 2));
  // One copy of the whole mask: a long sequential copy streams from memory faster than chunks of rows copied between
  // scans of the previous chunk.
  bytes[rows] = 0;
  bytes.set(mask.subarray(n - width, n - 1), rows + 1);
  bytes.set(mask, rows + width);
  const end = kernel.scan(width, height, rows, height, 0, list, counts);
  const textEnd = kernel.finish(list, end, width, counts, sorted, text, mask[n - 1] !== 0 ? 1 : 0, n);
  return textEnd === text ? '' : ascii.decode(bytes.subarray(text, textEnd));
}

function writeNumber(out: Uint8Array, p: number, value: number): number {
  let v = value;
  if (v >= 1_000_000) {
    let digits = 0;
    for (let t = v; t > 0; t = Math.floor(t / 10)) digits++;
    for (let q = p + digits - 1; q >= p; q--) {
      const t = Math.floor(v / 10);
      out[q] = 48 + v - t * 10;
      v = t;
    }
    return p + digits;
  }
  // Digit count first, then two digits at a time from the right.
  const end = p + (v < 100 ? (v < 10 ? 1 : 2) : v < 10_000 ? (v < 1000 ? 3 : 4) : v < 100_000 ? 5 : 6);
  let q = end;
  while (v >= 100) {
    const t = (v / 100) | 0;
    const d = v - t * 100;
    out[--q] = ONES[d]!;
    out[--q] = TENS[d]!;
    v = t;
  }
  if (v >= 10) {
    out[--q] = ONES[v]!;
    out[--q] = TENS[v]!;
  } else out[--q] = 48 + v;
  return end;
}

function isBinaryMask(value: unknown): value is BinaryMask {
  return typeof value === 'object' && value !== null && 'data' in value && 'height' in value && 'width' in value;
}

/**
 * Encodes a row-major binary mask as a competition RLE string.
 * Pixels are numbered 1-based, top to bottom then left to right (column-major); runs are `start length` pairs joined by
 * single spaces; an empty mask gives `''`. Any nonzero value is on. Takes `(data, { height, width })` or one
 * {@link BinaryMask}; the shape may be any object with `height` and `width`.
 * @throws {RleError} `SHAPE_MISMATCH` if the shape is not two positive integers or `data.length !== height * width`.
 * @example encode(new Uint8Array([1, 0, 1, 0, 1, 0, 0, 0]), { height: 4, width: 2 }); // '1 3'
 */
export function encode(mask: BinaryMask): string;
export function encode(mask: ArrayLike<number>, shape: MaskShape): string;
export function encode(mask: ArrayLike<number> | BinaryMask, shape?: MaskShape): string {
  const binary = isBinaryMask(mask) ? mask : undefined;
  const data: ArrayLike<number> = binary ? binary.data : (mask as ArrayLike<number>);
  const resolved = shape ?? binary;
  checkShape(resolved, 'encode');
  const { height, width } = resolved;
  const n = height * width;
  if (data === null || typeof data !== 'object' || typeof data.length !== 'number') {
    throw new RleError('SHAPE_MISMATCH', `encode: expected a mask of ${height}x${width} = ${n} values, got ${data === null ? 'null' : typeof data}.`);
  }
  checkLength(data.length, n, 'encode: mask', `${height}x${width}`);

  if (data instanceof Uint8Array && n >= 4096 && n <= KERNEL_MAX_PIXELS) {
    const rle = encodeWasm(data, height, width);
    if (rle !== undefined) return rle;
  }
  eventCount = 0;
  rowZeroTransitions(data, height, width);
  if (height > 1) {
    if (data instanceof Uint8Array && width % 64 === 0 && data.byteOffset % 8 === 0) rowTransitionsBlocks(data, height, width);
    else rowTransitionsGeneric(data, height, width);
  }
  const count = eventCount;
  if (count === 0) return '';

  // Stable counting sort by column.
  if (colStart.length < width + 2) colStart = new Int32Array(width + 2);
  else colStart.fill(0, 0, width + 2);
  for (let e = 0; e < count; e++) colStart[eventCols[e]! + 1]!++;
  const starts = colStart;
  for (let c = 1, sum = 0; c <= width + 1; c++) starts[c] = sum += starts[c]!;
  if (sorted.length < count) sorted = new Int32Array(events.length);
  const order = sorted;
  const ev = events;
  const cols = eventCols;
  for (let e = 0; e < count; e++) order[starts[cols[e]!]!++] = ev[e]!;

  // Digits straight into bytes: each number has at most as many digits as n + 1, plus a separator.
  const maxDigits = (n + 1 < 1_000_000 ? 6 : String(n + 1).length) + 1;
  if (text.length < count * maxDigits) text = new Uint8Array(count * maxDigits * 2);
  const out = text;
  let p = 0;
  for (let e = 0; e < count; e += 2) {
    const start = order[e]!;
    p = writeNumber(out, p, start + 1);
    out[p++] = 32;
    p = writeNumber(out, p, order[e + 1]! - start);
    out[p++] = 32;
  }
  return ascii.decode(out.subarray(0, p - 1));
}

function isSpace(code: number): boolean {
  return code === 32 || code === 9 || code === 10 || code === 13;
}

function tokenText(rle: string, from: number): string {
  let end = from;
  while (end < rle.length && !isSpace(rle.charCodeAt(end))) end++;
  return echo(rle.slice(from, end), 40);
}

function invalid(token: number, message: string): RleError {
  return new RleError('INVALID_RLE', `Invalid RLE at token ${token} ${message}`, { location: { token } });
}

/** The role of a token in an error message; built only on error paths, since the parse loop runs once per token. */
function roleText(isStart: boolean, pairs: number): string {
  return isStart ? `(start of run ${pairs + 1})` : `(length of run ${pairs + 1})`;
}

/**
 * Parses and checks `rle` against `height * width` pixels into the scratch `runs` (0-based start, length pairs);
 * returns the number of runs.
 */
function parseRuns(rle: string, height: number, width: number): number {
  if (typeof rle !== 'string') {
    throw new RleError('INVALID_RLE', `Invalid RLE: expected a string, got ${rle === null ? 'null' : typeof rle}.`);
  }
  const total = height * width;
  const n = rle.length;
  let i = 0;
  let token = 0;
  let pairs = 0;
  let start = 0;
  let previousEnd = 0; // exclusive, 0-based
  while (true) {
    while (i < n && isSpace(rle.charCodeAt(i))) i++;
    if (i >= n) break;
    const from = i;
    let value = 0;
    while (i < n) {
      const digit = rle.charCodeAt(i) - 48;
      if (digit < 0 || digit > 9) break;
      value = value * 10 + digit;
      i++;
    }
    token++;
    const isStart = (token & 1) === 1;
    if (i === from || (i < n && !isSpace(rle.charCodeAt(i)))) {
      throw invalid(token, `${roleText(isStart, pairs)}: expected a positive integer, got '${tokenText(rle, from)}'.`);
    }
    if (isStart) {
      if (value === 0) throw invalid(token, `${roleText(isStart, pairs)}: expected a positive integer (starts are 1-based), got '${tokenText(rle, from)}'.`);
      if (value - 1 < previousEnd) {
        throw invalid(
          token,
          `${roleText(isStart, pairs)}: expected a start of at least ${previousEnd + 1} (after run ${pairs}, which ends at pixel ${previousEnd}), got ${value}; runs must be sorted and must not overlap.`,
        );
      }
      if (value > total) {
        throw new RleError(
          'OUT_OF_BOUNDS',
          `RLE run past the last pixel at token ${token} ${roleText(isStart, pairs)}: expected a start of at most ${total} (${height}x${width}), got ${tokenText(rle, from)}.`,
          { location: { token } },
        );
      }
      start = value - 1;
    } else {
      if (value === 0) throw invalid(token, `${roleText(isStart, pairs)}: expected a length of at least 1, got a zero length ('${tokenText(rle, from)}').`);
      const end = start + value;
      if (end > total) {
        throw new RleError(
          'OUT_OF_BOUNDS',
          `RLE run past the last pixel at token ${token} ${roleText(isStart, pairs)}: expected a length of at most ${total - start} (run ${start + 1} ${tokenText(rle, from)} must end by pixel ${total} of ${height}x${width}), got ${tokenText(rle, from)}.`,
          { location: { token } },
        );
      }
      if (2 * pairs + 2 > runs.length) runs = grow(runs, 2 * pairs + 2);
      runs[2 * pairs] = start;
      runs[2 * pairs + 1] = value;
      pairs++;
      previousEnd = end;
    }
  }
  if ((token & 1) === 1) {
    throw new RleError(
      'INVALID_RLE',
      `Invalid RLE: expected an even number of tokens (start length pairs), got ${token}; token ${token} (start ${start + 1}) has no length.`,
      { location: { token } },
    );
  }
  return pairs;
}

/** Options of {@link decode}: the mask shape, and optionally a mask to write into instead of allocating one. */
export interface DecodeOptions extends MaskShape {
  /** A mask of `height * width` bytes to reuse; it is cleared, filled and returned (when decoding throws, its contents are unspecified). Saves the allocation in hot loops. */
  readonly out?: Uint8Array;
}

/**
 * Decodes a competition RLE string into a row-major binary mask: 0/1, pixel (r, c) at `r * width + c`.
 * Starts are 1-based and count pixels column by column; `''` (or only whitespace) is an empty mask. Tokens may be separated
 * by any run of spaces or tabs. The options may be any object with `height` and `width`, a {@link BinaryMask} included.
 * @throws {RleError} `INVALID_RLE` for an odd token count, a token that is not a positive integer, a zero length, or runs
 * that overlap or go backwards; `OUT_OF_BOUNDS` if a run passes the last pixel; `SHAPE_MISMATCH` for a bad shape or `out`.
 * The message names the token position, what was expected and what was found.
 * @example decode('1 3', { height: 4, width: 2 }); // Uint8Array [1,0, 1,0, 1,0, 0,0]
 */
export function decode(rle: string, options: DecodeOptions): Uint8Array {
  checkShape(options, 'decode');
  const { height, width, out } = options;
  if (typeof rle !== 'string') parseRuns(rle, height, width); // throws the typed error
  const n = height * width;
  if (out !== undefined && !(out instanceof Uint8Array)) {
    throw new RleError('SHAPE_MISMATCH', `decode: expected out to be a Uint8Array of ${height}x${width} = ${n} bytes, got ${typeof out}.`);
  }
  if (out !== undefined) checkLength(out.length, n, 'decode: out', `${height}x${width}`);
  if (width % 16 === 0 && n >= 4096 && n <= KERNEL_MAX_PIXELS && rle.length <= 8 * n + 64) {
    const mask = decodeWasm(rle, height, width, out);
    if (mask !== undefined) return mask;
  }
  let mask: Uint8Array;
  if (out === undefined) mask = new Uint8Array(n);
  else mask = out.fill(0);
  if (decodeCanonical(rle, height, width, mask)) return mask;
  // Not in the canonical form (other whitespace) or malformed: parse with full checks (throws a typed error when malformed).
  const pairs = parseRuns(rle, height, width);
  mask.fill(0);
  for (let k = 0; k < pairs; k++) writeRun(mask, runs[2 * k]!, runs[2 * k + 1]!, height, width);
  return mask;
}

let decodeShape = { height: 0, width: 0, end: 0 }; // the last shape decoded by the kernel, and its zeroed bytes
const utf8 = new TextEncoder();

/**
 * Decodes canonical RLE with the WebAssembly kernel; undefined where it is unavailable or the RLE is not canonical and
 * valid (the caller's checked path then decodes it or throws). Memory: the strip records, the row-major mask buffer
 * (both all zero between calls: the kernel clears what it touched), then the RLE as ASCII bytes.
 */
function decodeWasm(rle: string, height: number, width: number, out: Uint8Array | undefined): Uint8Array | undefined {
  const kernel = decodeKernel();
  if (kernel === undefined) return undefined;
  const n = height * width;
  const buf = (8 * (width >> 4) + 63) & ~63;
  const text = buf + n + 64;
  const capacity = 3 * rle.length + 16; // UTF-8 bytes of any string of this length, and 16 readable bytes after
  ensureMemory(kernel, text + capacity);
  if (kernel.memory.buffer !== decodeBuffer) {
    decodeBuffer = kernel.memory.buffer;
    decodeBytes = new Uint8Array(decodeBuffer);
    decodeInts = new Int32Array(decodeBuffer);
  }
  const bytes = decodeBytes;
  if (height !== decodeShape.height || width !== decodeShape.width) {
    bytes.fill(0, 0, Math.max(text, decodeShape.end));
    decodeShape = { height, width, end: text };
  }
  const { written } = utf8.encodeInto(rle, bytes.subarray(text, text + capacity - 16));
  bytes[text + written] = 0; // ends the last token
  let mask: Uint8Array | undefined;
  if (kernel.decode(text, text + written, width, height, buf, 0) === 1) {
    // Only the rows from the first to the last one touched can hold on pixels: copy those, zero the rest (a new
    // mask is zero already).
    const records = decodeInts;
    let first = height;
    let end = 0;
    for (let k = 0, strips = 2 * (width >> 4); k < strips; k += 2) {
      const top = records[k]!;
      if (top !== 0) {
        if (height - top < first) first = height - top;
        if (records[k + 1]! > end) end = records[k + 1]!;
      }
    }
    mask = out ?? new Uint8Array(n);
    if (first < end) mask.set(bytes.subarray(buf + first * width, buf + end * width), first * width);
    if (out !== undefined) {
      out.fill(0, 0, Math.min(first, end) * width);
      out.fill(0, end * width, n);
    }
  }
  kernel.clear(width, height, buf, 0);
  return mask;
}

/** Sets the pixels of the 0-based column-major run `start, length` in the row-major `mask`: strided writes down each column. */
function writeRun(mask: Uint8Array, start: number, length: number, height: number, width: number): void {
  let left = length;
  let c = (start / height) | 0;
  let r = start - c * height;
  while (left > 0) {
    const take = left < height - r ? left : height - r;
    for (let i = r * width + c, end = i + take * width; i < end; i += width) mask[i] = 1;
    left -= take;
    r = 0;
    c++;
  }
}

/**
 * The hot path of {@link decode}: parses and writes in one pass, with locals only, for RLE in the canonical form
 * (single spaces between tokens, optional leading and trailing spaces). Returns false, having possibly written some
 * runs, on anything else (another separator, a bad token, an invalid run); the caller then takes the checked path.
 */
function decodeCanonical(rle: string, height: number, width: number, mask: Uint8Array): boolean {
  const n = rle.length;
  const total = height * width;
  let i = 0;
  let previousEnd = 0;
  while (i < n) {
    let code = rle.charCodeAt(i);
    while (code === 32) {
      if (++i >= n) return true;
      code = rle.charCodeAt(i);
    }
    let start = 0;
    let digit = code - 48;
    if (digit >>> 0 > 9) return false;
    do {
      start = start * 10 + digit;
      if (++i >= n) return false; // a start without a length
      digit = rle.charCodeAt(i) - 48;
    } while (digit >>> 0 <= 9);
    if (digit !== -16 || ++i >= n) return false; // the separator must be one space, followed by the length
    let length = 0;
    digit = rle.charCodeAt(i) - 48;
    if (digit >>> 0 > 9) return false;
    do {
      length = length * 10 + digit;
      if (++i >= n) break;
      digit = rle.charCodeAt(i) - 48;
    } while (digit >>> 0 <= 9);
    if (i < n && digit !== -16) return false;
    start -= 1;
    const end = start + length;
    if (start < previousEnd || length === 0 || end > total) return false;
    previousEnd = end;
    let c = (start / height) | 0;
    let r = start - c * height;
    let left = length;
    while (left > 0) {
      const take = left < height - r ? left : height - r;
      for (let p = r * width + c, e = p + take * width; p < e; p += width) mask[p] = 1;
      left -= take;
      r = 0;
      c++;
    }
  }
  return true;
}

/**
 * Checks an RLE string against a shape without building the mask; returns the number of runs.
 * @throws {RleError} the same errors as {@link decode}.
 * @example validateRle('1 3 7 2', { height: 4, width: 2 }); // 2
 */
export function validateRle(rle: string, shape: MaskShape): number {
  checkShape(shape, 'validateRle');
  return parseRuns(rle, shape.height, shape.width);
}
