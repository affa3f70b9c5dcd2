// A WebAssembly SIMD kernel for encoding: finds the pixels of a row-major byte mask that differ (zero versus nonzero)
// from the pixel one row above, 16 bytes at a time, and writes their row-major indices in increasing order. Most blocks
// of a defect mask equal the block above, so the loop mostly loads, compares and moves on. Small enough to compile
// synchronously in browsers and Node; where WebAssembly or its SIMD is unavailable, `transitionsKernel()` returns
// undefined and callers use plain JavaScript.
//
// The module, in the text format (the bytes below are exactly this, hand-assembled):
//   (module
//     (memory (export "m") 1)
//     (func (export "t") (param $width i32) (param $end i32) (param $out i32) (result i32)
//       (local $i i32) (local $o i32) (local $bits i32) (local $j i32) (local $p i32) (local $d v128)
//       (local.set $i (local.get $width))
//       (local.set $o (local.get $out))
//       (block $done (loop $next
//         (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
//         (local.set $p (i32.sub (local.get $i) (local.get $width)))
//         ;; 64 bytes at once: any byte that differs from the byte above?
//         (if (v128.any_true (v128.or (v128.or (v128.or
//               (v128.xor (v128.load (local.get $i)) (v128.load (local.get $p)))
//               (v128.xor (v128.load offset=16 (local.get $i)) (v128.load offset=16 (local.get $p))))
//               (v128.xor (v128.load offset=32 (local.get $i)) (v128.load offset=32 (local.get $p))))
//               (v128.xor (v128.load offset=48 (local.get $i)) (v128.load offset=48 (local.get $p)))))
//           (then
//             (local.set $j (local.get $i))
//             (loop $lane
//               ;; bit k set where byte j + k is zero and the byte above is not, or the other way round
//               (if (local.tee $bits (i8x16.bitmask (v128.xor
//                     (i8x16.eq (v128.load (local.get $j)) (v128.const i8x16 0 ...))
//                     (i8x16.eq (v128.load (i32.sub (local.get $j) (local.get $width))) (v128.const i8x16 0 ...)))))
//                 (then (loop $bit
//                   (i32.store (local.get $o) (i32.add (local.get $j) (i32.ctz (local.get $bits))))
//                   (local.set $o (i32.add (local.get $o) (i32.const 4)))
//                   (br_if $bit (local.tee $bits (i32.and (local.get $bits) (i32.sub (local.get $bits) (i32.const 1))))))))
//               (br_if $lane (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 16)))
//                                      (i32.add (local.get $i) (i32.const 64)))))))
//         (local.set $i (i32.add (local.get $i) (i32.const 64)))
//         (br $next)))
//       (i32.shr_u (i32.sub (local.get $o) (local.get $out)) (i32.const 2))))
// `t(width, end, out)` visits i = width, width + 64, … while i < end and returns how many indices it wrote at `out`. The
// last block may reach up to 63 bytes past `end`: callers keep those bytes in memory (zero) and drop indices >= `end`.

const ZERO = [0xfd, 0x0c, ...new Array<number>(16).fill(0)]; // v128.const 0
/** v128.xor of the 16 bytes at offset `offset` from $i and from $p. */
const xorAt = (offset: number) => [0x20, 0x03, 0xfd, 0x00, 0x00, offset, 0x20, 0x07, 0xfd, 0x00, 0x00, offset, 0xfd, 0x51];

