// `MaxPoolGrad` on the wasm heap: one assembled SIMD function finds each window's first maximum for 4 channels at a
// time and adds dy there. Threads take disjoint channel groups, so they never write the same dx values.
//
// `maxpool_grad(x, dy, dx, OH, OW, groups, rowsGeometry, colsGeometry, size, pixel)`, for one image:
//   x, dy, dx: byte offsets of the image's first value of the thread's first channel group in the input, dy and dx;
//   groups: channel groups of 4 to run; pixel: bytes per pixel of all channels (4·C);
//   rowsGeometry = strideHeight | top << 8 | filterHeight << 16, colsGeometry alike for the columns (each < 256);
//   size = H | W << 16.
// A window is clipped to the input (padding never wins), and `>` keeps the first maximum in row-major window order: the
// cpu backend's rule, also for ties (zeros after a ReLU) and NaN (a NaN first value stays the maximum).
import type { backend_util, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { tileKernels, threadShare } from './gemm.ts';
import { threadedTiles } from './heap-threads.ts';
import { maxPoolGeometry, maxPoolGrad } from './pool-resize-gradients.ts';
import { allocFloat32, float32View } from './tensor-data.ts';
import { functionCode, functionType, heapMemory, heapOffset, i32Add, i32c, instantiateOnHeap, load, local, setLocal, uleb, type AssembledFunction, type Code } from './wasm-heap-module.ts';

const I32 = 0x7f;
const V128 = 0x7b;
const simd = (op: number, ...immediates: number[]): Code => [0xfd, ...uleb(op), ...immediates];
const sub = (a: Code, b: Code): Code => [...a, ...b, 0x6b];
const mul = (a: Code, b: Code): Code => [...a, ...b, 0x6c];
const and = (a: Code, b: Code): Code => [...a, ...b, 0x71];
const shr = (a: Code, bits: number): Code => [...a, ...i32c(bits), 0x76];
/** select(a, b, a < b) and select(a, b, a > b), signed. */
const min = (a: Code, b: Code): Code => [...a, ...b, ...a, ...b, 0x48, 0x1b];
const max = (a: Code, b: Code): Code => [...a, ...b, ...a, ...b, 0x4a, 0x1b];
/** `for (counter = 0; counter < limit; counter++) body`. */
const forCount = (counter: number, limit: Code, body: Code): Code => [
  ...setLocal(counter, i32c(0)),
  0x02, 0x40, 0x03, 0x40,
  ...local(counter), ...limit, 0x4e, 0x0d, 1, // br_if out (counter >= limit)
  ...body,
  ...setLocal(counter, i32Add(local(counter), i32c(1))),
  0x0c, 0, 0x0b, 0x0b,
];
/** `if (a < b) body`, signed. */
const ifLess = (a: Code, b: Code, body: Code): Code => [...a, ...b, 0x48, 0x04, 0x40, ...body, 0x0b];

function maxPoolGradFunction(): AssembledFunction {
  const [x, dy, dx, OH, OW, groups, rowsGeometry, colsGeometry, size, pixel] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [i, j, g, h, w, start, h0, h1, w0, w1, rowBytes, delta, row, p, dyRow] = [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24];
  const [best, where, v, above, lanes, d] = [25, 26, 27, 28, 29, 30];
  const field = (geometry: number, k: number): Code => and(shr(local(geometry), 8 * k), i32c(255));
  const H = and(local(size), i32c(0xffff));
  const W = shr(local(size), 16);
  const addresses = (pointer: Code): Code => [...pointer, ...simd(0x11), ...local(lanes), ...simd(0xae)]; // i32x4.splat + lanes
  // One position of the window: keep v where it is above the best so far (the first maximum wins ties).
  const position: Code = [
    ...setLocal(v, load(local(p))),
    ...setLocal(above, [...local(v), ...local(best), ...simd(0x44)]), // f32x4.gt
    ...setLocal(best, [...local(v), ...local(best), ...local(above), ...simd(0x52)]), // v128.bitselect
    ...setLocal(where, [...addresses(local(p)), ...local(where), ...local(above), ...simd(0x52)]),
    ...setLocal(p, i32Add(local(p), local(pixel))),
  ];
  // dx[where[k]] += dy[k] for the 4 lanes (4 channels: 4 different addresses).
  const scatter: Code = [0, 1, 2, 3].flatMap((k) => {
    const address = i32Add([...local(where), ...simd(0x1b, k)], local(delta));
    return [...address, ...address, 0x2a, 2, 0, ...local(d), ...simd(0x1f, k), 0x92, 0x38, 2, 0];
  });
  const group: Code = [
    ...setLocal(p, i32Add(local(start), mul(local(g), i32c(16)))),
    ...setLocal(best, load(local(p))),
    ...setLocal(where, addresses(local(p))),
    ...setLocal(row, local(p)),
    ...forCount(h, sub(local(h1), local(h0)), [
      ...setLocal(p, local(row)),
      ...forCount(w, sub(local(w1), local(w0)), position),
      ...setLocal(row, i32Add(local(row), local(rowBytes))),
    ]),
    ...setLocal(d, load(i32Add(i32Add(local(dyRow), mul(local(j), local(pixel))), mul(local(g), i32c(16))))),
    ...scatter,
  ];
  const column: Code = [
    ...setLocal(w0, sub(mul(local(j), field(colsGeometry, 0)), field(colsGeometry, 1))),
    ...setLocal(w1, min(i32Add(local(w0), field(colsGeometry, 2)), W)),
    ...setLocal(w0, max(local(w0), i32c(0))),
    ...ifLess(local(w0), local(w1), [
      ...setLocal(start, i32Add(i32Add(local(x), mul(local(h0), local(rowBytes))), mul(local(w0), local(pixel)))),
      ...forCount(g, local(groups), group),
    ]),
  ];
  const outputRow: Code = [
    ...setLocal(h0, sub(mul(local(i), field(rowsGeometry, 0)), field(rowsGeometry, 1))),
    ...setLocal(h1, min(i32Add(local(h0), field(rowsGeometry, 2)), H)),
    ...setLocal(h0, max(local(h0), i32c(0))),
    ...setLocal(dyRow, i32Add(local(dy), mul(mul(local(i), local(OW)), local(pixel)))),
    ...ifLess(local(h0), local(h1), forCount(j, local(OW), column)),
  ];
  const lanesConst = [...simd(0x0c), ...new Uint8Array(Int32Array.of(0, 4, 8, 12).buffer)];
  const body: Code = [
    ...setLocal(lanes, lanesConst),
    ...setLocal(rowBytes, mul(W, local(pixel))),
    ...setLocal(delta, sub(local(dx), local(x))),
    ...forCount(i, local(OH), outputRow),
  ];
  return { name: 'maxpool_grad', type: functionType(10), code: functionCode([[15, I32], [6, V128]], body) };
}

/** The assembled function (heap-threads.ts runs it on worker threads too). */
export const maxPoolGradFunctions = (): AssembledFunction[] => [maxPoolGradFunction()];

interface MaxPoolGradExports {
  maxpool_grad(...args: number[]): void;
}

/** Tensors of at least this many values split their channel groups over the threads. */
const THREADED_VALUES = 1 << 15;

/**
 * `MaxPoolGrad` of float32 `dy` for the forward `input` on the wasm heap, as a new tensor; undefined where the channels
 * are not a multiple of 4, a window dimension or stride is 256 or more, the image is 65,536 pixels wide or high,
 * dilation is not 1, or the backend has no heap SIMD (the caller then runs its typed-array kernel).
 */
export function maxPoolGradOnHeap(backend: object, dy: TensorInfo, input: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo | undefined {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: KH, filterWidth: KW, padInfo } = info;
  const small = (...values: number[]) => values.every((n) => n >= 0 && n < 256);
  if (C % 4 !== 0 || dy.dtype !== 'float32' || input.dtype !== 'float32' || info.dilationHeight !== 1 || info.dilationWidth !== 1) return undefined;
  if (!small(sh, sw, KH, KW, padInfo.top, padInfo.left) || H >= 1 << 16 || W >= 1 << 16) return undefined;
  const direct = instantiateOnHeap<MaxPoolGradExports>(backend, 'max-pool-grad', maxPoolGradFunctions);
  if (!direct) return undefined;
  const out = allocFloat32(backend, input.shape);
  float32View(backend, out).fill(0);
  const tiles = tileKernels(backend);
  const threaded = tiles && B * H * W * C >= THREADED_VALUES ? threadedTiles(tiles, heapMemory(backend)) : undefined;
  const threads = threaded?.call ? (threaded.threads ?? 1) : 1;
  const [xo, dyo, dxo] = [heapOffset(backend, input), heapOffset(backend, dy), heapOffset(backend, out)];
  const geometry = [sh | (padInfo.top << 8) | (KH << 16), sw | (padInfo.left << 8) | (KW << 16), H | (W << 16), 4 * C];
  const groups = C / 4;
  for (let t = 0; t < threads; t++) {
    const [g0, g1] = threadShare(groups, t, threads);
    if (g1 <= g0) continue;
    for (let b = 0; b < B; b++) {
      const args = [xo + 4 * (b * H * W * C) + 16 * g0, dyo + 4 * (b * OH * OW * C) + 16 * g0, dxo + 4 * (b * H * W * C) + 16 * g0, OH, OW, g1 - g0, ...geometry];
      if (threads === 1) direct.maxpool_grad(...args);
      else threaded!.call!('maxpool_grad', args, t);
    }
  }
  if (threads > 1) threaded!.finish!();
  return out;
}

/** `MaxPoolGrad` for tfjs-backend-wasm: {@link maxPoolGradOnHeap}, or the typed-array kernel where that does not apply. */
export const maxPoolGradWasm: KernelFunc = (args) => {
  const { dy, input } = args.inputs as { dy: TensorInfo; input: TensorInfo };
  return maxPoolGradOnHeap(args.backend, dy, input, maxPoolGeometry(input, args.attrs)) ?? maxPoolGrad(args);
};
