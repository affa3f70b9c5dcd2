// Sum and Mean over the leading axes of a float32 tensor (per channel of NHWC: what batch norm, its gradient and bias
// gradients reduce). tfjs-backend-wasm transposes the reduced axes to the end first and adds in float32; this reads the
// tensor once, row by row, into float64 accumulators. Other reductions go to the stock kernel.
import { util, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { allocFloat32, float32View } from './tensor-data.ts';

/** The number of leading axes `axis` names when it names exactly axes 0..k-1 (k < rank), else 0. */
function leadingAxes(axis: number | number[], shape: readonly number[]): number {
  const axes = [...new Set(util.parseAxisParam(axis, shape as number[]))].sort((a, b) => a - b);
  if (axes.length === 0 || axes.length >= shape.length) return 0;
  return axes.every((a, i) => a === i) ? axes.length : 0;
}

function reduceLeading(backend: object, x: TensorInfo, k: number, keepDims: boolean, mean: boolean): TensorInfo {
  const rows = util.sizeFromShape(x.shape.slice(0, k));
  const cols = util.sizeFromShape(x.shape.slice(k));
  const outShape = keepDims ? [...x.shape.slice(0, k).map(() => 1), ...x.shape.slice(k)] : x.shape.slice(k);
  const out = allocFloat32(backend, outShape);
  const xv = float32View(backend, x);
  const ov = float32View(backend, out);
  const acc = new Float64Array(cols);
  const C = cols;
  let i = 0;
  // Eight rows at a time (pairwise, in float64): one accumulator update per eight values.
  for (; i + 7 < rows; i += 8) {
    const base = i * C;
    for (let j = 0; j < C; j++) {
      const k = base + j;
      acc[j] = acc[j]! + (xv[k]! + xv[k + C]! + (xv[k + 2 * C]! + xv[k + 3 * C]!) + (xv[k + 4 * C]! + xv[k + 5 * C]! + (xv[k + 6 * C]! + xv[k + 7 * C]!)));
    }
  }
  for (; i < rows; i++) {
    const base = i * C;
    for (let j = 0; j < C; j++) acc[j] = acc[j]! + xv[base + j]!;
  }
  const scale = mean ? 1 / rows : 1;
  for (let j = 0; j < cols; j++) ov[j] = acc[j]! * scale;
  return out;
}

/** Wraps a backend's `Sum` or `Mean` kernel: float32 reductions over the leading axes run here, the rest in `stock`. */
export function withLeadingAxesReduction(stock: KernelFunc, mean: boolean): KernelFunc {
  return (args) => {
    const x = args.inputs['x']!;
    const { axis, keepDims = false } = args.attrs as unknown as { axis: number | number[]; keepDims?: boolean };
    if (x.dtype !== 'float32' || util.sizeFromShape(x.shape) === 0) return stock(args);
    const k = leadingAxes(axis, x.shape);
    if (k === 0) return stock(args);
    return reduceLeading(args.backend, x, k, keepDims, mean);
  };
}

