// Registers the kernel fixes of this package with tfjs' global kernel registry (replacing the stock kernel, if any).
import * as tf from '@tensorflow/tfjs-core';
import { conv2dRunner, createConv2DBackpropFilter, createConv2DBackpropInput, matMulRunner } from './conv2d-gradients.ts';
import { maxPoolGradWasm } from './max-pool-gradient.ts';
import { maxPoolGrad, resizeBilinearGrad, resizeNearestNeighborGrad, resizeNearestNeighborGradByPooling } from './pool-resize-gradients.ts';
import { withExplicitSamePadding } from './same-padding.ts';
import { withProductRoute } from './conv2d-products.ts';
import { withLeadingAxesReduction } from './reductions.ts';
import { keepingGradient, registerGradientFixes } from './batch-norm-gradient.ts';
import { webgpuMaxPoolGrad, webgpuResizeBilinearGrad, webgpuResizeNearestNeighborGrad } from './webgpu-gradients.ts';
import { ADAM_UPDATE, adamUpdate } from './adam-update.ts';
import { sharingData } from './identity.ts';
import { paddingOnHeap, slicingOnHeap, splittingOnHeap } from './slice.ts';
import { BROADCAST_ROWS, broadcastRows } from './mean-gradient.ts';
import { BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD, batchNormTraining, batchNormTrainingGrad } from './batch-norm-training.ts';

interface KernelFix {
  kernelName: string;
  /** Why the stock kernel is replaced (shown in docs and benchmarks). */
  reason: string;
  create(backendName: string): tf.KernelFunc | undefined;
}

/** Makes a kernel from the backend's own (stock) Conv2D and BatchMatMul. */
function withConv2DAndMatMul(make: (conv: ReturnType<typeof conv2dRunner>, matMul: ReturnType<typeof matMulRunner>) => tf.KernelFunc) {
  return (backendName: string): tf.KernelFunc | undefined => {
    const conv = stockKernel('Conv2D', backendName) ?? tf.getKernel('Conv2D', backendName);
    const matMul = stockKernel('BatchMatMul', backendName) ?? tf.getKernel('BatchMatMul', backendName);
    return conv && matMul ? make(conv2dRunner(conv.kernelFunc), matMulRunner(matMul.kernelFunc)) : undefined;
  };
}

function wrapStock(kernelName: string, depthwise: boolean) {
  return (backendName: string): tf.KernelFunc | undefined => {
    const original = stockKernel(kernelName, backendName) ?? tf.getKernel(kernelName, backendName);
    return original ? withExplicitSamePadding(original.kernelFunc, depthwise) : undefined;
  };
}

/** `wrapStock` for Conv2D and FusedConv2D, with deep layers (few pixels, many weights) as matrix products. */
function wrapConv(kernelName: string) {
  return (backendName: string): tf.KernelFunc | undefined => {
    const padded = wrapStock(kernelName, false)(backendName);
    const matMul = stockKernel('BatchMatMul', backendName) ?? tf.getKernel('BatchMatMul', backendName);
    return padded && matMul ? withProductRoute(padded, matMulRunner(matMul.kernelFunc)) : padded;
  };
}

function fastReduction(kernelName: 'Sum' | 'Mean') {
  return (backendName: string): tf.KernelFunc | undefined => {
    const original = stockKernel(kernelName, backendName) ?? tf.getKernel(kernelName, backendName);
    if (!original) return undefined;
    const reduce = withLeadingAxesReduction(original.kernelFunc, kernelName === 'Mean');
    // The tape looks a gradient up when it records the kernel: keep ours for Mean even when tfjs-layers came later.
    return kernelName === 'Mean' ? keepingGradient(reduce) : reduce;
  };
}

function withSharedData(kernelName: 'Identity' | 'Cast') {
  return (backendName: string): tf.KernelFunc | undefined => {
    const original = stockKernel(kernelName, backendName) ?? tf.getKernel(kernelName, backendName);
    return original ? sharingData(original.kernelFunc) : undefined;
  };
}

