import { describe, expect, it } from 'vitest';
import { expectRate } from './__fixtures__/samples.ts';
import { isTransformError } from './errors.ts';
import { createRng, deriveSeed } from './rng.ts';

// Independent xoshiro128** in BigInt, straight from the published algorithm (Blackman and Vigna, 2018).
function referenceXoshiro(state: [bigint, bigint, bigint, bigint], count: number): number[] {
  const mask = 0xffffffffn;
  const rotl = (x: bigint, k: bigint) => ((x << k) | (x >> (32n - k))) & mask;
  const s = [...state];
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const [s0, s1, s2, s3] = s as [bigint, bigint, bigint, bigint];
    out.push(Number((rotl((s1 * 5n) & mask, 7n) * 9n) & mask));
    const t = (s1 << 9n) & mask;
    const n2 = s2 ^ s0;
    const n3 = s3 ^ s1;
    s[1] = s1 ^ n2;
    s[0] = s0 ^ n3;
    s[2] = n2 ^ t;
    s[3] = rotl(n3, 11n);
  }
  return out;
}

describe('createRng', () => {
  it('matches the published xoshiro128** algorithm', () => {
    const rng = createRng({ algorithm: 'xoshiro128**', s: [1, 2, 3, 4] });
    const got = Array.from({ length: 200 }, () => rng.uint32());
    expect(got[0]).toBe(11520); // rotl(2 * 5, 7) * 9
    expect(got).toEqual(referenceXoshiro([1n, 2n, 3n, 4n], 200));
  });

  it('gives the same stream for the same seed and different streams for different seeds', () => {
    const draw = (seed: number) => {
      const rng = createRng(seed);
      return Array.from({ length: 16 }, () => rng.uint32());
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    expect(draw(0)).not.toEqual(draw(2 ** 32)); // both 32-bit halves of the seed count
  });

  it('resumes exactly from a JSON round trip of its state', () => {
    const rng = createRng(7);
    for (let i = 0; i < 37; i++) rng.next();
    const saved = JSON.parse(JSON.stringify(rng.state)) as typeof rng.state;
    const expected = Array.from({ length: 50 }, () => [rng.next(), rng.int(10), rng.normal()]);
    const resumed = createRng(saved);
    expect(Array.from({ length: 50 }, () => [resumed.next(), resumed.int(10), resumed.normal()])).toEqual(expected);
  });

  it('draws next() in [0, 1) and int(n) uniformly (chi-square)', () => {
    const rng = createRng(3);
    for (let i = 0; i < 10_000; i++) {
      const x = rng.next();
      expect(x >= 0 && x < 1).toBe(true);
    }
    const counts = new Array<number>(6).fill(0);
    const n = 60_000;
    for (let i = 0; i < n; i++) counts[rng.int(6)]! += 1;
    const chi2 = counts.reduce((acc, c) => acc + (c - n / 6) ** 2 / (n / 6), 0);
    expect(chi2).toBeLessThan(20.5); // 5 degrees of freedom, p = 0.001
    expect(rng.int(1)).toBe(0);
    expect(rng.int(2 ** 32)).toBeLessThan(2 ** 32);
    expect(rng.uniform(2, 2)).toBe(2);
  });

  it('draws normal() with mean 0 and variance 1', () => {
    const rng = createRng(11);
    const n = 40_000;
    let sum = 0;
    let sumSq = 0;
    let beyond = 0;
    for (let i = 0; i < n; i++) {
      const z = rng.normal();
      sum += z;
      sumSq += z * z;
      if (Math.abs(z) > 1.959964) beyond++;
    }
    expect(Math.abs(sum / n)).toBeLessThan(4 / Math.sqrt(n));
    expect(Math.abs(sumSq / n - 1)).toBeLessThan(4 * Math.sqrt(2 / n));
    expectRate(beyond, n, 0.05);
  });

  it.each([{ seed: 1.5 }, { seed: Number.NaN }, { seed: { algorithm: 'xoshiro128**', s: [0, 0, 0, 0] } }, { seed: 'a' }])(
    'rejects seed $seed',
    ({ seed }) => {
      expect(() => createRng(seed as never)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    },
  );

  it('rejects int(n) outside [1, 2^32]', () => {
    const error = (() => {
      try {
        createRng(1).int(0);
      } catch (e) {
        return e;
      }
    })();
    expect(isTransformError(error)).toBe(true);
    expect((error as Error).message).toMatchInlineSnapshot(`"Rng.int: expected n to be an integer in [1, 2^32], got 0."`);
  });
});

describe('deriveSeed', () => {
  it('is deterministic, sensitive to every key and to key order', () => {
    expect(deriveSeed(42, 1, 2)).toBe(deriveSeed(42, 1, 2));
    const seeds = new Set<number>();
    for (let epoch = 0; epoch < 10; epoch++) for (let i = 0; i < 100; i++) seeds.add(deriveSeed(42, epoch, i));
    expect(seeds.size).toBe(1000);
    expect(deriveSeed(42, 1, 2)).not.toBe(deriveSeed(42, 2, 1));
    expect(deriveSeed(42, 2 ** 33)).not.toBe(deriveSeed(42, 0));
    expect(() => deriveSeed(1, 0.5)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
  });
});
