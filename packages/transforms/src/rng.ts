import { echo, TransformError } from './errors.ts';

/** The serialisable state of an {@link Rng}: plain JSON, so a training checkpoint can store it and resume the stream. */
export interface RngState {
  readonly algorithm: 'xoshiro128**';
  /** Four unsigned 32-bit words, not all zero. */
  readonly s: readonly [number, number, number, number];
}

/**
 * A seeded pseudo-random source (xoshiro128**). Every transform takes one and draws all of its randomness from it.
 * Call the methods on the generator (`rng.next()`); they are not bound.
 */
export interface Rng {
  /** A float in [0, 1) with 32 random bits. */
  next(): number;
  /** An unsigned 32-bit integer. */
  uint32(): number;
  /** An integer in [0, n), unbiased; `n` is an integer in [1, 2^32]. */
  int(n: number): number;
  /** A float in [low, high); `low` when `low === high`. */
  uniform(low: number, high: number): number;
  /** A standard normal draw (Box-Muller; uses two `next()` draws). */
  normal(): number;
  /** A copy of the current state; `createRng(rng.state)` continues the same stream. */
  readonly state: RngState;
}

const TWO_32 = 4294967296;

// splitmix32 (Vigna's 32-bit variant of splitmix64): spreads a seed over the state words.
function splitmix32(x: number): [number, number] {
  const next = (x + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [next, (z ^ (z >>> 16)) >>> 0];
}

function isState(value: unknown): value is RngState {
  if (typeof value !== 'object' || value === null) return false;
  const { algorithm, s } = value as { algorithm?: unknown; s?: unknown };
  return (
    algorithm === 'xoshiro128**' &&
    Array.isArray(s) &&
    s.length === 4 &&
    s.every((w) => Number.isInteger(w) && w >= 0 && w < TWO_32) &&
    s.some((w) => w !== 0)
  );
}

/**
 * Mixes `seed` with integer `keys` (epoch, sample index, worker...) into a new 32-bit seed, so each sample can get its own
 * stream that does not depend on which worker handles it or in what order.
 * @throws {TransformError} `INVALID_OPTION` if `seed` or a key is not a safe integer.
 * @example createRng(deriveSeed(42, epoch, index));
 */
export function deriveSeed(seed: number, ...keys: number[]): number {
  let h = 0x811c9dc5;
  for (const value of [seed, ...keys]) {
    if (!Number.isSafeInteger(value)) {
      throw new TransformError('INVALID_OPTION', `deriveSeed: expected safe integers, got ${echo(value)}.`);
    }
    // Both 32-bit halves of the value, each through a murmur3-style mix.
    for (const word of [value >>> 0, Math.floor(value / TWO_32) >>> 0]) {
      let k = Math.imul(word, 0xcc9e2d51);
      k = (k << 15) | (k >>> 17);
      k = Math.imul(k, 0x1b873593);
      h ^= k;
      h = (h << 13) | (h >>> 19);
      h = (Math.imul(h, 5) + 0xe6546b64) | 0;
    }
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Returns a seeded xoshiro128** generator: from a safe integer `seed` (expanded with splitmix32), or from a saved
 * {@link RngState} to resume a stream exactly where it was.
 * @throws {TransformError} `INVALID_OPTION` if `seed` is neither a safe integer nor a valid state.
 * @example
 * const rng = createRng(42);
 * const saved = rng.state;            // JSON-serialisable
 * createRng(saved).next() === rng.next(); // true
 */
export function createRng(seed: number | RngState): Rng {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  if (typeof seed === 'number') {
    if (!Number.isSafeInteger(seed)) {
      throw new TransformError('INVALID_OPTION', `createRng: expected seed to be a safe integer or an RngState, got ${echo(seed)}.`);
    }
    let x = (seed >>> 0) ^ Math.imul(Math.floor(seed / TWO_32) | 0, 0x27d4eb2f);
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [nextX, out] = splitmix32(x);
      x = nextX;
      words.push(out);
    }
    [s0, s1, s2, s3] = words as [number, number, number, number];
    if ((s0 | s1 | s2 | s3) === 0) s0 = 1;
  } else if (isState(seed)) {
    [s0, s1, s2, s3] = seed.s;
  } else {
    throw new TransformError(
      'INVALID_OPTION',
      `createRng: expected seed to be a safe integer or { algorithm: 'xoshiro128**', s: [4 uint32, not all 0] }, got ${echo(seed)}.`,
    );
  }

  return new Xoshiro128(s0, s1, s2, s3);
}

class Xoshiro128 implements Rng {
  // Int32 words: V8 keeps typed-array element updates unboxed, faster than closure variables.
  readonly #s = new Int32Array(4);

  constructor(s0: number, s1: number, s2: number, s3: number) {
    this.#s.set([s0 | 0, s1 | 0, s2 | 0, s3 | 0]);
  }

  uint32(): number {
    // xoshiro128** 1.1 (Blackman and Vigna): result = rotl(s1 * 5, 7) * 9.
    const s = this.#s;
    const s1 = s[1] as number;
    const m = Math.imul(s1, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const t = s1 << 9;
    s[2] = (s[2] as number) ^ (s[0] as number);
    s[3] = (s[3] as number) ^ s1;
    s[1] = s1 ^ (s[2] as number);
    s[0] = (s[0] as number) ^ (s[3] as number);
    s[2] = (s[2] as number) ^ t;
    const s3 = s[3] as number;
    s[3] = (s3 << 11) | (s3 >>> 21);
    return result;
  }

  next(): number {
    return this.uint32() / TWO_32;
  }

  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_32) {
      throw new TransformError('INVALID_OPTION', `Rng.int: expected n to be an integer in [1, 2^32], got ${echo(n)}.`);
    }
    // Rejection sampling: drop the top partial block of 2^32 so every residue is equally likely.
    const limit = TWO_32 - (TWO_32 % n);
    let x = this.uint32();
    while (x >= limit) x = this.uint32();
    return x % n;
  }

  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  normal(): number {
    const u1 = 1 - this.next(); // (0, 1], so the log is finite
    const u2 = this.next();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  get state(): RngState {
    const s = this.#s;
    return { algorithm: 'xoshiro128**', s: [(s[0] as number) >>> 0, (s[1] as number) >>> 0, (s[2] as number) >>> 0, (s[3] as number) >>> 0] };
  }
}
