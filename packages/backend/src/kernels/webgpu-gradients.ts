// Gradients of max pooling and resizing for tfjs-backend-webgpu, as WGSL compute programs run by the backend itself (the
// data stays on the GPU). They follow the conventions of this package's typed-array kernels for cpu and wasm.
import type { KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { bilinearSourceWeights, maxPoolGeometry, nearestSourceIndex } from './pool-resize-gradients.ts';

/** What tfjs-backend-webgpu's `runWebGPUProgram` needs of a program (its `WebGPUProgram`). */
interface WebgpuProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  variableNames: string[];
  uniforms: string;
  workgroupSize: [number, number, number];
  size: true;
  getUserCode(): string;
}

interface WebgpuBackend {
  runWebGPUProgram(program: WebgpuProgram, inputs: TensorInfo[], dtype: 'float32', uniforms: { type: 'int32'; data: number[] }[]): TensorInfo;
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
  disposeData(dataId: object): void;
}

const WORKGROUP = 64;

/** A program with one invocation per element of the NHWC `outputShape` (tfjs-webgpu's flat dispatch); `body` sees b, h, w, d. */
function flatProgram(shaderKey: string, outputShape: number[], variableNames: string[], uniforms: string, body: string): WebgpuProgram {
  const size = outputShape.reduce((a, b) => a * b, 1);
  return {
    outputShape,
    shaderKey,
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: [Math.ceil(size / WORKGROUP), 1, 1],
    variableNames,
    uniforms,
    workgroupSize: [WORKGROUP, 1, 1],
    size: true,
    getUserCode: () => `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let coords = getCoordsFromIndex(index);
          let b = coords[0];
          let h = coords[1];
          let w = coords[2];
          let d = coords[3];
          ${body}
        }
      }`,
  };
}

// One invocation per input pixel: for each window that holds the pixel, find the window's first maximum (row-major order,
// padding excluded, whatever the sign of the values) and take that window's dy if it is this pixel. tfjs-webgpu's own
// kernel lets the last maximum win, which sends gradients elsewhere than the cpu and wasm backends on ties.
const MAX_POOL_GRAD = `
  let H = uniforms.xShape[1];
  let W = uniforms.xShape[2];
  var sum = 0.0;
  for (var p = 0; p < uniforms.filterDims.x; p++) {
    let rowNum = h + uniforms.pads.x - p;
    if (rowNum < 0 || rowNum % uniforms.strides.x != 0) { continue; }
    let i = rowNum / uniforms.strides.x;
    if (i >= uniforms.dyShape[1]) { continue; }
    for (var q = 0; q < uniforms.filterDims.y; q++) {
      let colNum = w + uniforms.pads.y - q;
      if (colNum < 0 || colNum % uniforms.strides.y != 0) { continue; }
      let j = colNum / uniforms.strides.y;
      if (j >= uniforms.dyShape[2]) { continue; }
      var found = false;
      var best = 0.0;
      var bestRow = -1;
      var bestCol = -1;
      for (var r = 0; r < uniforms.filterDims.x; r++) {
        let xr = i * uniforms.strides.x - uniforms.pads.x + r;
        if (xr < 0 || xr >= H) { continue; }
        for (var c = 0; c < uniforms.filterDims.y; c++) {
          let xc = j * uniforms.strides.y - uniforms.pads.y + c;
          if (xc < 0 || xc >= W) { continue; }
          let v = getX(b, xr, xc, d);
          if (!found || v > best) {
            found = true;
            best = v;
            bestRow = xr;
            bestCol = xc;
          }
        }
      }
      if (bestRow == h && bestCol == w) { sum = sum + getDy(b, i, j, d); }
    }
  }
  setOutputAtIndex(index, sum);`;

/**
 * `MaxPoolGrad` on webgpu: each dy goes to the first maximum of its window (row-major order; padding never wins), like
 * this package's cpu and wasm kernels and tfjs' cpu forward.
 */
export const webgpuMaxPoolGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const dy = inputs['dy']!;
  const input = inputs['input']!;
  const info = maxPoolGeometry(input, attrs);
  const program = flatProgram('steelMaxPoolGrad', input.shape, ['dy', 'x'], 'strides : vec2<i32>, pads : vec2<i32>, filterDims : vec2<i32>,', MAX_POOL_GRAD);
  return (backend as unknown as WebgpuBackend).runWebGPUProgram(program, [dy, input], 'float32', [
    { type: 'int32', data: [info.strideHeight, info.strideWidth] },
    { type: 'int32', data: [info.padInfo.top, info.padInfo.left] },
    { type: 'int32', data: [info.filterHeight, info.filterWidth] },
  ]);
};

