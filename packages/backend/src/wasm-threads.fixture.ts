// Run by setup-backend.test.ts in a child process: the wasm thread count is fixed once per process.
import * as tf from '@tensorflow/tfjs-core';
import { setupBackend } from './setup-backend.ts';
import { createAdam } from './adam.ts';
import { adamRunsOnHeap } from './kernels/adam-update.ts';
import { tileKernels } from './kernels/gemm.ts';
import { threadedTiles } from './kernels/heap-threads.ts';
import { heapMemory } from './kernels/wasm-heap-module.ts';
import { conv2dGradRef, conv2dRef, randomArray, relativeError, trainingBatchNormRef } from './kernels/reference.test-utils.ts';
import { BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD } from './kernels/batch-norm-training.ts';
import { winogradRoute } from './kernels/winograd-route.ts';
import { conv2dOnHeap } from './kernels/conv2d-products.ts';
import { backpropFilterByTaps, backpropInputByTaps, conv2dByTaps } from './kernels/conv2d-taps.ts';
import { backpropInputShape, winogradConv, winogradFilterGradient, winogradShape, winogradTransforms } from './kernels/winograd.ts';
import { backend_util } from '@tensorflow/tfjs-core';
import { maxPoolRef } from './kernels/reference.test-utils.ts';
import { maxPoolGradOnHeap } from './kernels/max-pool-gradient.ts';
import { maxPoolGeometry } from './kernels/pool-resize-gradients.ts';

const setup = await setupBackend({ backend: 'wasm', threads: 2 });
const [m, k, n] = [64, 96, 80];
const a = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i));
const b = Float32Array.from({ length: k * n }, (_, i) => Math.cos(i));
const got = tf.matMul(tf.tensor2d(a, [m, k]), tf.tensor2d(b, [k, n])).dataSync();
let maxError = 0;
for (let i = 0; i < m; i++)
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let p = 0; p < k; p++) s += a[i * k + p]! * b[p * n + j]!;
    maxError = Math.max(maxError, Math.abs(s - got[i * n + j]!));
  }
