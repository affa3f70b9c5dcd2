// A WebAssembly SIMD counting kernel. Over n 16-byte vectors it counts, byte lane by byte lane, the predicted (p),
// target (t) and common (i) positives, then folds the 16 byte lanes into 4 int32 lanes (lane k gets bytes k, k + 4,
// k + 8 and k + 12) and adds them to the three i32x4 sums at address 0 (p), 16 (t) and 32 (i). With channel-last data,
// 1, 2 or 4 classes and a start at an image boundary, int32 lane k holds class k % classes.
//
// Two functions, in the text format (the bytes below are exactly this, hand-assembled):
//   (func (export "b") (param $p i32) (param $t i32) (param $n i32)      ;; byte predictions: positive when != 0
//   (func (export "f") (param $p i32) (param $t i32) (param $n i32) (param $th f32)  ;; f32 predictions: > $th
// Both read target bytes at $t (positive when != 0) and take n <= 255, so no byte counter can overflow. Their loop:
//   (loop $next
//     (br_if $done (i32.ge_u (local.get $t) (local.get $end)))          ;; $end = $t + 16 n
//     (local.set $pm <16 prediction lanes as 0 / -1>)
//     (local.set $tm (i8x16.ne (v128.load (local.get $t)) (v128.const 0)))
//     (local.set $ap (i8x16.sub (local.get $ap) (local.get $pm)))      ;; likewise $at with $tm, $ai with (v128.and $pm $tm)
//     ...advance $p and $t, br $next)
// where for "f" the prediction lanes are
//   (i8x16.narrow_i16x8_s (i16x8.narrow_i32x4_s (f32x4.gt [p] th) (f32x4.gt [p+16] th))
//                         (i16x8.narrow_i32x4_s (f32x4.gt [p+32] th) (f32x4.gt [p+48] th)))
// and the fold of a byte counter $a into an i32x4 is
//   (local.set $w (i16x8.add (i16x8.extend_low_i8x16_u $a) (i16x8.extend_high_i8x16_u $a)))
//   (i32x4.add (i32x4.extend_low_i16x8_u $w) (i32x4.extend_high_i16x8_u $w))

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;

const get = (i: number): number[] => [0x20, i];
const set = (i: number): number[] => [0x21, i];
const simd = (op: number): number[] => (op < 0x80 ? [0xfd, op] : [0xfd, (op & 0x7f) | 0x80, op >> 7]);
const load = (offset: number): number[] => [...simd(0x00), 0x04, offset]; // v128.load align=16, offset < 128
const store = (offset: number): number[] => [...simd(0x0b), 0x04, offset];

const I8X16_NE = 0x24;
const F32X4_GT = 0x44;
const V128_AND = 0x4e;
const I8X16_NARROW_I16X8_S = 0x65;
const I8X16_SUB = 0x71;
const I16X8_NARROW_I32X4_S = 0x85;
const I16X8_EXTEND_LOW_I8X16_U = 0x89;
const I16X8_EXTEND_HIGH_I8X16_U = 0x8a;
const I16X8_ADD = 0x8e;
const I32X4_EXTEND_LOW_I16X8_U = 0xa9;
const I32X4_EXTEND_HIGH_I16X8_U = 0xaa;
const I32X4_ADD = 0xae;
const F32X4_SPLAT = 0x13;

/** One function body; `pred` computes the prediction lanes onto the stack, `params` is the parameter count. */
function body(params: number, pred: number[], prologue: number[]): number[] {
  const [p, t, n] = [0, 1, 2];
  const end = params; // i32 local
  const [ap, at, ai, pm, tm, zero, w] = [1, 2, 3, 4, 5, 6, 7].map((k) => params + k);
  const fold = (acc: number, offset: number): number[] => [
    0x41, 0x00, // address 0
    0x41, 0x00, ...load(offset),
    ...get(acc!), ...simd(I16X8_EXTEND_LOW_I8X16_U),
    ...get(acc!), ...simd(I16X8_EXTEND_HIGH_I8X16_U),
    ...simd(I16X8_ADD), 0x22, w!, // local.tee w
    ...simd(I32X4_EXTEND_LOW_I16X8_U),
    ...get(w!), ...simd(I32X4_EXTEND_HIGH_I16X8_U),
    ...simd(I32X4_ADD),
    ...simd(I32X4_ADD),
    ...store(offset),
  ];
  const code = [
    0x02, 0x01, I32, 0x07, V128, // locals: 1 i32, 7 v128 (and, for "f", the splat threshold after them)
    ...prologue,
    ...get(t), ...get(n), 0x41, 0x04, 0x74, 0x6a, ...set(end), // end = t + (n << 4)
    0x02, 0x40, 0x03, 0x40, // block, loop
    ...get(t), ...get(end), 0x4f, 0x0d, 0x01, // br_if done (t >= end)
    ...pred, ...set(pm!),
    ...get(t), ...load(0), ...get(zero!), ...simd(I8X16_NE), ...set(tm!),
    ...get(ap!), ...get(pm!), ...simd(I8X16_SUB), ...set(ap!),
    ...get(at!), ...get(tm!), ...simd(I8X16_SUB), ...set(at!),
    ...get(ai!), ...get(pm!), ...get(tm!), ...simd(V128_AND), ...simd(I8X16_SUB), ...set(ai!),
    ...get(t), 0x41, 0x10, 0x6a, ...set(t), // t += 16
    ...get(p), 0x41, pred.length > 20 ? 0xc0 : 0x10, ...(pred.length > 20 ? [0x00] : []), 0x6a, ...set(p), // p += 64 or 16
    0x0c, 0x00, // br next
    0x0b, 0x0b, // end loop, end block
    ...fold(ap!, 0),
    ...fold(at!, 16),
    ...fold(ai!, 32),
    0x0b,
  ];
  return code;
}

