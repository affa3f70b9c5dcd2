// Benchmarks of @steel/data: image decoding (sharp), the loader (decode + augment) on 2 worker threads at full size and at
// crop size, synthetic generation, next to what one training step consumes; plus the EDA of the synthetic data.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encode } from '@steel/rle';
import { report, type BenchRow } from '../../../tooling/bench/report.ts';
import { computeEda, createLoader, formatEda, generateSyntheticDataset, openKaggleDataset, readImage, renderSyntheticImage } from '../src/index.ts';

// What training consumes: batch 2 of 1600x256 (or 1568x224 crops) per step of about 3.7 s (a UNet-ResNet34-sized
// model on the CPU backend); the loader keeps up if it delivers more than 2 / 3.7 = 0.54 images/s.
const STEP_S = 3.7;
const STEP_BATCH = 2;
const consumed = STEP_BATCH / STEP_S;
const fixture = fileURLToPath(new URL('./crop-transform.ts', import.meta.url));

const dir = await mkdtemp(join(tmpdir(), 'steel-data-bench-'));
const rows: BenchRow[] = [];
try {
  const count = 48;
  let t0 = performance.now();
  await generateSyntheticDataset({ dir, count, seed: 1 });
  const genRate = count / ((performance.now() - t0) / 1000);
  rows.push({ what: 'synthetic generation 1600x256 (render + JPEG)', images_per_s: +genRate.toFixed(1), training_needs: null });

  const dataset = await openKaggleDataset(dir);
  t0 = performance.now();
  for (const entry of dataset.images) await readImage(entry.file, { height: 256, width: 1600 });
  rows.push({ what: 'sharp decode, 1 thread, sequential', images_per_s: +(count / ((performance.now() - t0) / 1000)).toFixed(1), training_needs: +consumed.toFixed(2) });

  const rate = async (name: string, options: Parameters<typeof createLoader>[0]): Promise<void> => {
    // First batch excluded: it pays for starting the workers.
    let images = 0;
    let start = 0;
    for await (const batch of createLoader(options)) {
      if (start === 0) start = performance.now();
      else images += batch.ids.length;
    }
    rows.push({ what: name, images_per_s: +(images / ((performance.now() - start) / 1000)).toFixed(1), training_needs: +consumed.toFixed(2) });
  };
  const base = { dataset, batchSize: 4, seed: 1, epochs: 2 } as const;
  await rate('loader decode, in thread, 1600x256', base);
  await rate('loader decode + flip/brightness, 2 workers, 1600x256', { ...base, workers: 2, transform: { module: fixture, exportName: 'createCropTransform', options: {} } });
  await rate('loader decode + crop 224x1568 + flip/brightness, 2 workers', { ...base, workers: 2, transform: { module: fixture, exportName: 'createCropTransform', options: { height: 224, width: 1568 } } });
  await rate('loader decode + crop 224x1568 + flip/brightness, in thread', { ...base, transform: { module: fixture, exportName: 'createCropTransform', options: { height: 224, width: 1568 } } });

  // EDA of the synthetic data (masks only, so many images are cheap).
  const edaImages = Array.from({ length: 2000 }, (_, index) => {
    const image = renderSyntheticImage({ seed: 0, index, pixels: false });
    const rles: Record<number, string> = {};
    for (const [classId, mask] of image.masks) rles[classId] = encode(mask, { height: 256, width: 1600 });
    return { classes: [...image.masks.keys()].sort(), rles };
  });
  const eda = computeEda(edaImages);
  console.log(`\nSynthetic data EDA (seed 0, 2000 images, 1600x256):\n${formatEda(eda)}`);
  report('data', rows, { assumption: `training consumes ${STEP_BATCH} images per ${STEP_S} s step`, eda });
} finally {
  await rm(dir, { recursive: true, force: true });
}
