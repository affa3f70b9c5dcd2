import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { padTo, planTiles } from './tiling.ts';

describe('planTiles', () => {
  test.prop([
    fc.integer({ min: 64, max: 600 }),
    fc.integer({ min: 1, max: 20_000 }),
    fc.integer({ min: 1, max: 300 }),
    fc.integer({ min: 200, max: 3000 }),
    fc.integer({ min: 0, max: 200 }),
  ])('tiles cover the resized image once, each inside the image and a multiple of 32 wide', (height, width, targetHeight, tileWidth, overlap) => {
    const plan = planTiles(height, width, { targetHeight, tileWidth, overlap });
    expect(plan.scaledHeight).toBe(targetHeight);
    expect(plan.scaledWidth).toBe(Math.max(1, Math.round((width * targetHeight) / height)));
    expect(plan.paddedHeight % 32).toBe(0);
    expect(plan.paddedHeight - plan.scaledHeight).toBeLessThan(32);
    let next = 0;
    for (const tile of plan.tiles) {
      expect(tile.keepFrom).toBe(next);
      expect(tile.keepTo).toBeGreaterThan(tile.keepFrom);
      expect(tile.start).toBeGreaterThanOrEqual(0);
      expect(tile.keepFrom).toBeGreaterThanOrEqual(tile.start);
      expect(tile.keepTo).toBeLessThanOrEqual(tile.start + tile.width);
      expect(tile.start + tile.width).toBeLessThanOrEqual(plan.scaledWidth);
      expect(tile.paddedWidth % 32).toBe(0);
      expect(tile.paddedWidth).toBeGreaterThanOrEqual(tile.width);
      expect(tile.paddedWidth).toBeLessThanOrEqual(Math.max(32, Math.floor(tileWidth / 32) * 32));
      next = tile.keepTo;
    }
    expect(next).toBe(plan.scaledWidth);
  });

  test('one tile when the image fits; three for a 64 x 5000 strip in 2048-column tiles', () => {
    expect(planTiles(256, 1600).tiles).toEqual([{ start: 0, width: 1600, paddedWidth: 1600, keepFrom: 0, keepTo: 1600 }]);
    const plan = planTiles(64, 5000, { tileWidth: 2048, overlap: 64 });
    expect(plan.tiles.map((t) => [t.start, t.keepFrom, t.keepTo])).toEqual([
      [0, 0, 2016],
      [1984, 2016, 4000],
      [2952, 4000, 5000],
    ]);
  });

  test('resizes to the target height, keeping the aspect ratio', () => {
    const plan = planTiles(256, 1600, { targetHeight: 64 });
    expect([plan.scaledHeight, plan.scaledWidth, plan.paddedHeight, plan.tiles[0]!.paddedWidth]).toEqual([64, 400, 64, 416]);
  });

  test('rejects sizes that are not positive integers', () => {
    expect(() => planTiles(0, 10)).toThrow(/height to be a positive integer, got 0/);
    expect(() => planTiles(10, 2.5)).toThrow(/width/);
    expect(padTo(33)).toBe(64);
  });
});
