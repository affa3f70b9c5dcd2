// Augmentation speed on full-size competition samples (1600x256, 4-class mask), one core.
// Run: pnpm --filter @steel/transforms bench
import { report, timeMs, type BenchRow } from '../../../tooling/bench/report.ts';
import {
  blur,
  brightnessContrast,
  createRng,
  flipHorizontal,
  flipVertical,
  gaussianNoise,
  gridShuffle,
  normalize,
  padToMultiple,
  randomCrop,
  referenceTrainTransform,
  resize,
  type Sample,
  type Transform,
} from '../src/index.ts';

const HEIGHT = 256;
const WIDTH = 1600;
const FLOOR_MS = 2;

function steelSample(channels: number, float: boolean, height = HEIGHT): Sample {
  const n = height * WIDTH * channels;
  const image = float ? new Float32Array(n) : new Uint8Array(n);
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    image[i] = float ? (x >>> 24) / 255 : x >>> 24;
  }
  // A class-3 scratch band and a class-1 pit cluster, like a typical defective image.
  const mask = new Uint8Array(height * WIDTH * 4);
  for (let r = 60; r < 120; r++) for (let c = 300; c < 700; c++) mask[(r * WIDTH + c) * 4 + 2] = 1;
  for (let r = 200; r < 215; r++) for (let c = 1400; c < 1420; c++) mask[(r * WIDTH + c) * 4] = 1;
  return { image, mask, height, width: WIDTH, channels, maskChannels: 4 };
}

const copy = (s: Sample): Sample => ({ ...s, image: s.image.slice(), mask: s.mask.slice() });
const rng = createRng(1);
const time = (t: Transform, s: Sample, runs = 200) => timeMs(() => void t(s, rng), { runs, warmup: 20 });

const rows: BenchRow[] = [];
const recipe = referenceTrainTransform();
for (const [channels, float] of [[1, false], [3, false], [1, true], [3, true]] as const) {
  const sample = steelSample(channels, float);
  const baseline = timeMs(() => void copy(sample), { runs: 200, warmup: 20 });
  const ms = time(recipe, sample, 400);
  rows.push({
    what: `reference recipe 224x1568, ${channels} ch ${float ? 'float32' : 'uint8'}`,
    ms_per_sample: +ms.toFixed(3),
    samples_per_s: Math.round(1000 / ms),
    copy_baseline_ms: +baseline.toFixed(3),
    ratio_to_copy: +(ms / baseline).toFixed(2),
    within_floor_2ms: ms <= FLOOR_MS,
  });
}

const grey = steelSample(1, false);
const greyBaseline = timeMs(() => void copy(grey), { runs: 200, warmup: 20 });
const short = steelSample(1, false, 250);
const single: Array<[string, Transform, Sample]> = [
  ['randomCrop 224x1568', randomCrop({ height: 224, width: 1568 }), grey],
  ['randomCrop 224x1568 on a defect', randomCrop({ height: 224, width: 1568, maskCentreProbability: 1 }), grey],
  ['flipHorizontal', flipHorizontal, grey],
  ['flipVertical', flipVertical, grey],
  ['brightnessContrast ±0.2', brightnessContrast(), grey],
  ['gridShuffle 1x2 (swap or identity)', gridShuffle(), grey],
  ['gaussianNoise std 5', gaussianNoise({ std: 5 }), grey],
  ['blur box 3', blur({ size: 3 }), grey],
  ['blur gaussian 5', blur({ kind: 'gaussian', size: 5 }), grey],
  ['normalize to float32', normalize({ mean: [0.34], std: [0.14] }), grey],
  ['resize area to 128x800', resize({ height: 128, width: 800, method: 'area' }), grey],
  ['resize bilinear to 128x800', resize({ height: 128, width: 800 }), grey],
  ['padToMultiple 250 -> 256 rows', (s) => padToMultiple(s).sample, short],
];
rows.push({ what: 'baseline: copy image + mask (1 ch uint8)', ms_per_sample: +greyBaseline.toFixed(3), ratio_to_copy: 1 });
for (const [what, t, sample] of single) {
  const ms = time(t, sample, 100);
  rows.push({ what, ms_per_sample: +ms.toFixed(3), ratio_to_copy: +(ms / greyBaseline).toFixed(2) });
}

report('transforms', rows, { floor_ms: FLOOR_MS, image: `${HEIGHT}x${WIDTH}`, mask_channels: 4 });
