import { describe, expect, it } from 'vitest';
import { coordinateSample, expectRate } from './__fixtures__/samples.ts';
import { compose, identity, oneOf, withProbability } from './compose.ts';
import { createRng } from './rng.ts';
import type { Sample, Transform } from './types.ts';

const tag =
  (name: string, log: string[]): Transform =>
  (sample) => {
    log.push(name);
    return sample;
  };

describe('compose, oneOf, withProbability', () => {
  const sample = coordinateSample(2, 2, 1, 1);

  it('compose applies transforms in order and threads the sample', () => {
    const log: string[] = [];
    const addRow: Transform = (s: Sample) => ({ ...s, height: s.height + 1 });
    const out = compose([tag('a', log), addRow, tag('b', log), addRow])(sample, createRng(1));
    expect(log).toEqual(['a', 'b']);
    expect(out.height).toBe(4);
    expect(identity(sample, createRng(1))).toBe(sample);
    expect(compose([])(sample, createRng(1))).toBe(sample);
  });

  it('withProbability(0.6) fires about 60% of the time over 2,000 draws', () => {
    const log: string[] = [];
    const t = withProbability(0.6, tag('x', log));
    const rng = createRng(5);
    for (let i = 0; i < 2000; i++) t(sample, rng);
    expectRate(log.length, 2000, 0.6);
    const never: string[] = [];
    const always: string[] = [];
    for (let i = 0; i < 100; i++) {
      withProbability(0, tag('n', never))(sample, rng);
      withProbability(1, tag('a', always))(sample, rng);
    }
    expect([never.length, always.length]).toEqual([0, 100]);
  });

  it('oneOf picks in proportion to the weights', () => {
    const log: string[] = [];
    const even = oneOf([tag('a', log), tag('b', log)]);
    const weighted = oneOf([tag('c', log), tag('d', log), tag('z', log)], { weights: [3, 1, 0] });
    const rng = createRng(9);
    for (let i = 0; i < 2000; i++) {
      even(sample, rng);
      weighted(sample, rng);
    }
    const count = (name: string) => log.filter((x) => x === name).length;
    expectRate(count('a'), 2000, 0.5);
    expect(count('a') + count('b')).toBe(2000);
    expectRate(count('c'), 2000, 0.75);
    expect(count('z')).toBe(0);
  });

  it.each([
    { name: 'compose with a non-function', make: () => compose([1 as never]) },
    { name: 'oneOf with no transforms', make: () => oneOf([]) },
    { name: 'oneOf with wrong weights', make: () => oneOf([identity], { weights: [1, 2] }) },
    { name: 'oneOf with zero weights', make: () => oneOf([identity], { weights: [0] }) },
    { name: 'withProbability(1.5)', make: () => withProbability(1.5, identity) },
  ])('rejects $name', ({ make }) => {
    expect(make).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
  });
});
