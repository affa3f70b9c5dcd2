// Adam's update of one variable as one kernel: tfjs' AdamOptimizer runs about thirteen element-wise kernels per variable
// (each reading and writing the whole tensor), which on wasm took ~300 ms a step for a 14 M-parameter UNet on one
// thread. This reads value, gradient and both moments once and writes the three new tensors, in the same float32
// operations and order as tfjs (so the result is the same to the last bit):
//   m' = m·β1 + g·(1 − β1)
//   v' = v·β2 + g²·(1 − β2)
//   value' = (m' / (1 − β1ᵗ)) / (√(v' / (1 − β2ᵗ)) + ε) · (−lr) + value
// where β1ᵗ and β2ᵗ are the optimizer's running products (its accBeta1 and accBeta2 variables, read as float32).
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { allocFloat32, disposeIntermediate, float32View } from './tensor-data.ts';
import { threadShare, tileKernels } from './gemm.ts';
import { threadedTiles } from './heap-threads.ts';
import { add, assembleLoop, div, heapMemory, heapOffset, instantiateOnHeap, load, local, mul, setLocal, sqrt, store, type AssembledFunction, type HeapLoop } from './wasm-heap-module.ts';

/** Name of the kernel registered by `registerKernelFixes` on wasm and cpu. */
export const ADAM_UPDATE = 'SteelAdamUpdate';

/** Attributes of `SteelAdamUpdate`: the hyper-parameters and the running products β1ᵗ, β2ᵗ of this step. */
export interface AdamUpdateAttrs {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: number;
  accBeta2: number;
}

const f = Math.fround;

/** The scalars of the update as float32, as tfjs makes them (its scalars are float32 tensors). */
function scalars(a: AdamUpdateAttrs) {
  const accBeta1 = f(a.accBeta1);
  const accBeta2 = f(a.accBeta2);
  return {
    beta1: f(a.beta1),
    oneMinusBeta1: f(1 - a.beta1),
    beta2: f(a.beta2),
    oneMinusBeta2: f(1 - a.beta2),
    correction1: f(1 - accBeta1),
    correction2: f(1 - accBeta2),
    epsilon: f(a.epsilon),
    negLearningRate: f(-a.learningRate),
  };
}

type Scalars = ReturnType<typeof scalars>;

/** Elements [from, to) in JavaScript, rounding every operation to float32 as the SIMD loop does. */
function updateRange(s: Scalars, w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, ow: Float32Array, om: Float32Array, ov: Float32Array, from: number, to: number) {
  for (let i = from; i < to; i++) {
    const gi = g[i]!;
    const m1 = f(f(m[i]! * s.beta1) + f(gi * s.oneMinusBeta1));
    const v1 = f(f(v[i]! * s.beta2) + f(f(gi * gi) * s.oneMinusBeta2));
    om[i] = m1;
    ov[i] = v1;
    const step = f(f(f(m1 / s.correction1) / f(f(Math.sqrt(f(v1 / s.correction2))) + s.epsilon)) * s.negLearningRate);
    ow[i] = f(step + w[i]!);
  }
}

/** adam(value, gradient, m, v, value', m', v', groups, β1, 1−β1, β2, 1−β2, 1−β1ᵗ, 1−β2ᵗ, ε, −lr) over 4-lane groups. */
const ADAM_LOOP: HeapLoop = {
  name: 'adam',
  pointers: 7,
  scalars: 8,
  temps: 3,
  body: ([w, g, m, v, ow, om, ov], [b1, ob1, b2, ob2, c1, c2, eps, nlr], [gv, m1, v1]) => [
    setLocal(gv!, load(local(g!))),
    setLocal(m1!, add(mul(load(local(m!)), local(b1!)), mul(local(gv!), local(ob1!)))),
    setLocal(v1!, add(mul(load(local(v!)), local(b2!)), mul(mul(local(gv!), local(gv!)), local(ob2!)))),
    store(local(om!), local(m1!)),
    store(local(ov!), local(v1!)),
    store(local(ow!), add(mul(div(div(local(m1!), local(c1!)), add(sqrt(div(local(v1!), local(c2!))), local(eps!))), local(nlr!)), load(local(w!)))),
  ],
};

