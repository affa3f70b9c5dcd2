// tfjs-backend-wasm's Identity (what tf.clone, variable reads and many gradients run) and its Cast to the same dtype copy
// the whole tensor. Tensors are immutable, so the output can share the input's memory with one more reference, as tfjs'
// cpu backend does: no copy, no allocation.
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';

interface RefCountingBackend {
  incRef(dataId: object): void;
}

/**
 * Wraps a backend's `Identity` or `Cast` kernel: a non-string input (of the requested dtype, for `Cast`) is returned as
 * a new reference to its data; anything else goes to `stock`.
 */
export function sharingData(stock: KernelFunc): KernelFunc {
  return (args) => {
    const x = args.inputs['x'] as TensorInfo;
    const dtype = (args.attrs as { dtype?: string } | undefined)?.dtype ?? x.dtype;
    const backend = args.backend as unknown as Partial<RefCountingBackend>;
    if (x.dtype === 'string' || dtype !== x.dtype || typeof backend.incRef !== 'function') return stock(args);
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
}
