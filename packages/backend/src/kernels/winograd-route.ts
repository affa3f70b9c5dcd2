// Where the wasm convolution kernels hand a 3x3 stride-1 convolution to Winograd (winograd.ts).
import type { backend_util, TensorInfo } from '@tensorflow/tfjs-core';
import { tileKernels } from './gemm.ts';
import { threadedTiles } from './heap-threads.ts';
import { heapMemory } from './wasm-heap-module.ts';
import { backpropInputShape, winogradConv, winogradFilterGradient, winogradPays, winogradShape, winogradTransforms, type WinogradShape } from './winograd.ts';

let enabled = true;

/** Turns the Winograd route on or off (benchmarks and tests compare it with the direct convolutions). */
export function setWinograd(on: boolean): void {
  enabled = on;
}

type Run = (x: TensorInfo, filter: TensorInfo, options?: { bias?: TensorInfo | undefined; relu?: boolean }) => TensorInfo;

/** The transforms and (threaded) product kernels where Winograd applies to `shape` and pays. */
function setup(backend: object, shape: WinogradShape | undefined) {
  if (!enabled || !shape || !winogradPays(shape)) return undefined;
  const transforms = winogradTransforms(backend);
  const tiles = transforms && tileKernels(backend);
  if (!transforms || !tiles) return undefined;
  return { shape, transforms, kernels: threadedTiles(tiles, heapMemory(backend)) };
}

function route(backend: object, shape: WinogradShape | undefined, flipped: boolean): Run | undefined {
  const s = setup(backend, shape);
  return s && ((x, filter, options = {}) => winogradConv(backend, s.kernels, s.transforms, x, filter, s.shape, { ...options, flipped }));
}

/** The forward convolution of `info` by Winograd on `backend`'s heap, or undefined where it does not apply or pay. */
export const winogradRoute = (backend: object, info: backend_util.Conv2DInfo): Run | undefined => route(backend, winogradShape(info), false);

/** `Conv2DBackpropInput` of `info` (run on dy and the forward filter) by Winograd, or undefined where it does not apply or pay. */
export const winogradInputRoute = (backend: object, info: backend_util.Conv2DInfo): Run | undefined => route(backend, backpropInputShape(info), true);

/** `Conv2DBackpropFilter` of `info` (run on x and dy) by Winograd, or undefined where it does not apply or pay. */
export function winogradFilterRoute(backend: object, info: backend_util.Conv2DInfo): ((x: TensorInfo, dy: TensorInfo) => TensorInfo) | undefined {
  const s = setup(backend, winogradShape(info));
  return s && ((x, dy) => winogradFilterGradient(backend, s.kernels, s.transforms, x, dy, s.shape));
}