type AdamExports = { adam(...args: number[]): void };

/** `adam_m(value, gradient, m, v, value', m', v', groups, scalars)`: the scalars as 8 float32 at a heap offset (heap-threads.ts). */
export const adamFunctions = (): AssembledFunction[] => [assembleLoop(ADAM_LOOP, true)];

/** Variables at least this large are updated on all heap threads (smaller ones cost less than waking the workers). */
const THREADED_VALUES = 1 << 16;

const adamKernel = (backend: object) => instantiateOnHeap<AdamExports>(backend, 'adam', [ADAM_LOOP]);

/** Whether `backend` runs `SteelAdamUpdate` as WebAssembly SIMD on its heap (else the JavaScript loop). */
export const adamRunsOnHeap = (backend: object): boolean => adamKernel(backend) !== undefined;

/** `SteelAdamUpdate`: inputs value, gradient, m, v (float32, one shape); outputs value', m', v'. */
export const adamUpdate: KernelFunc = ({ inputs, backend, attrs }) => {
  const { value, gradient, m, v } = inputs as Record<'value' | 'gradient' | 'm' | 'v', TensorInfo>;
  const n = value.shape.reduce((a, d) => a * d, 1);
  for (const t of [gradient, m, v]) {
    if (t.dtype !== 'float32' || value.dtype !== 'float32' || t.shape.reduce((a, d) => a * d, 1) !== n) {
      throw new Error(`${ADAM_UPDATE} expects float32 value, gradient and moments of one shape, got ${value.dtype}[${value.shape}] and ${t.dtype}[${t.shape}].`);
    }
  }
  const s = scalars(attrs as unknown as AdamUpdateAttrs);
  const outs = [allocFloat32(backend, value.shape), allocFloat32(backend, value.shape), allocFloat32(backend, value.shape)] as const;
  const kernel = adamKernel(backend);
  const groups = kernel ? Math.floor(n / 4) : 0;
  const order = [s.beta1, s.oneMinusBeta1, s.beta2, s.oneMinusBeta2, s.correction1, s.correction2, s.epsilon, s.negLearningRate];
  const threaded = kernel && n >= THREADED_VALUES ? threadedTiles(tileKernels(backend)!, heapMemory(backend)) : undefined;
  if (threaded?.call && groups > 0) {
    // Each thread updates its own range of 4-lane groups; the scalars wait on the heap for the queued calls.
    const scalarsOnHeap = allocFloat32(backend, [8]);
    float32View(backend, scalarsOnHeap).set(order);
    const offsets = [value, gradient, m, v, ...outs].map((t) => heapOffset(backend, t));
    const threads = threaded.threads ?? 1;
    for (let t = 0; t < threads; t++) {
      const [g0, g1] = threadShare(groups, t, threads);
      if (g1 > g0) threaded.call('adam_m', [...offsets.map((o) => o + 16 * g0), g1 - g0, heapOffset(backend, scalarsOnHeap)], t);
    }
    threaded.finish!();
    disposeIntermediate(backend, scalarsOnHeap);
  } else if (kernel && groups > 0) {
    const offsets = [value, gradient, m, v, ...outs].map((t) => heapOffset(backend, t));
    kernel.adam(...offsets, groups, ...order);
  }
  if (groups * 4 < n) {
    // Views after every allocation (a wasm heap may move when it grows).
    const [w, g, mv, vv, ow, om, ov] = [value, gradient, m, v, ...outs].map((t) => float32View(backend, t)) as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
    updateRange(s, w, g, mv, vv, ow, om, ov, groups * 4, n);
  }
  return [...outs];
};
