// Slice, SplitV and PadV2 on tfjs-backend-wasm without copying the input. tfjs-backend-wasm 4.22's Slice reads the whole input
// out of the heap (`readSync`: a copy) before copying the slice, and SplitV runs that Slice once per part: the gradient of
// a decoder's channel concat copied its 16 MB input twice over to split it in two (~23 ms a UNet-ResNet18 training step
// at 2x128x256). Here the slice is copied from the heap in place, as runs of consecutive values: by `copy_rows`
// (memory.copy per run, a call per row of runs) where the heap module is there, else by typed-array copies. Zero padding
// of the rows and columns of NHWC images (the explicit padding of strided convolutions and of the max pool, PyTorch's
// symmetric `padding`) is one `copy_rows` call per image, which writes the zeros and copies the rows.
import { backend_util, slice_util, util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { heapOffset } from './wasm-heap-module.ts';
import { winogradTransforms } from './winograd.ts';

interface HeapBackend {
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
  makeOutput(shape: number[], dtype: string): TensorInfo;
}

/** x[begin : begin + size] (any rank) as a new tensor, copied from the heap run by run. */
export function sliceOnHeap(backend: HeapBackend, x: TensorInfo, begin: readonly number[], size: readonly number[]): TensorInfo {
  const out = backend.makeOutput([...size], x.dtype);
  const n = util.sizeFromShape(size as number[]);
  if (n === 0) return out;
  const xv = backend.typedArrayFromHeap(x);
  const ov = backend.typedArrayFromHeap(out);
  const rank = x.shape.length;
  const strides = [...util.computeStrides(x.shape), 1];
  // Axes after `k` are taken whole, so each run is size[k] · stride[k] consecutive values.
  let k = rank - 1;
  while (k > 0 && begin[k] === 0 && size[k] === x.shape[k]) k--;
  const run = (size[k] ?? 1) * strides[k]!;
  // The runs along axis k − 1 (one run when k = 0), copied for each index of axes 0 … k − 2: by one copy_rows call where
  // the heap module is there, else run by run.
  const rows = k > 0 ? size[k - 1]! : 1;
  const rowStride = k > 0 ? strides[k - 1]! : 0;
  const strip = rows > 1 ? winogradTransforms(backend)?.copy_rows : undefined;
  const bytes = xv.BYTES_PER_ELEMENT;
  const [x0, o0] = strip ? [heapOffset(backend, x), heapOffset(backend, out)] : [0, 0];
  const copyRows = (from: number, o: number) => {
    if (strip) strip(x0 + bytes * from, bytes * rowStride, o0 + bytes * o, bytes * run, rows, 0, bytes * run, 0);
    else for (let r = 0; r < rows; r++) ov.set(xv.subarray(from + r * rowStride, from + r * rowStride + run), o + r * run);
  };
  const outer = new Array<number>(Math.max(0, k - 1)).fill(0);
  for (let o = 0; o < n; o += rows * run) {
    let from = (begin[k] ?? 0) * strides[k]! + (k > 0 ? begin[k - 1]! * rowStride : 0);
    for (let a = 0; a < k - 1; a++) from += (begin[a]! + outer[a]!) * strides[a]!;
    copyRows(from, o);
    // Next row of runs: advance the odometer over axes k − 2 … 0.
    for (let a = k - 2; a >= 0; a--) {
      if (++outer[a]! < size[a]!) break;
      outer[a] = 0;
    }
  }
  return out;
}

const onHeap = (backend: unknown): backend is HeapBackend => typeof (backend as Partial<HeapBackend>).typedArrayFromHeap === 'function';

/** Wraps the backend's `Slice`: numeric tensors are sliced on the heap, strings go to `stock`. */
export function slicingOnHeap(stock: KernelFunc): KernelFunc {
  return (args) => {
    const x = args.inputs['x']!;
    if (x.dtype === 'string' || x.shape.length === 0 || !onHeap(args.backend)) return stock(args);
    const { begin, size } = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
    const [b, s] = slice_util.parseSliceParams(x as never, begin, size) as [number[], number[]];
    slice_util.assertParamsValid(x as never, b, s);
    return sliceOnHeap(args.backend, x, b, s);
  };
}

/** Wraps the backend's `SplitV`: numeric tensors are split on the heap, strings go to `stock`. */
export function splittingOnHeap(stock: KernelFunc): KernelFunc {
  return (args) => {
    const x = args.inputs['x']!;
    if (x.dtype === 'string' || x.shape.length === 0 || !onHeap(args.backend)) return stock(args);
    const { numOrSizeSplits, axis } = args.attrs as unknown as { numOrSizeSplits: number | number[]; axis: number };
    const a = util.parseAxisParam(axis, x.shape)[0]!;
    const sizes = backend_util.prepareSplitSize(x as never, numOrSizeSplits, a);
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((part) => {
      const size = [...x.shape];
      size[a] = part;
      const out = sliceOnHeap(args.backend as HeapBackend, x, begin, size);
      begin[a]! += part;
      return out;
    });
  };
}

/**
 * `PadV2` of a float32 NHWC tensor by zeros on its rows and columns only, on the heap: for each image the top rows, each
 * row's left zeros, the row itself and its right zeros, then the bottom rows, written by `copy_rows`. Undefined for any
 * other padding (the caller runs the stock kernel).
 */
export function padImagesOnHeap(backend: object, x: TensorInfo, paddings: readonly (readonly [number, number])[], value: number): TensorInfo | undefined {
  if (x.dtype !== 'float32' || x.shape.length !== 4 || value !== 0 || !onHeap(backend)) return undefined;
  const [[b0, b1], [top, bottom], [left, right], [c0, c1]] = paddings as [[number, number], [number, number], [number, number], [number, number]];
  if (b0 !== 0 || b1 !== 0 || c0 !== 0 || c1 !== 0 || Math.min(top, bottom, left, right) < 0) return undefined;
  const copyRows = winogradTransforms(backend)?.copy_rows;
  if (!copyRows) return undefined;
  const [B, H, W, C] = x.shape as [number, number, number, number];
  const [OH, OW] = [H + top + bottom, W + left + right];
  const out = backend.makeOutput([B, OH, OW, C], 'float32');
  if (B * OH * OW * C === 0) return out;
  const [x0, o0] = [heapOffset(backend, x), heapOffset(backend, out)];
  const [inRow, outRow] = [4 * W * C, 4 * OW * C];
  for (let b = 0; b < B; b++) {
    const image = o0 + b * OH * outRow;
    if (top > 0) copyRows(0, 0, image, outRow, top, outRow, 0, 0);
    if (H > 0) copyRows(x0 + b * H * inRow, inRow, image + top * outRow, outRow, H, 4 * left * C, inRow, 4 * right * C);
    if (bottom > 0) copyRows(0, 0, image + (top + H) * outRow, outRow, bottom, outRow, 0, 0);
  }
  return out;
}

/** Wraps the backend's `PadV2`: zero padding of NHWC rows and columns on the heap, anything else to `stock`. */
export function paddingOnHeap(stock: KernelFunc): KernelFunc {
  return (args) => {
    const { paddings, constantValue } = args.attrs as unknown as { paddings: [number, number][]; constantValue: number };
    return padImagesOnHeap(args.backend, args.inputs['x']!, paddings, constantValue) ?? stock(args);
  };
}