// Adam's one-pass kernel on the threaded build's shared heap against tfjs' own update: a small variable (the calling
// thread alone) and one large enough to be split over both threads.
const runAdam = (optimizer: tf.AdamOptimizer, values: Float32Array) => {
  const w = tf.variable(tf.tensor1d(values));
  const g = tf.cos(w);
  for (let step = 0; step < 3; step++) optimizer.applyGradients([{ name: w.name, tensor: g }]);
  return w.dataSync();
};
const adamEqual = [a.slice(0, 1001), Float32Array.from({ length: 70_001 }, (_, i) => Math.sin(0.37 * i))].every((values) => {
  const stock = runAdam(tf.train.adam(0.01), values);
  const fused = runAdam(createAdam(0.01), values);
  return adamRunsOnHeap(tf.backend()) && stock.every((x, i) => x === fused[i]) && stock[0] !== values[0];
});
// Conv2DBackpropFilter's heap products split over both threads, against a float64 reference.
const cv = { B: 2, H: 14, W: 18, C: 12, O: 20, KH: 3, KW: 3, sh: 2, sw: 1, pad: 'same' as const };
const x = randomArray(cv.B * cv.H * cv.W * cv.C, 1);
const w = randomArray(cv.KH * cv.KW * cv.C * cv.O, 2);
const xt = tf.tensor4d(x, [cv.B, cv.H, cv.W, cv.C]);
const y = tf.conv2d(xt, tf.tensor4d(w, [cv.KH, cv.KW, cv.C, cv.O]), [cv.sh, cv.sw], 'same');
const dy = randomArray(y.size, 3);
const attrs = { strides: [cv.sh, cv.sw], pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: [cv.KH, cv.KW, cv.C, cv.O] };
const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x: xt, dy: tf.tensor(dy, y.shape) }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
const dwError = relativeError(dw.dataSync() as Float32Array, conv2dGradRef(x, w, dy, cv).dw);
const productsThreaded = threadedTiles(tileKernels(tf.backend())!, heapMemory(tf.backend())).finish !== undefined;
// A 3x3 stride-1 layer that runs by Winograd with its transforms and products on both threads: forward, dx and dW
// through the engine.
const wc = { B: 2, H: 12, W: 20, C: 16, O: 24, KH: 3, KW: 3, sh: 1, sw: 1, pad: 'same' as const };
const wx = randomArray(wc.B * wc.H * wc.W * wc.C, 4);
const ww = randomArray(9 * wc.C * wc.O, 5);
const wdy = randomArray(wc.B * wc.H * wc.W * wc.O, 6);
const winogradUsed = winogradRoute(tf.backend(), backend_util.computeConv2DInfo([wc.B, wc.H, wc.W, wc.C], [3, 3, wc.C, wc.O], 1, 1, 'same')) !== undefined;
const [wxt, wwt] = [tf.tensor4d(wx, [wc.B, wc.H, wc.W, wc.C]), tf.tensor4d(ww, [3, 3, wc.C, wc.O])];
const wy = tf.conv2d(wxt, wwt, 1, 'same').dataSync() as Float32Array;
const wAttrs = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined, inputShape: [wc.B, wc.H, wc.W, wc.C] };
const wdxt = tf.engine().runKernel('Conv2DBackpropInput', { dy: tf.tensor4d(wdy, [wc.B, wc.H, wc.W, wc.O]), filter: wwt }, wAttrs as unknown as tf.NamedAttrMap) as tf.Tensor;
const wdx = wdxt.dataSync() as Float32Array;
const wdwt = tf.engine().runKernel('Conv2DBackpropFilter', { x: wxt, dy: tf.tensor4d(wdy, [wc.B, wc.H, wc.W, wc.O]) }, { ...wAttrs, filterShape: [3, 3, wc.C, wc.O] } as unknown as tf.NamedAttrMap) as tf.Tensor;
const wdw = wdwt.dataSync() as Float32Array;
const wref = conv2dGradRef(wx, ww, wdy, wc);
// The same layer in chunks: one tile row each (each thread takes whole chunks with its own buffers, no barriers), and
// with each chunk padding its own strip of input: one tile, a few tiles, or a whole image per chunk (two chunks: every
// step split over both threads, with barriers).
const winfo = backend_util.computeConv2DInfo([wc.B, wc.H, wc.W, wc.C], [3, 3, wc.C, wc.O], 1, 1, 'same');
const threaded = threadedTiles(tileKernels(tf.backend())!, heapMemory(tf.backend()));
const transforms = winogradTransforms(tf.backend())!;
const readInfo = (info: tf.TensorInfo) => tf.engine().makeTensorFromTensorInfo(info).dataSync() as Float32Array;
const wdyt = tf.tensor4d(wdy, [wc.B, wc.H, wc.W, wc.O]);
const chunked = [{ chunkFloats: 1, strips: false }, { chunkFloats: 1, strips: true }, { chunkFloats: 1500, strips: true }, { chunkFloats: 1 << 20, strips: true }].flatMap((chunks) => [
  relativeError(readInfo(winogradConv(tf.backend(), threaded, transforms, wxt, wwt, winogradShape(winfo)!, {}, chunks)), conv2dRef(wx, ww, wc).y),
  relativeError(readInfo(winogradConv(tf.backend(), threaded, transforms, wdyt, wwt, backpropInputShape(winfo)!, { flipped: true }, chunks)), wref.dx),
  relativeError(readInfo(winogradFilterGradient(tf.backend(), threaded, transforms, wxt, wdyt, winogradShape(winfo)!, chunks)), wref.dw),
]);
// A deep layer (few pixels, many weights) forward by heap products, each thread on its own columns of the filter, in
// blocks of taps.
const dc = { B: 2, H: 3, W: 4, C: 12, O: 40, KH: 3, KW: 3, sh: 1, sw: 1, pad: 'same' as const };
const [dx4, dw4] = [randomArray(dc.B * dc.H * dc.W * dc.C, 7), randomArray(9 * dc.C * dc.O, 8)];
const dinfo = backend_util.computeConv2DInfo([dc.B, dc.H, dc.W, dc.C], [3, 3, dc.C, dc.O], 1, 1, 'same');
const deepError = Math.max(
  ...[50, 1 << 17].map((block) =>
    relativeError(readInfo(conv2dOnHeap(tf.backend(), tf.tensor4d(dx4, [dc.B, dc.H, dc.W, dc.C]), tf.tensor4d(dw4, [3, 3, dc.C, dc.O]), undefined, false, dinfo, block)!), conv2dRef(dx4, dw4, dc).y),
  ),
);
// The tap route of a deep stride-1 layer (2x3 pixels: the corner taps meet the input at 2 of 6 pixels): forward and dx
// with each thread on its own columns or rows, dW with the threads on rows of each tap's product.
const tc = { B: 4, H: 2, W: 3, C: 12, O: 40, KH: 3, KW: 3, sh: 1, sw: 1, pad: 'same' as const };
const tinfo = backend_util.computeConv2DInfo([tc.B, tc.H, tc.W, tc.C], [3, 3, tc.C, tc.O], 1, 1, 'same');
const [tx, tw, tdy] = [randomArray(tc.B * tc.H * tc.W * tc.C, 13), randomArray(9 * tc.C * tc.O, 14), randomArray(tc.B * tc.H * tc.W * tc.O, 15)];
const [txt, twt, tdyt] = [tf.tensor4d(tx, [tc.B, tc.H, tc.W, tc.C]), tf.tensor4d(tw, [3, 3, tc.C, tc.O]), tf.tensor4d(tdy, [tc.B, tc.H, tc.W, tc.O])];
const tref = conv2dGradRef(tx, tw, tdy, tc);
const tapsError = Math.max(
  ...[50, 1 << 17].map((block) => relativeError(readInfo(conv2dByTaps(tf.backend(), txt, twt, undefined, false, tinfo, block)!), conv2dRef(tx, tw, tc).y)),
  relativeError(readInfo(backpropInputByTaps(tf.backend(), tdyt, twt, tinfo)!), tref.dx),
  relativeError(readInfo(backpropFilterByTaps(tf.backend(), txt, tdyt, tinfo)!), tref.dw),
);
// Training-mode batch norm large enough for both passes to split over the threads (blocks of rows, a short last one).
const bnShape = [2, 40, 51, 16];
const bnC = 16;
const bnX = randomArray(2 * 40 * 51 * 16, 9).map((v, i) => 2 * v + 5 + (i % bnC));
const [bnGamma, bnBeta, bnDy] = [randomArray(bnC, 10), randomArray(bnC, 11), randomArray(bnX.length, 12)];
const bnRef = trainingBatchNormRef(bnX, bnGamma, bnDy, bnC, 1e-5);
const [bnY, bnMean, bnVariance] = tf.engine().runKernel(BATCH_NORM_TRAINING, { x: tf.tensor(bnX, bnShape), scale: tf.tensor(bnGamma), offset: tf.tensor(bnBeta) }, { varianceEpsilon: 1e-5 }) as tf.Tensor[];
const [bnDx, bnDGamma, bnDBeta] = tf.engine().runKernel(
  BATCH_NORM_TRAINING_GRAD,
  { dy: tf.tensor(bnDy, bnShape), x: tf.tensor(bnX, bnShape), mean: bnMean!, variance: bnVariance!, scale: tf.tensor(bnGamma), dmean: tf.zeros([bnC]), dvariance: tf.zeros([bnC]) },
  { varianceEpsilon: 1e-5 },
) as tf.Tensor[];
const bnYRef = Float64Array.from(bnX, (v, i) => bnRef.xhat[i]! * bnGamma[i % bnC]! + bnBeta[i % bnC]!);
const batchNormError = Math.max(
  relativeError(bnY!.dataSync() as Float32Array, bnYRef),
  relativeError(bnDx!.dataSync() as Float32Array, bnRef.dx),
  relativeError(bnDGamma!.dataSync() as Float32Array, bnRef.dGamma),
  relativeError(bnDBeta!.dataSync() as Float32Array, bnRef.dBeta),
);
// MaxPoolGrad large enough to split its channel groups over the threads (the ResNet stem's pool).
const pk = { B: 2, H: 20, W: 18, C: 48, KH: 3, KW: 3, sh: 2, sw: 2, pad: 'same' as const };
const px = randomArray(pk.B * pk.H * pk.W * pk.C, 13, [-1, 0, 0, 0, 1, 2]);
const pOut = maxPoolRef(px, null, pk);
const pdy = randomArray(pk.B * pOut.OH * pOut.OW * pk.C, 14);
const pInput = tf.tensor4d(px, [pk.B, pk.H, pk.W, pk.C]);
const pInfo = maxPoolGeometry(pInput, { filterSize: 3, strides: 2, pad: 'same' } as never);
const maxPoolError = relativeError(readInfo(maxPoolGradOnHeap(tf.backend(), tf.tensor4d(pdy, [pk.B, pOut.OH, pOut.OW, pk.C]), pInput, pInfo)!), maxPoolRef(px, pdy, pk).dx);
const winogradError = Math.max(relativeError(wy, conv2dRef(wx, ww, wc).y), relativeError(wdx, wref.dx), relativeError(wdw, wref.dw), ...chunked);
console.log(JSON.stringify({ backend: setup.backend, threads: setup.threads, maxError, adamEqual, dwError, productsThreaded, winogradUsed, winogradError, deepError, tapsError, batchNormError, maxPoolError }));
