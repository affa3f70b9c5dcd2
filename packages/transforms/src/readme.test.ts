import { expect, it } from 'vitest';
import { compose } from './compose.ts';
import { normalize } from './intensity.ts';
import { cropBack, padToMultiple } from './pad.ts';
import { referenceTrainTransform } from './presets.ts';
import { createRng, deriveSeed } from './rng.ts';
import type { Sample } from './types.ts';

// The Usage block of README.md, kept compiling and running.
it('README usage', () => {
  const [seed, epoch, index] = [42, 0, 7];
  const decoded: Sample = {
    image: new Uint8Array(256 * 1600), // grey, HWC
    mask: new Uint8Array(256 * 1600 * 4), // [H, W, 4], 0/1, channel = ClassId - 1
    height: 256, width: 1600, channels: 1, maskChannels: 4,
  };
  // --- README start
  // import { createRng, deriveSeed, compose, normalize, padToMultiple, cropBack, referenceTrainTransform } from '@steel/transforms';
  const train = compose([referenceTrainTransform({ cropHeight: 224, cropWidth: 1568 }), normalize({ mean: [0.34], std: [0.14] })]);
  const rng = createRng(deriveSeed(seed, epoch, index)); // one stream per sample: same result on any worker
  const sample = train(decoded, rng); // 224x1568, Float32Array image, mask moved with it
  const checkpoint = JSON.stringify(rng.state); // resume later with createRng(JSON.parse(checkpoint))

  const { sample: padded, padding } = padToMultiple(sample, { multiple: 32 }); // right/bottom, value 0
  const probabilities = cropBack(new Float32Array(padded.height * padded.width * 4), padding, 4);
  // --- README end
  expect([sample.height, sample.width, sample.image.constructor]).toEqual([224, 1568, Float32Array]);
  expect(probabilities.length).toBe(224 * 1568 * 4);
  expect(createRng(JSON.parse(checkpoint)).next()).toBe(rng.next());
});
