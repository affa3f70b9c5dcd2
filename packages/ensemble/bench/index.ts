// Benchmarks of @steel/ensemble on full-size Severstal maps (256x1600, 4 classes):
//  1. connected components and post-processing, against a breadth-first flood fill in the same process;
//  2. the tuner on 200 validation images (statistics per image, then the search);
//  3. streaming prediction with a cheap tfjs model (one 3x3 convolution), against prediction alone.
// Run: pnpm --filter @steel/ensemble bench   (IMAGES=200 validation images for the tuner, STREAM_IMAGES=16 for streaming)
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { report, timeMs, timeMsAsync, type BenchRow } from '../../../tooling/bench/report.ts';
import {
  createTuner,
  labelComponents,
  listComponents,
  postprocess,
  predictSubmission,
  REFERENCE_POSTPROCESS,
  toSubmissionLines,
  type ImageBatch,
} from '../src/index.ts';

const H = 256, W = 1600, C = 4;

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A realistic-looking `[H, W, C]` map: low background with speckle, and a few soft elliptical defects per class. */
function probabilityMap(seed: number, out = new Float32Array(H * W * C), truth?: Uint8Array): Float32Array {
  const rand = rng(seed);
  for (let i = 0; i < out.length; i++) out[i] = rand() < 0.01 ? 0.3 + 0.5 * rand() : 0.05 * rand();
  truth?.fill(0);
  for (let k = 0; k < C; k++) {
    const blobs = Math.floor(rand() * 4);
    for (let b = 0; b < blobs; b++) {
      const cr = rand() * H, cc = rand() * W, rr = 5 + rand() * 40, rc = 10 + rand() * 150, peak = 0.4 + 0.6 * rand();
      for (let r = Math.max(0, Math.floor(cr - rr)); r < Math.min(H, cr + rr); r++) {
        for (let c = Math.max(0, Math.floor(cc - rc)); c < Math.min(W, cc + rc); c++) {
          const d = ((r - cr) / rr) ** 2 + ((c - cc) / rc) ** 2;
          if (d >= 1) continue;
          const i = (r * W + c) * C + k;
          out[i] = Math.max(out[i]!, peak * (1 - d * d));
          if (truth && d < 0.8) truth[i] = 1;
        }
      }
    }
  }
  return out;
}

/** Baseline: breadth-first flood fill with an explicit queue (8-connected). */
function floodFill(mask: Uint8Array, height: number, width: number): number {
  const labels = new Int32Array(height * width);
  const queue = new Int32Array(height * width);
  let count = 0;
  for (let s = 0; s < mask.length; s++) {
    if (!mask[s] || labels[s]) continue;
    labels[s] = ++count;
    let head = 0, tail = 0;
    queue[tail++] = s;
    while (head < tail) {
      const p = queue[head++]!;
      const r = (p / width) | 0, c = p - r * width;
      for (let dr = -1; dr <= 1; dr++) {
        const rr = r + dr;
        if (rr < 0 || rr >= height) continue;
        for (let dc = -1; dc <= 1; dc++) {
          const cc = c + dc;
          if (cc < 0 || cc >= width) continue;
          const q = rr * width + cc;
          if (mask[q] && !labels[q]) {
            labels[q] = count;
            queue[tail++] = q;
          }
        }
      }
    }
  }
  return count;
}

// The tfjs CPU backend: the model is deliberately cheap, the pipeline around it is what is measured.
await tf.setBackend('cpu');
await tf.ready();

