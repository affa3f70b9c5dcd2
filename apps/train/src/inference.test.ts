import * as tf from '@tensorflow/tfjs-core';
import { createRng, resize } from '@steel/transforms';
import { describe, expect, it } from 'vitest';
import { areaResize } from './inference.ts';

describe('areaResize', () => {
  it('equals the area resize the training images get (@steel/transforms), for whole and fractional factors', async () => {
    const rng = createRng(5);
    for (const [h, w, c, oh, ow] of [
      [64, 400, 1, 32, 200],
      [64, 96, 3, 16, 24],
      [50, 70, 2, 32, 48],
    ] as const) {
      const image = new Float32Array(h * w * c).map(() => rng.next());
      const mask = new Uint8Array(h * w);
      const expected = resize({ height: oh, width: ow, method: 'area' })({ image, mask, height: h, width: w, channels: c, maskChannels: 1 }, rng);
      const x = tf.tensor4d([...image, ...image.map((v) => 1 - v)], [2, h, w, c]);
      const y = areaResize(x, oh, ow);
      expect(y.shape).toEqual([2, oh, ow, c]);
      const got = await y.data();
      tf.dispose([x, y]);
      let worst = 0;
      for (let i = 0; i < expected.image.length; i++) {
        worst = Math.max(worst, Math.abs(got[i]! - (expected.image[i] as number)), Math.abs(got[oh * ow * c + i]! - (1 - (expected.image[i] as number))));
      }
      expect(worst).toBeLessThan(1e-5);
    }
  });
});