function bytesBody(): number[] {
  // Locals of "b": 3 params, end = 3, ap..w = 4..10 (zero = 9).
  return body(3, [...get(0), ...load(0), ...get(9), ...simd(I8X16_NE)], []);
}

function floatBody(): number[] {
  // Locals of "f": 4 params, end = 4, ap..w = 5..11; the extra v128 local 12 holds the splat threshold.
  const th = 12;
  const gt = (offset: number): number[] => [...get(0), ...load(offset), ...get(th), ...simd(F32X4_GT)];
  const pred = [
    ...gt(0), ...gt(16), ...simd(I16X8_NARROW_I32X4_S),
    ...gt(32), ...gt(48), ...simd(I16X8_NARROW_I32X4_S),
    ...simd(I8X16_NARROW_I16X8_S),
  ];
  const code = body(4, pred, [...get(3), ...simd(F32X4_SPLAT), ...set(th)]);
  // One more v128 local (the threshold): 8 v128 locals instead of 7.
  code[3] = 0x08;
  return code;
}

function moduleBytes(): Uint8Array {
  const b = bytesBody();
  const f = floatBody();
  const section = (id: number, content: number[]): number[] => [id, ...uleb(content.length), ...content];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
    ...section(0x01, [0x02, 0x60, 0x03, I32, I32, I32, 0x00, 0x60, 0x04, I32, I32, I32, F32, 0x00]), // types
    ...section(0x03, [0x02, 0x00, 0x01]), // functions: b of type 0, f of type 1
    ...section(0x05, [0x01, 0x00, 0x02]), // memory: 2 pages
    ...section(0x07, [0x03, 0x01, 0x6d, 0x02, 0x00, 0x01, 0x62, 0x00, 0x00, 0x01, 0x66, 0x00, 0x01]), // "m", "b", "f"
    ...section(0x0a, [0x02, ...uleb(b.length), ...b, ...uleb(f.length), ...f]), // code
  ]);
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** The parts of the WebAssembly API used here (declared locally: the package compiles without DOM or Node types). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { readonly exports: Record<string, unknown> };
}

/** Byte offsets in the kernel's memory. */
export const SUMS_AT = 0;
export const TARGET_AT = 64;
export const PRED_AT = 16384;
/** Elements per chunk copied into the kernel's memory: a multiple of 16 whose f32 predictions fit after PRED_AT. */
export const CHUNK = 16320;
/** Vectors per kernel call at most. */
export const BLOCK = 255;

/** The instantiated kernel. */
export interface CountKernel {
  readonly bytes: Uint8Array;
  readonly floats: Float32Array;
  readonly sums: Int32Array;
  readonly countBytes: (p: number, t: number, n: number) => void;
  readonly countFloats: (p: number, t: number, n: number, threshold: number) => void;
}

let kernel: CountKernel | null | undefined;

/** The kernel, compiled on first use; undefined where WebAssembly SIMD is not available. */
export function countKernel(): CountKernel | undefined {
  if (kernel === undefined) {
    kernel = null;
    try {
      const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
      if (wasm !== undefined) {
        const { m, b, f } = new wasm.Instance(new wasm.Module(moduleBytes())).exports as {
          m: WasmMemory;
          b: CountKernel['countBytes'];
          f: CountKernel['countFloats'];
        };
        kernel = {
          bytes: new Uint8Array(m.buffer),
          floats: new Float32Array(m.buffer),
          sums: new Int32Array(m.buffer, SUMS_AT, 12),
          countBytes: b,
          countFloats: f,
        };
      }
    } catch {
      kernel = null;
    }
  }
  return kernel ?? undefined;
}

/** The largest float32 t with `v > t` exactly when `v > threshold`, for every float32 v. */
export function float32Threshold(threshold: number): number {
  const f = Math.fround(threshold);
  if (f <= threshold) return f;
  const bits = new Int32Array(new Float32Array([f]).buffer);
  if (f === 0) bits[0] = -0x7fffffff; // the negative float32 closest to 0
  else bits[0] = f > 0 ? bits[0]! - 1 : bits[0]! + 1;
  return new Float32Array(bits.buffer)[0]!;
}