// 1. Components and post-processing.
const probs = probabilityMap(1);
const masks = Array.from({ length: C }, (_, k) => Uint8Array.from({ length: H * W }, (_, i) => (probs[i * C + k]! > 0.5 ? 1 : 0)));
const rows: BenchRow[] = [];
const ccOurs = timeMs(() => masks.forEach((m) => labelComponents(m, { height: H, width: W })), { runs: 30 });
const ccFlood = timeMs(() => masks.forEach((m) => floodFill(m, H, W)), { runs: 30 });
rows.push({ case: 'labelComponents, 4 masks 256x1600 (8-conn)', ms: +ccOurs.toFixed(2), baseline: 'BFS flood fill', baselineMs: +ccFlood.toFixed(2), speedup: +(ccFlood / ccOurs).toFixed(2) });
rows.push({ case: 'postprocess 256x1600x4, reference preset', ms: +timeMs(() => postprocess(probs, { height: H, width: W, classes: C }, REFERENCE_POSTPROCESS), { runs: 30 }).toFixed(2) });
rows.push({ case: 'listComponents 256x1600x4, reference preset', ms: +timeMs(() => listComponents(probs, { height: H, width: W, classes: C }, REFERENCE_POSTPROCESS), { runs: 30 }).toFixed(2) });

// 2. Tuner on validation images (generated one at a time: the tuner keeps statistics only).
const images = Number(process.env['IMAGES'] ?? 200);
const tuner = createTuner({ height: H, width: W, classes: C });
const buf = new Float32Array(H * W * C);
const truth = new Uint8Array(H * W * C);
let addMs = 0;
for (let i = 0; i < images; i++) {
  probabilityMap(100 + i, buf, truth);
  const t0 = performance.now();
  tuner.add(buf, truth);
  addMs += performance.now() - t0;
}
const t1 = performance.now();
const tuned = tuner.search();
const searchMs = performance.now() - t1;
rows.push({ case: `tuner.add x${images} (9 thresholds, 4 classes)`, ms: +addMs.toFixed(1), perImageMs: +(addMs / images).toFixed(2) });
rows.push({ case: `tuner.search, ${tuned.candidates.length} candidates`, ms: +searchMs.toFixed(1), score: +tuned.score.toFixed(4) });

// 3. Streaming prediction with a 3x3 convolution to 4 sigmoid channels.
const kernel = tf.variable(tf.randomNormal([3, 3, 1, C], 0, 0.5, 'float32', 7));
const model = (x: tf.Tensor4D): tf.Tensor4D => tf.tidy(() => tf.sigmoid(tf.conv2d(x, kernel as tf.Tensor4D, 1, 'same')));
const streamImages = Number(process.env['STREAM_IMAGES'] ?? 16);
const batchSize = 4;
function* batches(): Generator<ImageBatch> {
  for (let b = 0; b < streamImages / batchSize; b++) {
    const images = tf.randomUniform([batchSize, H, W, 1], 0, 1, 'float32', b) as tf.Tensor4D;
    yield { imageIds: Array.from({ length: batchSize }, (_, i) => `${(b * batchSize + i).toString(16).padStart(9, '0')}.jpg`), images };
  }
}
const predictOnly = await timeMsAsync(async () => {
  for (const { images } of batches()) {
    const out = model(images);
    await out.data();
    tf.dispose([images, out]);
  }
}, { runs: 3, warmup: 1 });
let lines = 0;
let lastRate = 0;
const streamMs = await timeMsAsync(async () => {
  for await (const _ of toSubmissionLines(predictSubmission(batches(), model, { onProgress: (p) => (lastRate = p.imagesPerSecond) }))) lines++;
}, { runs: 3, warmup: 1 });
rows.push({ case: `predict only, ${streamImages} images 256x1600 (batch ${batchSize})`, ms: +predictOnly.toFixed(0), imagesPerSecond: +((streamImages * 1000) / predictOnly).toFixed(2) });
rows.push({ case: `predictSubmission + CSV, ${streamImages} images`, ms: +streamMs.toFixed(0), imagesPerSecond: +((streamImages * 1000) / streamMs).toFixed(2), reported: +lastRate.toFixed(2) });
kernel.dispose();

report('ensemble', rows, { backend: tf.getBackend(), leakedTensors: tf.memory().numTensors, csvLines: lines });
