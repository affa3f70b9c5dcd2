import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { decode, parseCsv } from '@steel/rle';
import { analyse, csvSafeId, decodeTruth, imageDice, interleave, submissionCsv, submissionRecords } from './analysis.ts';

describe('analyse', () => {
  test('thresholds, removes small components and lists what remains (checked by hand on a 4 x 6 map)', () => {
    const height = 4;
    const width = 6;
    // Class 1: a 2x3 block of 0.9 and a lone 0.8 pixel; class 2: 0.2 everywhere.
    const probs = new Float32Array(height * width * 2);
    for (let i = 0; i < height * width; i++) probs[i * 2 + 1] = 0.2;
    for (const [r, c] of [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]] as const) probs[(r * width + c) * 2] = 0.9;
    probs[(3 * width + 5) * 2] = 0.8;
    const map = { probs, height, width, classes: 2 };
    const all = analyse(map, [{ threshold: 0.5 }, { threshold: 0.5 }]);
    expect(all.defects.map((d) => [d.classId, d.area, d.top, d.left, d.bottom, d.right])).toEqual([
      [1, 6, 0, 0, 1, 2],
      [1, 1, 3, 5, 3, 5],
    ]);
    expect(all.masks[1]!.every((v) => v === 0)).toBe(true);
    const big = analyse(map, [{ threshold: 0.5, minArea: 1 }, { threshold: 0.1 }]);
    expect(big.defects.map((d) => [d.classId, d.area])).toEqual([
      [1, 6],
      [2, 24],
    ]);
    expect(analyse(map, [{ threshold: 0.95 }, { threshold: 0.5 }]).defects).toEqual([]);
  });
});

const masksArb = fc
  .record({ height: fc.integer({ min: 1, max: 12 }), width: fc.integer({ min: 1, max: 12 }), classes: fc.integer({ min: 1, max: 4 }) })
  .chain((s) =>
    fc.record({
      s: fc.constant(s),
      masks: fc.array(fc.uint8Array({ min: 0, max: 1, minLength: s.height * s.width, maxLength: s.height * s.width }), { minLength: s.classes, maxLength: s.classes }),
    }),
  );

describe('submission CSV', () => {
  test.prop([masksArb])('decoding the CSV gives back every mask', ({ s, masks }) => {
    const csv = submissionCsv(submissionRecords('a.jpg', masks, s.height, s.width));
    const { format, records } = parseCsv(csv);
    expect(format).toBe('submission');
    expect(records.map((r) => r.classId)).toEqual(masks.map((_, k) => k + 1));
    records.forEach((r, k) => expect(decode(r.rle, s)).toEqual(masks[k]));
  });

  test('ids with commas or quotes are made safe', () => {
    expect(csvSafeId('my, "best" image.png')).toBe('my_ _best_ image.png');
    expect(csvSafeId('')).toBe('image');
  });
});

describe('imageDice', () => {
  test.prop([masksArb])('equals a float64 reference: 2|A∩B|/(|A|+|B|) per class, 1 when both are empty', ({ s, masks }) => {
    const other = masks.map((m) => m.map((v, i) => (i % 3 === 0 ? 1 - v : v)));
    const perClass = masks.map((a, k) => {
      const b = other[k]!;
      let inter = 0;
      let sum = 0;
      for (let i = 0; i < a.length; i++) {
        inter += a[i]! & b[i]!;
        sum += a[i]! + b[i]!;
      }
      return sum === 0 ? 1 : (2 * inter) / sum;
    });
    const got = imageDice(masks, other, s.height, s.width);
    got.perClass.forEach((d, k) => expect(d).toBeCloseTo(perClass[k]!, 10));
    expect(got.mean).toBeCloseTo(perClass.reduce((a, b) => a + b, 0) / perClass.length, 10);
    expect(imageDice(masks, masks, s.height, s.width).mean).toBe(1);
  });

  test('decodeTruth fills missing classes with empty masks; interleave puts channels last', () => {
    const truth = decodeTruth({ '2': '1 2' }, 2, 2, 3);
    expect(truth.map((m) => [...m])).toEqual([
      [0, 0, 0, 0],
      [1, 0, 1, 0],
      [0, 0, 0, 0],
    ]);
    expect([...interleave(truth)]).toEqual([0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
  });
});
