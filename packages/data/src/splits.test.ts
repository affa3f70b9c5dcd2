import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { needSeverstal, SEVERSTAL_SAMPLE, tempDir } from './__fixtures__/paths.ts';
import { isDataError } from './errors.ts';
import { addHardNegatives, classSetKey, foldSplit, holdoutSplit, onlyDefective, parseIdList, readIdList, readSplit, stratifiedKFold, writeSplit } from './splits.ts';

const HAS_SEVERSTAL = needSeverstal('The severstal-sample split tests of @steel/data');

const classSet = fc.subarray([1, 2, 3, 4]);
const images = fc.array(classSet, { maxLength: 300 }).map((sets) => sets.map((classes, i) => ({ id: `${i}.jpg`, classes })));

describe('stratifiedKFold', () => {
  test.prop([images, fc.integer({ min: 2, max: 7 }), fc.integer({ min: 0, max: 1000 })])('partitions the ids, balanced within every class set and overall', (list, folds, seed) => {
    const out = stratifiedKFold(list, { folds, seed });
    expect(out.flat().sort()).toEqual(list.map((e) => e.id).sort());
    const sizes = out.map((f) => f.length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    const keyOf = new Map(list.map((e) => [e.id, classSetKey(e.classes)]));
    for (const key of new Set(keyOf.values())) {
      const counts = out.map((f) => f.filter((id) => keyOf.get(id) === key).length);
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    }
  });

  it('is reproducible for a seed and differs across seeds', () => {
    const list = Array.from({ length: 200 }, (_, i) => ({ id: `${i}.jpg`, classes: i % 3 === 0 ? [] : [1 + (i % 4)] }));
    expect(stratifiedKFold(list, { seed: 5 })).toEqual(stratifiedKFold(list, { seed: 5 }));
    expect(stratifiedKFold(list, { seed: 5 })).not.toEqual(stratifiedKFold(list, { seed: 6 }));
    const split = foldSplit(stratifiedKFold(list, { seed: 5 }), 2);
    expect(split.train.length + split.valid.length).toBe(200);
    expect(() => foldSplit([[], []], 2)).toThrowError(/expected fold in 0..1/i);
  });
});

describe('holdoutSplit and filters', () => {
  test.prop([fc.uniqueArray(fc.string({ minLength: 1 }), { maxLength: 100 }), fc.double({ min: 0.01, max: 0.99, noNaN: true }), fc.nat()])('splits disjointly with round(n * fraction) in valid', (ids, validFraction, seed) => {
    const split = holdoutSplit(ids, { validFraction, seed });
    expect(split.valid.length).toBe(Math.round(ids.length * validFraction));
    expect([...split.train, ...split.valid].sort()).toEqual([...ids].sort());
    expect(holdoutSplit(ids, { validFraction, seed })).toEqual(split);
  });

  it('filters defective images and adds hard negatives once', () => {
    const list = [{ id: 'a', classes: [] }, { id: 'b', classes: [3] }];
    expect(onlyDefective(list).map((e) => e.id)).toEqual(['b']);
    expect(addHardNegatives({ train: ['b'], valid: ['c'] }, ['a', 'c', 'a', 'd'])).toEqual({ train: ['b', 'a', 'd'], valid: ['c'] });
    const error = (() => { try { holdoutSplit([], { validFraction: 1, seed: 0 }); } catch (e) { return e; } })();
    expect(isDataError(error) && error.code).toBe('INVALID_ARGUMENT');
  });

  it('parses id lists with trailing spaces and blank lines', () => {
    expect(parseIdList('000789191.jpg \n00d7ae946.jpg \r\n\n')).toEqual(['000789191.jpg', '00d7ae946.jpg']);
  });
});

describe('split files', () => {
  it('writes and reads JSON and txt splits; rejects overlaps', async () => {
    const dir = await tempDir('split');
    const split = { train: ['a.jpg', 'b.jpg'], valid: ['c.jpg'] };
    await writeSplit(join(dir, 'fold0.json'), split, { seed: 3 });
    expect(await readSplit(join(dir, 'fold0.json'))).toEqual(split);
    expect(await writeSplit(join(dir, 'fold0.txt'), split)).toEqual([join(dir, 'fold0_train.txt'), join(dir, 'fold0_valid.txt')]);
    expect(await readSplit(join(dir, 'fold0.txt'))).toEqual(split);
    await writeSplit(join(dir, 'bad.json'), { train: ['a.jpg'], valid: ['a.jpg'] });
    const error = await readSplit(join(dir, 'bad.json')).catch((e: unknown) => e);
    expect(isDataError(error) && error.code).toBe('INVALID_SPLIT');
  });

  it.skipIf(!HAS_SEVERSTAL)('reads the competition split files and hard negatives', async () => {
    const split = await readSplit({ train: join(SEVERSTAL_SAMPLE, 'train_imgids.txt'), valid: join(SEVERSTAL_SAMPLE, 'valid_imgids.txt') });
    expect([split.train.length, split.valid.length]).toEqual([5332, 1334]);
    const hard = await readIdList(join(SEVERSTAL_SAMPLE, 'hard_negatives_patterns.txt'));
    // 598 ids: the file's last line has no newline, so `wc -l` counts 597.
    expect(hard).toHaveLength(598);
    expect(new Set(hard).size).toBe(598);
    expect(hard.every((id) => /^[0-9a-f]{9}\.jpg$/.test(id))).toBe(true);
    const inSplit = new Set([...split.train, ...split.valid]);
    const fresh = hard.filter((id) => !inSplit.has(id));
    expect(fresh.length).toBeLessThan(598); // a few listed hard negatives are also in the defective split
    expect(addHardNegatives(split, hard).train).toEqual([...split.train, ...fresh]);
  });
});
