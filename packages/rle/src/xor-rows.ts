// A WebAssembly SIMD kernel for decoding: in place over a row-major byte buffer, row r becomes row r XOR row r - 1,
// 16 bytes at a time, so that a buffer holding 1 at the first pixel of each column segment of a run and 1 just below its
// last pixel becomes the mask (a prefix XOR down every column). The module is small enough to compile synchronously in
// browsers and Node; where WebAssembly or its SIMD is unavailable, `xorRowsKernel()` returns undefined and callers use
// plain JavaScript.
//
// The module, in the text format (the bytes below are exactly this, hand-assembled):
//   (module
//     (memory (export "m") 1)
//     (func (export "x") (param $width i32) (param $end i32) (local $i i32)
//       (local.set $i (local.get $width))
//       (block $done (loop $next
//         (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
//         (v128.store (local.get $i)
//           (v128.xor (v128.load (local.get $i)) (v128.load (i32.sub (local.get $i) (local.get $width)))))
//         (local.set $i (i32.add (local.get $i) (i32.const 16)))
//         (br $next)))))
// It needs width >= 16: then the 16 bytes read from the row above are already final.

const BODY = [
  0x01, 0x01, 0x7f, // one local i32
  0x20, 0x00, 0x21, 0x02, // i = width
  0x02, 0x40, 0x03, 0x40, // block, loop
  0x20, 0x02, 0x20, 0x01, 0x4f, 0x0d, 0x01, // br_if done (i >= end)
  0x20, 0x02, // address of the store
  0x20, 0x02, 0xfd, 0x00, 0x00, 0x00, // v128.load [i]
  0x20, 0x02, 0x20, 0x00, 0x6b, 0xfd, 0x00, 0x00, 0x00, // v128.load [i - width]
  0xfd, 0x51, // v128.xor
  0xfd, 0x0b, 0x00, 0x00, // v128.store
  0x20, 0x02, 0x41, 0x10, 0x6a, 0x21, 0x02, // i += 16
  0x0c, 0x00, // br next
  0x0b, 0x0b, 0x0b, // end loop, end block, end func
];

const BYTES = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  0x01, 0x06, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x00, // types: (i32, i32) -> ()
  0x03, 0x02, 0x01, 0x00, // functions: one of type 0
  0x05, 0x03, 0x01, 0x00, 0x01, // memory: at least 1 page
  0x07, 0x09, 0x02, 0x01, 0x6d, 0x02, 0x00, 0x01, 0x78, 0x00, 0x00, // exports: "m" memory 0, "x" func 0
  0x0a, BODY.length + 2, 0x01, BODY.length, ...BODY, // code
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

/** The instantiated kernel: its memory and `x(width, end)` as described above. */
export interface XorRowsKernel {
  readonly memory: WasmMemory;
  readonly xorRows: (width: number, end: number) => void;
}

let kernel: XorRowsKernel | null | undefined;

/** The kernel, compiled on first use; undefined where WebAssembly SIMD is not available. */
export function xorRowsKernel(): XorRowsKernel | undefined {
  if (kernel === undefined) {
    kernel = null;
    try {
      const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
      if (wasm !== undefined) {
        const instance = new wasm.Instance(new wasm.Module(BYTES));
        const { m, x } = instance.exports as { m: WasmMemory; x: (width: number, end: number) => void };
        kernel = { memory: m, xorRows: x };
      }
    } catch {
      kernel = null;
    }
  }
  return kernel ?? undefined;
}