function withHeapSlices(kernelName: 'Slice' | 'SplitV' | 'PadV2') {
  return (backendName: string): tf.KernelFunc | undefined => {
    const original = stockKernel(kernelName, backendName) ?? tf.getKernel(kernelName, backendName);
    if (!original) return undefined;
    const wrap = { Slice: slicingOnHeap, SplitV: splittingOnHeap, PadV2: paddingOnHeap }[kernelName];
    return wrap(original.kernelFunc);
  };
}

function keepBatchNormGradient(backendName: string): tf.KernelFunc | undefined {
  const original = stockKernel('FusedBatchNorm', backendName) ?? tf.getKernel('FusedBatchNorm', backendName);
  return original ? keepingGradient(original.kernelFunc) : undefined;
}

const KEEP_BN_GRADIENT = "forward unchanged; keeps this package's FusedBatchNorm gradient registered when tfjs-layers is imported later";
const SAME_PADDING = "'same' padding returns zeros for non-square kernels or strides";
const BROADCAST = { kernelName: BROADCAST_ROWS, reason: 'new: the gradient of per-channel means (batch-norm statistics) in one pass', create: () => broadcastRows };
const ADAM = { kernelName: ADAM_UPDATE, reason: "new: Adam's update of a variable in one pass (used by createAdam)", create: () => adamUpdate };
const BN_TRAINING = [
  { kernelName: BATCH_NORM_TRAINING, reason: 'new: training-mode batch norm (statistics and normalisation) in two passes, threaded (used by @steel/models)', create: () => batchNormTraining },
  { kernelName: BATCH_NORM_TRAINING_GRAD, reason: `new: the gradient of ${BATCH_NORM_TRAINING} in two passes, threaded`, create: () => batchNormTrainingGrad },
];

/** The kernels each backend gets, keyed by tfjs backend name. */
export const KERNEL_FIXES: Readonly<Record<string, readonly KernelFix[]>> = {
  wasm: [
    { kernelName: 'Conv2D', reason: `${SAME_PADDING}; deep layers repack their filter slowly`, create: wrapConv('Conv2D') },
    { kernelName: 'FusedConv2D', reason: `${SAME_PADDING}; deep layers repack their filter slowly`, create: wrapConv('FusedConv2D') },
    { kernelName: 'DepthwiseConv2dNative', reason: SAME_PADDING, create: wrapStock('DepthwiseConv2dNative', true) },
    { kernelName: 'FusedDepthwiseConv2D', reason: SAME_PADDING, create: wrapStock('FusedDepthwiseConv2D', true) },
    { kernelName: 'Conv2DBackpropFilter', reason: 'missing in tfjs-backend-wasm 4.22', create: withConv2DAndMatMul((_conv, matMul) => createConv2DBackpropFilter(matMul)) },
    { kernelName: 'Conv2DBackpropInput', reason: 'stock kernel is ~9x slower than the forward Conv2D', create: withConv2DAndMatMul(createConv2DBackpropInput) },
    { kernelName: 'MaxPoolGrad', reason: 'stock kernel is wrong for windows of values <= 0 and ties', create: () => maxPoolGradWasm },
    {
      kernelName: 'ResizeNearestNeighborGrad',
      reason: 'stock kernel ignores halfPixelCenters',
      create: (backendName) => {
        const avgPool = stockKernel('AvgPool', backendName) ?? tf.getKernel('AvgPool', backendName);
        const multiply = stockKernel('Multiply', backendName) ?? tf.getKernel('Multiply', backendName);
        return avgPool && multiply ? resizeNearestNeighborGradByPooling(avgPool.kernelFunc, multiply.kernelFunc) : resizeNearestNeighborGrad;
      },
    },
    { kernelName: 'ResizeBilinearGrad', reason: 'stock kernel ignores halfPixelCenters', create: () => resizeBilinearGrad },
    { kernelName: 'FusedBatchNorm', reason: KEEP_BN_GRADIENT, create: keepBatchNormGradient },
    { kernelName: 'Sum', reason: 'transposes before reducing leading axes (per-channel sums of NHWC)', create: fastReduction('Sum') },
    { kernelName: 'Mean', reason: 'transposes before reducing leading axes (per-channel means of NHWC)', create: fastReduction('Mean') },
    { kernelName: 'Identity', reason: 'copies the whole tensor (tf.clone, many gradients)', create: withSharedData('Identity') },
    { kernelName: 'Cast', reason: 'copies the whole tensor when the dtype does not change', create: withSharedData('Cast') },
    { kernelName: 'Slice', reason: 'copies the whole input out of the heap first', create: withHeapSlices('Slice') },
    { kernelName: 'SplitV', reason: 'copies the whole input out of the heap once per part (concat gradients)', create: withHeapSlices('SplitV') },
    { kernelName: 'PadV2', reason: 'slower than row copies (the explicit padding of strided convolutions and pools)', create: withHeapSlices('PadV2') },
    BROADCAST,
    ADAM,
    ...BN_TRAINING,
  ],
  cpu: [
    { kernelName: 'ResizeNearestNeighborGrad', reason: 'stock kernel is wrong for x2 upsampling', create: () => resizeNearestNeighborGrad },
    { kernelName: 'ResizeBilinearGrad', reason: 'stock kernel is not the adjoint of the forward resize (e.g. 4x5 -> 8x10)', create: () => resizeBilinearGrad },
    { kernelName: 'FusedBatchNorm', reason: KEEP_BN_GRADIENT, create: keepBatchNormGradient },
    BROADCAST,
    ADAM,
  ],
  webgpu: [
    { kernelName: 'MaxPoolGrad', reason: 'stock kernel gives dy to the last maximum of a window, cpu and wasm to the first (ties, e.g. zeros after ReLU)', create: () => webgpuMaxPoolGrad },
    { kernelName: 'ResizeNearestNeighborGrad', reason: 'stock kernel is not the adjoint of the forward resize with halfPixelCenters', create: () => webgpuResizeNearestNeighborGrad },
    { kernelName: 'ResizeBilinearGrad', reason: 'stock kernel is not the adjoint of the forward resize with halfPixelCenters', create: () => webgpuResizeBilinearGrad },
    { kernelName: 'FusedBatchNorm', reason: KEEP_BN_GRADIENT, create: keepBatchNormGradient },
  ],
};

