// A representative augmentation for the loader benchmark: random crop, flip and brightness/contrast on HWC arrays.
import { createRandom, type Sample, type SampleTransform } from '../src/index.ts';

export function createCropTransform(options: { height?: number; width?: number }): SampleTransform {
  return (sample: Sample, { seed }) => {
    const random = createRandom(seed);
    const h = options.height ?? sample.height;
    const w = options.width ?? sample.width;
    const top = random.int(0, sample.height - h);
    const left = random.int(0, sample.width - w);
    const flip = random.chance(0.5);
    const gain = 1 + random.range(-0.2, 0.2);
    const shift = random.range(-0.2, 0.2);
    const { channels } = sample;
    const k = sample.mask.length / (sample.height * sample.width);
    const image = new Float32Array(h * w * channels);
    const mask = new Uint8Array(h * w * k);
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        const sc = flip ? left + w - 1 - c : left + c;
        const src = (top + r) * sample.width + sc;
        for (let ch = 0; ch < channels; ch++) image[(r * w + c) * channels + ch] = sample.image[src * channels + ch]! * gain + shift;
        for (let ch = 0; ch < k; ch++) mask[(r * w + c) * k + ch] = sample.mask[src * k + ch]!;
      }
    }
    return { image, mask, height: h, width: w, channels };
  };
}
