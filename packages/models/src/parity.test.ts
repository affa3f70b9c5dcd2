// Forward-pass parity with PyTorch: weights and input from a formula both sides compute, reference statistics from
// scripts/pytorch_reference.py (float64 PyTorch), weights carried through a real .safetensors file and the importer.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { countParameters, createModel, encodeSafetensors, loadPytorchWeights, toPytorchWeights } from './index';
import { formulaInput, formulaTensor, namesChecksum, type ParityFixture } from './__fixtures__/formula';
import fpnR34 from './__fixtures__/parity-fpn-resnet34.json' with { type: 'json' };
import unetR18 from './__fixtures__/parity-unet-resnet18.json' with { type: 'json' };
import unetR34 from './__fixtures__/parity-unet-resnet34.json' with { type: 'json' };

const TOLERANCE = 1e-4;

/** |a - b| relative to max(|b|, std of the reference output), so values near zero are judged on the output's scale. */
const relative = (a: number, b: number, scale: number) => Math.abs(a - b) / Math.max(Math.abs(b), scale);

async function parity(fixture: ParityFixture) {
  const model = createModel({
    architecture: fixture.architecture,
    encoder: fixture.encoder,
    inChannels: fixture.inChannels,
    classes: fixture.classes,
    classificationHead: fixture.classificationHead,
    seed: 1,
  });
  const dir = await mkdtemp(join(tmpdir(), 'steel-parity-'));
  try {
    // The model's own names and PyTorch shapes must be exactly segmentation_models' state_dict.
    const names = toPytorchWeights(model);
    expect(names.size).toBe(fixture.stateDict.count);
    expect(namesChecksum(names)).toBe(fixture.stateDict.checksum);
    expect(countParameters(model)).toBe(fixture.parameters);

    const state = new Map<string, { shape: number[]; data: Float32Array | BigInt64Array }>();
    for (const [name, t] of names) {
      state.set(name, name.endsWith('num_batches_tracked') ? t : { shape: t.shape, data: formulaTensor(name, t.shape) });
    }
    const file = join(dir, 'model.safetensors');
    await writeFile(file, encodeSafetensors(state));
    const report = loadPytorchWeights(model, new Uint8Array(await readFile(file)));
    expect(report.missing).toEqual([]);

    const outputs = tf.tidy(() => {
      const x = tf.tensor(formulaInput(fixture.input.shape), fixture.input.shape);
      const y = model.predict(x);
      return (Array.isArray(y) ? y : [y]).map((t) => t.dataSync() as Float32Array);
    });
    const masks = outputs[0]!;
    const [, h, w, c] = fixture.output.shape as [number, number, number, number];
    const ref = fixture.output;
    let mean = 0;
    for (const v of masks) mean += v;
    mean /= masks.length;
    let variance = 0;
    for (const v of masks) variance += (v - mean) ** 2;
    const std = Math.sqrt(variance / masks.length);
    const errors = {
      mean: relative(mean, ref.mean, ref.std),
      std: relative(std, ref.std, ref.std),
      samples: Math.max(...ref.samples.map(([n, y, x, k, v]) => relative(masks[((n * h + y) * w + x) * c + k]!, v, ref.std))),
      classification: 0,
    };
    if (fixture.classification) {
      const labels = outputs[1]!;
      const scale = Math.max(...fixture.classification.values.map(Math.abs));
      errors.classification = Math.max(...fixture.classification.values.map((v, i) => relative(labels[i]!, v, scale)));
    }
    console.log(`parity ${fixture.name}: relative errors`, errors);
    expect(errors.mean).toBeLessThan(TOLERANCE);
    expect(errors.std).toBeLessThan(TOLERANCE);
    expect(errors.samples).toBeLessThan(TOLERANCE);
    expect(errors.classification).toBeLessThan(TOLERANCE);
  } finally {
    model.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}

describe('forward parity with PyTorch (segmentation_models naming, inference mode)', () => {
  it('UNet-ResNet18, 1 channel, with classification head', { timeout: 120_000 }, () => parity(unetR18 as unknown as ParityFixture));
  it('UNet-ResNet34, 3 channels', { timeout: 120_000 }, () => parity(unetR34 as unknown as ParityFixture));
  it('FPN-ResNet34, 3 channels', { timeout: 120_000 }, () => parity(fpnR34 as unknown as ParityFixture));
});