const stock = new Map<string, tf.KernelConfig | null>();
const ours = new Map<string, tf.KernelFunc>();
const key = (kernelName: string, backendName: string) => `${backendName}/${kernelName}`;

/** The kernel tfjs had registered before `registerKernelFixes` replaced it (`undefined` if it had none or nothing was replaced). */
export function stockKernel(kernelName: string, backendName: string): tf.KernelConfig | undefined {
  return stock.get(key(kernelName, backendName)) ?? undefined;
}

/**
 * Registers the kernel fixes for `backendName` (a no-op for kernels already registered) and this package's gradients
 * (global to all backends), and returns the names of the kernels and gradients that are now this package's.
 */
export function registerKernelFixes(backendName: string): string[] {
  const done: string[] = [];
  for (const fix of KERNEL_FIXES[backendName] ?? []) {
    const k = key(fix.kernelName, backendName);
    const current = tf.getKernel(fix.kernelName, backendName);
    if (current && ours.get(k) === current.kernelFunc) {
      done.push(fix.kernelName);
      continue;
    }
    if (!stock.has(k)) stock.set(k, current ?? null);
    const kernelFunc = fix.create(backendName);
    if (!kernelFunc) continue;
    if (current) tf.unregisterKernel(fix.kernelName, backendName);
    // The stock kernel's setup (run when the backend starts) may be what other kernels rely on, e.g. wasm's Conv2D binding.
    const config: tf.KernelConfig = { kernelName: fix.kernelName, backendName, kernelFunc };
    if (current?.setupFunc) config.setupFunc = current.setupFunc;
    if (current?.disposeFunc) config.disposeFunc = current.disposeFunc;
    tf.registerKernel(config);
    ours.set(k, kernelFunc);
    done.push(fix.kernelName);
  }
  return [...done, ...registerGradientFixes()];
}