/**
 * One axis of a resize as a table for the shader, all float32 (indices are exact below 2^24):
 * [lo(o), hi(o), weight of hi(o)] for each output index o, then [first, end) of the outputs that read input index i.
 */
function axisTable(inSize: number, outSize: number, lo: ArrayLike<number>, hi: ArrayLike<number>, frac: ArrayLike<number>): Float32Array {
  const table = new Float32Array(3 * outSize + 2 * inSize);
  table.fill(-1, 3 * outSize);
  for (let o = 0; o < outSize; o++) {
    table[3 * o] = lo[o]!;
    table[3 * o + 1] = hi[o]!;
    table[3 * o + 2] = frac[o]!;
    for (const i of [lo[o]!, hi[o]!]) {
      const first = 3 * outSize + 2 * i;
      if (table[first]! < 0) table[first] = o;
      table[first + 1] = o + 1;
    }
  }
  for (let i = 0; i < inSize; i++) if (table[3 * outSize + 2 * i]! < 0) table.fill(0, 3 * outSize + 2 * i, 3 * outSize + 2 * i + 2);
  return table;
}

// One invocation per input pixel: dx(h, w) = Σ over the outputs that read row h and column w of weight(row) ·
// weight(column) · dy. lo(o) and hi(o) are non-decreasing in o, so those outputs are a contiguous range per axis.
const RESIZE_GRAD = `
  let OH = uniforms.dyShape[1];
  let OW = uniforms.dyShape[2];
  let rowFirst = i32(getRows(3 * OH + 2 * h));
  let rowEnd = i32(getRows(3 * OH + 2 * h + 1));
  let colFirst = i32(getCols(3 * OW + 2 * w));
  let colEnd = i32(getCols(3 * OW + 2 * w + 1));
  var sum = 0.0;
  for (var o = rowFirst; o < rowEnd; o++) {
    let rf = getRows(3 * o + 2);
    let wr = select(0.0, 1.0 - rf, i32(getRows(3 * o)) == h) + select(0.0, rf, i32(getRows(3 * o + 1)) == h);
    if (wr == 0.0) { continue; }
    var row = 0.0;
    for (var p = colFirst; p < colEnd; p++) {
      let cf = getCols(3 * p + 2);
      let wc = select(0.0, 1.0 - cf, i32(getCols(3 * p)) == w) + select(0.0, cf, i32(getCols(3 * p + 1)) == w);
      row = row + wc * getDy(b, o, p, d);
    }
    sum = sum + wr * row;
  }
  setOutputAtIndex(index, sum);`;

function resizeGrad(kind: 'nearest' | 'bilinear'): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const images = inputs['images']!;
    const dy = inputs['dy']!;
    const { alignCorners = false, halfPixelCenters = false } = attrs as NamedAttrMap as { alignCorners?: boolean; halfPixelCenters?: boolean };
    const [, H, W] = images.shape as [number, number, number, number];
    const [, OH, OW] = dy.shape as [number, number, number, number];
    const table = (inSize: number, outSize: number) => {
      if (kind === 'bilinear') {
        const { lo, hi, frac } = bilinearSourceWeights(inSize, outSize, alignCorners, halfPixelCenters);
        return axisTable(inSize, outSize, lo, hi, frac);
      }
      const src = nearestSourceIndex(inSize, outSize, alignCorners, halfPixelCenters);
      return axisTable(inSize, outSize, src, src, new Float32Array(outSize));
    };
    const gpu = backend as unknown as WebgpuBackend;
    const rowTable = table(H, OH);
    const colTable = table(W, OW);
    const rows = gpu.makeTensorInfo([rowTable.length], 'float32', rowTable);
    const cols = gpu.makeTensorInfo([colTable.length], 'float32', colTable);
    try {
      return gpu.runWebGPUProgram(flatProgram('steelResizeGrad', images.shape, ['dy', 'rows', 'cols'], '', RESIZE_GRAD), [dy, rows, cols], 'float32', []);
    } finally {
      gpu.disposeData(rows.dataId);
      gpu.disposeData(cols.dataId);
    }
  };
}

/** `ResizeNearestNeighborGrad` on webgpu: the exact adjoint of the forward resize for every `alignCorners` / `halfPixelCenters`. */
export const webgpuResizeNearestNeighborGrad = resizeGrad('nearest');
/** `ResizeBilinearGrad` on webgpu: the exact adjoint of the forward resize for every `alignCorners` / `halfPixelCenters`. */
export const webgpuResizeBilinearGrad = resizeGrad('bilinear');
