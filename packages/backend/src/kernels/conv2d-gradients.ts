// Convolution gradients for backends whose own kernels are missing or slow (wasm): both are computed as one forward
// Conv2D of the backend, after rearranging the operands with typed-array loops.
//
// Forward (NHWC, HWIO, dilation 1): y[b,i,j,o] = Σ_{p,q,c} x[b, i·sh + p − top, j·sw + q − left, c] · w[p,q,c,o].
import { backend_util, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import { disposeIntermediate, makeFloat32, readFloat32 } from './tensor-data.ts';

type Conv2DRunner = (backend: object, x: TensorInfo, filter: TensorInfo, dilations: [number, number]) => TensorInfo;

/** Runs a backend's own Conv2D kernel (stride 1, 'valid' padding) without going through the engine. */
export function conv2dRunner(conv2dKernel: KernelFunc): Conv2DRunner {
  return (backend, x, filter, dilations) =>
    conv2dKernel({
      inputs: { x, filter },
      backend,
      attrs: { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations, dimRoundingMode: undefined } as unknown as NamedAttrMap,
    }) as TensorInfo;
}

function convInfoOf(xShape: number[], filterShape: number[], attrs: NamedAttrMap): backend_util.Conv2DInfo {
  const { strides, pad, dataFormat, dimRoundingMode } = attrs as unknown as {
    strides: number | [number, number];
    pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  const info = backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    backend_util.convertConv2DDataFormat(dataFormat ?? 'NHWC'),
  );
  if (info.dataFormat !== 'channelsLast') throw new Error(`Convolution gradients support NHWC only, got ${String(dataFormat)}.`);
  return info;
}

/**
 * `Conv2DBackpropFilter` as a convolution. dW[p,q,c,o] = Σ_{b,i,j} x[b, i·sh+p−top, j·sw+q−left, c] · dy[b,i,j,o], which is a
 * stride-1 convolution of the image X'[c, h, w, b] (x with batch and channels swapped, padded so that every window starts
 * inside it) with the filter F[i, j, b, o] = dy[b, i, j, o] dilated by the forward stride; its output [c, p, q, o] is then
 * transposed to [p, q, c, o].
 */
export function createConv2DBackpropFilter(runConv2D: Conv2DRunner): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const x = inputs['x']!;
    const dy = inputs['dy']!;
    const filterShape = (attrs as { filterShape: number[] }).filterShape;
    const info = convInfoOf(x.shape, filterShape, attrs as NamedAttrMap);
    const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: O } = info;
    const { strideHeight: sh, strideWidth: sw, filterHeight: KH, filterWidth: KW } = info;
    const top = info.padInfo.top;
    const left = info.padInfo.left;
    // Rows the windows touch, padding included: (OH − 1)·sh + KH (rows past the input stay zero, unused rows are cut).
    const HP = (OH - 1) * sh + KH;
    const WP = (OW - 1) * sw + KW;

    const xv = readFloat32(backend, x);
    const xt = new Float32Array(C * HP * WP * B);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        const hh = h + top;
        if (hh < 0 || hh >= HP) continue;
        for (let w = 0; w < W; w++) {
          const ww = w + left;
          if (ww < 0 || ww >= WP) continue;
          const src = ((b * H + h) * W + w) * C;
          const dst = (hh * WP + ww) * B + b;
          const cStride = HP * WP * B;
          for (let c = 0; c < C; c++) xt[dst + c * cStride] = xv[src + c]!;
        }
      }
    }
    const dyv = readFloat32(backend, dy);
    const ft = new Float32Array(OH * OW * B * O);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < OH; i++) {
        for (let j = 0; j < OW; j++) {
          const src = ((b * OH + i) * OW + j) * O;
          ft.set(dyv.subarray(src, src + O), ((i * OW + j) * B + b) * O);
        }
      }
    }
    const xInfo = makeFloat32(backend, [C, HP, WP, B], xt);
    const fInfo = makeFloat32(backend, [OH, OW, B, O], ft);
    let r: TensorInfo;
    try {
      r = runConv2D(backend, xInfo, fInfo, [sh, sw]);
    } finally {
      disposeIntermediate(backend, xInfo);
      disposeIntermediate(backend, fInfo);
    }
    const rv = readFloat32(backend, r);
    disposeIntermediate(backend, r);
    const dw = new Float32Array(KH * KW * C * O);
    for (let c = 0; c < C; c++) {
      for (let p = 0; p < KH; p++) {
        for (let q = 0; q < KW; q++) {
          const src = ((c * KH + p) * KW + q) * O;
          dw.set(rv.subarray(src, src + O), ((p * KW + q) * C + c) * O);
        }
      }
    }
    return makeFloat32(backend, [KH, KW, C, O], dw);
  };
}

/**
 * `Conv2DBackpropInput` as a forward convolution: dx[b,h,w,c] = Σ_{p',q',o} D[b, h+p', w+q', o] · wf[p',q',o,c], where D is dy
 * zero-dilated by the stride and placed at offset (KH−1−top, KW−1−left) in a [B, H+KH−1, W+KW−1, O] array, and wf is the filter
 * flipped in both spatial axes with input and output channels swapped.
 */
export function createConv2DBackpropInput(runConv2D: Conv2DRunner): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const dy = inputs['dy']!;
    const filter = inputs['filter']!;
    const inputShape = (attrs as { inputShape: number[] }).inputShape;
    const info = convInfoOf(inputShape, filter.shape, attrs as NamedAttrMap);
    const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: O } = info;
    const { strideHeight: sh, strideWidth: sw, filterHeight: KH, filterWidth: KW } = info;
    const HD = H + KH - 1;
    const WD = W + KW - 1;
    const offTop = KH - 1 - info.padInfo.top;
    const offLeft = KW - 1 - info.padInfo.left;

    const dyv = readFloat32(backend, dy);
    const d = new Float32Array(B * HD * WD * O);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < OH; i++) {
        const hh = i * sh + offTop;
        if (hh < 0 || hh >= HD) continue;
        for (let j = 0; j < OW; j++) {
          const ww = j * sw + offLeft;
          if (ww < 0 || ww >= WD) continue;
          const src = ((b * OH + i) * OW + j) * O;
          d.set(dyv.subarray(src, src + O), ((b * HD + hh) * WD + ww) * O);
        }
      }
    }
    const wv = readFloat32(backend, filter);
    const wf = new Float32Array(KH * KW * O * C);
    for (let p = 0; p < KH; p++) {
      for (let q = 0; q < KW; q++) {
        const src = ((KH - 1 - p) * KW + (KW - 1 - q)) * C * O;
        const dst = (p * KW + q) * O * C;
        for (let c = 0; c < C; c++) {
          for (let o = 0; o < O; o++) wf[dst + o * C + c] = wv[src + c * O + o]!;
        }
      }
    }
    const dInfo = makeFloat32(backend, [B, HD, WD, O], d);
    const fInfo = makeFloat32(backend, [KH, KW, O, C], wf);
    try {
      return runConv2D(backend, dInfo, fInfo, [1, 1]);
    } finally {
      disposeIntermediate(backend, dInfo);
      disposeIntermediate(backend, fInfo);
    }
  };
}
