// Test fixtures: a tiny synthetic dataset, a steel UNet saved as a training run, a "probe" model whose output is known
// in closed form, and two folders that are not models.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { layers, sequential } from '@tensorflow/tfjs-layers';
import { generateSyntheticDataset } from '@steel/data';
import { createModel, registerSteelLayers, countParameters } from '@steel/models';
import { createFileIOHandler } from '@steel/models/node';

/** Probe model: pixel value x in [0, 1] (grey) gives logits [40x - 20, 4 - 40x, -10, -10]. */
export const PROBE = { kernel: [40, -40, 0, 0], bias: [-20, 4, -10, -10] } as const;

/** The class-1 and class-2 probabilities of the probe model for a grey level 0..255 (float64, written independently). */
export function probeProbabilities(grey: number): [number, number] {
  const x = grey / 255;
  const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
  return [sigmoid(PROBE.kernel[0] * x + PROBE.bias[0]), sigmoid(PROBE.kernel[1] * x + PROBE.bias[1])];
}

export interface Fixtures {
  readonly dataDir: string;
  readonly runDir: string;
  readonly probeDir: string;
  /** A folder with a model.json that is not a model. */
  readonly brokenDir: string;
  /** A folder without model.json. */
  readonly emptyDir: string;
  /** Parameters of the run's UNet, counted in Node. */
  readonly runParameters: number;
}

/** Writes every fixture under `root` (about 5 s on 2 cores, mostly the UNet's weights). */
export async function createFixtures(root: string): Promise<Fixtures> {
  await tf.setBackend('cpu');
  const dataDir = join(root, 'data');
  await generateSyntheticDataset({ dir: dataDir, count: 6, testCount: 4, height: 64, width: 256, seed: 7 });

  // A training run as apps/train writes it: config.json, best/model.json + weights, metrics.json.
  const runDir = join(root, 'runs', 'fixture-run');
  registerSteelLayers();
  const unet = createModel({ architecture: 'unet', encoder: 'resnet18', inChannels: 1, classes: 4, seed: 1 });
  await unet.save(createFileIOHandler(join(runDir, 'best')));
  // PyTorch's count (batch-norm running statistics excluded), which the page shows.
  const runParameters = countParameters(unet);
  unet.dispose();
  const config = { data: dataDir, architecture: 'unet', encoder: 'resnet18', inChannels: 1, scale: 1, threshold: 0.5, minArea: [0, 0, 0, 0], epochs: 1, batchSize: 2, loss: 'bce', optimizer: 'adam', lr: 0.001, schedule: 'constant', crop: null };
  await writeFile(join(runDir, 'config.json'), JSON.stringify(config, null, 2));
  // Tuned post-processing in the shape of the tuner's tuned.json.
  const tuned = [0.5, 0.45, 0.55, 0.5].map((threshold, k) => ({ threshold, minArea: [0, 4, 0, 8][k]!, topThreshold: 0, minMaskArea: 0, gate: 0 }));
  await writeFile(join(runDir, 'tuned.json'), JSON.stringify({ version: 1, classes: tuned, connectivity: 8, score: 0.8, classScores: [0.8, 0.8, 0.8, 0.8], images: 2, candidates: [] }));
  const score = (mean: number) => ({ mean, perClass: [mean, mean, mean, mean], images: 2 });
  await writeFile(join(runDir, 'metrics.json'), JSON.stringify({ backend: 'cpu', bestEpoch: 1, validation: { images: 2, baseline: score(0.625), raw: score(0.5), postprocessed: score(0.75) }, seconds: { train: 3 }, tuned: { score: 0.8, classScores: [0.8, 0.8, 0.8, 0.8] } }));

  const probeDir = join(root, 'probe');
  const probe = sequential({
    layers: [layers.conv2d({ inputShape: [null, null, 1], filters: 4, kernelSize: 1, useBias: true, name: 'probe' })],
  });
  probe.getLayer('probe').setWeights([tf.tensor4d([...PROBE.kernel], [1, 1, 1, 4]), tf.tensor1d([...PROBE.bias])]);
  await probe.save(createFileIOHandler(probeDir));
  probe.dispose();

  const brokenDir = join(root, 'broken');
  await mkdir(brokenDir, { recursive: true });
  await writeFile(join(brokenDir, 'model.json'), JSON.stringify({ hello: 'this is not a model' }));
  const emptyDir = join(root, 'empty');
  await mkdir(emptyDir, { recursive: true });
  await writeFile(join(emptyDir, 'notes.txt'), 'no model here');
  return { dataDir, runDir, probeDir, brokenDir, emptyDir, runParameters };
}
