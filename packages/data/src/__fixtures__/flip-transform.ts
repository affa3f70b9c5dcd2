// A transform module for loader tests: seeded horizontal flip and an optional crop to the left `width` columns.
import type { Sample, SampleTransform } from '../sample.ts';
import { createRandom } from '../random.ts';

export function createFlip(options: { width?: number } = {}): SampleTransform {
  return (sample: Sample, { seed }) => {
    const random = createRandom(seed);
    const flip = random.next() < 0.5;
    const { height, channels } = sample;
    const inW = sample.width;
    const outW = options.width ?? inW;
    const k = sample.mask.length / (height * inW);
    const image = new Float32Array(height * outW * channels);
    const mask = new Uint8Array(height * outW * k);
    for (let r = 0; r < height; r++) {
      for (let c = 0; c < outW; c++) {
        const src = flip ? inW - 1 - c : c;
        for (let ch = 0; ch < channels; ch++) image[(r * outW + c) * channels + ch] = sample.image[(r * inW + src) * channels + ch]!;
        for (let ch = 0; ch < k; ch++) mask[(r * outW + c) * k + ch] = sample.mask[(r * inW + src) * k + ch]!;
      }
    }
    return { image, mask, height, width: outW, channels };
  };
}

export default createFlip;
