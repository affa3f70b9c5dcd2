// tfjs-backend-wasm 4.22 hands 'same' padding to XNNPACK as its TensorFlow-SAME flag, which returns all zeros for
// non-square kernels or strides (e.g. a 1x2 kernel, or strides [2, 3]). The wrapper passes the same padding explicitly.
import { backend_util, type KernelFunc, type NamedAttrMap } from '@tensorflow/tfjs-core';

/** Wraps a stock convolution kernel so that `pad: 'same'` reaches it as explicit padding. */
export function withExplicitSamePadding(stockKernel: KernelFunc, depthwise: boolean): KernelFunc {
  return (args) => {
    const attrs = args.attrs as unknown as {
      pad: unknown;
      strides: number | [number, number];
      dilations?: number | [number, number];
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
      dataFormat?: 'NHWC' | 'NCHW';
    };
    if (attrs.pad !== 'same') return stockKernel(args);
    const x = args.inputs['x']!;
    const filter = args.inputs['filter']!;
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      attrs.strides,
      attrs.dilations ?? 1,
      'same',
      attrs.dimRoundingMode,
      depthwise,
      backend_util.convertConv2DDataFormat(attrs.dataFormat ?? 'NHWC'),
    );
    const { top, bottom, left, right } = info.padInfo;
    const pad = [[0, 0], [top, bottom], [left, right], [0, 0]];
    return stockKernel({ ...args, attrs: { ...args.attrs, pad } as unknown as NamedAttrMap });
  };
}
