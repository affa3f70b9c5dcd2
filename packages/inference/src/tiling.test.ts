import { fc, test } from '@fast-check/vitest';
import { expect, it } from 'vitest';
import { isInferenceError, planTiles } from './index.ts';

test.prop([fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 128 })])(
  'tiles keep disjoint column ranges that cover the width, each at least overlap / 2 from an inner tile border',
  (width, tiles32, overlap) => {
    const tileWidth = tiles32 * 32;
    const plan = planTiles(width, { tileWidth, overlap });
    let next = 0;
    plan.tiles.forEach((t, i) => {
      expect(t.keepFrom).toBe(next);
      expect(t.keepTo).toBeGreaterThan(t.keepFrom);
      expect(t.start).toBeGreaterThanOrEqual(0);
      expect(t.start + t.width).toBeLessThanOrEqual(width);
      const half = Math.floor(Math.min(overlap, tileWidth / 2) / 2);
      if (i > 0) expect(t.keepFrom - t.start).toBeGreaterThanOrEqual(half);
      if (i < plan.tiles.length - 1) expect(t.start + t.width - t.keepTo).toBeGreaterThanOrEqual(half);
      next = t.keepTo;
    });
    expect(next).toBe(width);
    if (width <= tileWidth) expect(plan.tiles).toHaveLength(1);
  },
);

it('plans one tile without a limit and rejects bad options', () => {
  expect(planTiles(4000).tiles).toEqual([{ start: 0, width: 4000, keepFrom: 0, keepTo: 4000 }]);
  expect(planTiles(4000, { tileWidth: 1600 }).tiles.map((t) => t.start)).toEqual([0, 1536, 2400]);
  for (const bad of [{ tileWidth: 0 }, { overlap: -1 }, { multiple: 1.5 }]) {
    try {
      planTiles(100, bad);
      expect.unreachable();
    } catch (error) {
      expect(isInferenceError(error) && error.code).toBe('INVALID_OPTION');
    }
  }
});