const BODY = [
  0x02, 0x05, 0x7f, 0x01, 0x7b, // locals: 5 x i32 ($i, $o, $bits, $j, $p), 1 x v128 ($d, unused)
  0x20, 0x00, 0x21, 0x03, // i = width
  0x20, 0x02, 0x21, 0x04, // o = out
  0x02, 0x40, 0x03, 0x40, // block $done, loop $next
  0x20, 0x03, 0x20, 0x01, 0x4f, 0x0d, 0x01, // br_if $done (i >= end)
  0x20, 0x03, 0x20, 0x00, 0x6b, 0x21, 0x07, // p = i - width
  ...xorAt(0x00), ...xorAt(0x10), 0xfd, 0x50, ...xorAt(0x20), 0xfd, 0x50, ...xorAt(0x30), 0xfd, 0x50, // or of 4 xors
  0xfd, 0x53, 0x04, 0x40, // v128.any_true, if
  0x20, 0x03, 0x21, 0x06, // j = i
  0x03, 0x40, // loop $lane
  0x20, 0x06, 0xfd, 0x00, 0x00, 0x00, ...ZERO, 0xfd, 0x23, // i8x16.eq(v128.load [j], 0)
  0x20, 0x06, 0x20, 0x00, 0x6b, 0xfd, 0x00, 0x00, 0x00, ...ZERO, 0xfd, 0x23, // i8x16.eq(v128.load [j - width], 0)
  0xfd, 0x51, 0xfd, 0x64, 0x22, 0x05, // bits = i8x16.bitmask(v128.xor)
  0x04, 0x40, 0x03, 0x40, // if, loop $bit
  0x20, 0x04, 0x20, 0x06, 0x20, 0x05, 0x68, 0x6a, 0x36, 0x02, 0x00, // i32.store [o] (j + ctz bits)
  0x20, 0x04, 0x41, 0x04, 0x6a, 0x21, 0x04, // o += 4
  0x20, 0x05, 0x20, 0x05, 0x41, 0x01, 0x6b, 0x71, 0x22, 0x05, 0x0d, 0x00, // br_if $bit (bits &= bits - 1)
  0x0b, 0x0b, // end loop $bit, end if
  0x20, 0x06, 0x41, 0x10, 0x6a, 0x22, 0x06, // j += 16
  0x20, 0x03, 0x41, 0xc0, 0x00, 0x6a, 0x49, 0x0d, 0x00, // br_if $lane (j < i + 64)
  0x0b, 0x0b, // end loop $lane, end if
  0x20, 0x03, 0x41, 0xc0, 0x00, 0x6a, 0x21, 0x03, // i += 64
  0x0c, 0x00, // br $next
  0x0b, 0x0b, // end loop, end block
  0x20, 0x04, 0x20, 0x02, 0x6b, 0x41, 0x02, 0x76, // (o - out) >> 2
  0x0b, // end func
];

/** Unsigned LEB128. */
function leb(value: number): number[] {
  const bytes: number[] = [];
  let v = value;
  do {
    const byte = v & 0x7f;
    v >>>= 7;
    bytes.push(v === 0 ? byte : byte | 0x80);
  } while (v !== 0);
  return bytes;
}

const CODE = [0x01, ...leb(BODY.length), ...BODY];
const BYTES = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7f, 0x7f, 0x7f, 0x01, 0x7f, // types: (i32, i32, i32) -> i32
  0x03, 0x02, 0x01, 0x00, // functions: one of type 0
  0x05, 0x03, 0x01, 0x00, 0x01, // memory: at least 1 page
  0x07, 0x09, 0x02, 0x01, 0x6d, 0x02, 0x00, 0x01, 0x74, 0x00, 0x00, // exports: "m" memory 0, "t" func 0
  0x0a, ...leb(CODE.length), ...CODE, // code
]);

/** The parts of the WebAssembly API used here (declared locally: the package compiles without DOM or Node types). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { readonly exports: Record<string, unknown> };
}

/** The instantiated kernel: its memory and `t(width, end, out)` as described above. */
export interface TransitionsKernel {
  readonly memory: WasmMemory;
  readonly transitions: (width: number, end: number, out: number) => number;
}

let kernel: TransitionsKernel | null | undefined;

/** The kernel, compiled on first use; undefined where WebAssembly SIMD is not available. */
export function transitionsKernel(): TransitionsKernel | undefined {
  if (kernel === undefined) {
    kernel = null;
    try {
      const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
      if (wasm !== undefined) {
        const instance = new wasm.Instance(new wasm.Module(BYTES));
        const { m, t } = instance.exports as { m: WasmMemory; t: (width: number, end: number, out: number) => number };
        kernel = { memory: m, transitions: t };
      }
    } catch {
      kernel = null;
    }
  }
  return kernel ?? undefined;
}
