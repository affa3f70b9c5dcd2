import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { CLASS_COLOURS } from './colours.ts';
import { countPainted, outlineMask, paintOverlay } from './outline.ts';

/** Independent reference: a mask pixel is on the outline when a pixel outside the mask (or the image) is within L1 distance `t`. */
function referenceOutline(mask: Uint8Array, height: number, width: number, t: number): Uint8Array {
  const out = new Uint8Array(height * width);
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      if (!mask[r * width + c]) continue;
      let near = false;
      for (let dr = -t; dr <= t && !near; dr++) {
        for (let dc = -(t - Math.abs(dr)); dc <= t - Math.abs(dr); dc++) {
          const rr = r + dr;
          const cc = c + dc;
          if (rr < 0 || rr >= height || cc < 0 || cc >= width || !mask[rr * width + cc]) {
            near = true;
            break;
          }
        }
      }
      out[r * width + c] = near ? 1 : 0;
    }
  }
  return out;
}

const maskArb = fc
  .record({ height: fc.integer({ min: 1, max: 14 }), width: fc.integer({ min: 1, max: 14 }), thickness: fc.integer({ min: 1, max: 3 }) })
  .chain((s) => fc.record({ s: fc.constant(s), data: fc.uint8Array({ min: 0, max: 1, minLength: s.height * s.width, maxLength: s.height * s.width }) }));

describe('outlineMask', () => {
  test.prop([maskArb])('matches the distance-based reference', ({ s, data }) => {
    expect(outlineMask(data, s.height, s.width, s.thickness)).toEqual(referenceOutline(data, s.height, s.width, s.thickness));
  });

  test('a filled 4x5 rectangle inside a 6x7 image: its 14 border pixels', () => {
    const mask = new Uint8Array(6 * 7);
    for (let r = 1; r < 5; r++) for (let c = 1; c < 6; c++) mask[r * 7 + c] = 1;
    const edge = outlineMask(mask, 6, 7);
    expect(edge.reduce((a, b) => a + b, 0)).toBe(4 * 5 - 2 * 3);
    expect(edge[2 * 7 + 2]).toBe(0);
    expect(edge[1 * 7 + 1]).toBe(1);
  });

  test('rejects a mask of the wrong size', () => {
    expect(() => outlineMask(new Uint8Array(5), 2, 3)).toThrow(/expected 6 pixels \(2x3\), got 5/);
  });
});

describe('paintOverlay', () => {
  test('outlines are opaque in the class colour, insides translucent, the rest transparent; later classes on top', () => {
    const a = new Uint8Array(5 * 5).fill(1);
    const b = new Uint8Array(5 * 5);
    b[0] = 1;
    const rgba = paintOverlay([a, b], 5, 5, { fillAlpha: 40 });
    const px = (i: number) => [...rgba.slice(i * 4, i * 4 + 4)];
    expect(px(12)).toEqual([...CLASS_COLOURS[0]!, 40]); // centre of class 1: fill
    expect(px(1)).toEqual([...CLASS_COLOURS[0]!, 255]); // border of class 1
    expect(px(0)).toEqual([...CLASS_COLOURS[1]!, 255]); // class 2 drawn over class 1
    expect(countPainted(rgba)).toBe(25);
    expect(countPainted(paintOverlay([new Uint8Array(25)], 5, 5))).toBe(0);
  });
});
