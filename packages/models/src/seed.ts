// Per-layer seeds: every initializer gets a seed derived from the model seed and the layer's name, so the weights of a
// layer do not depend on the order in which layers are built.

/** FNV-1a 32-bit hash of a string (UTF-16 code units). */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** A seed in [0, 2^31) for the initializer of `name`, derived from the model `seed`. */
export function deriveSeed(seed: number, name: string): number {
  // splitmix-style finaliser over (seed, hash(name)) so nearby seeds give unrelated streams.
  let x = (fnv1a(name) ^ Math.imul(seed >>> 0, 0x9e3779b9)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  return x & 0x7fffffff;
}
