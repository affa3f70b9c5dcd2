// Forward-pass parity with PyTorch: weights and input from a formula both sides compute, reference statistics from
// scripts/pytorch_reference.py (float64 PyTorch), weights carried through a real .safetensors file and the importer.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { countParameters, createModel, encodeSafetensors, encoders, loadPytorchWeights, toPytorchWeights, type LoadPytorchWeightsOptions } from './index.ts';
import { formulaInput, formulaTensor, namesChecksum, type ParityFixture } from './__fixtures__/formula.ts';
import fpnR34 from './__fixtures__/parity-fpn-resnet34.json' with { type: 'json' };
import fpnR50 from './__fixtures__/parity-fpn-resnet50.json' with { type: 'json' };
import unetR18 from './__fixtures__/parity-unet-resnet18.json' with { type: 'json' };
import unetR34 from './__fixtures__/parity-unet-resnet34.json' with { type: 'json' };
import unetR50 from './__fixtures__/parity-unet-resnet50.json' with { type: 'json' };

const TOLERANCE = 1e-4;

/** |a - b| relative to max(|b|, std of the reference output), so values near zero are judged on the output's scale. */
const relative = (a: number, b: number, scale: number) => Math.abs(a - b) / Math.max(Math.abs(b), scale);

/**
 * `names`: weights go in through one segmentation_models file, or through a torchvision file for the encoder (with the
 * classifier `fc.*` that torchvision checkpoints carry) plus a decoder-and-heads file loaded with `strict: false`.
 */
async function parity(fixture: ParityFixture, names: 'segmentation-models' | 'torchvision' = 'segmentation-models') {
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
    const own = toPytorchWeights(model);
    expect(own.size).toBe(fixture.stateDict.count);
    expect(namesChecksum(own)).toBe(fixture.stateDict.checksum);
    expect(countParameters(model)).toBe(fixture.parameters);
    // The encoder alone under torchvision's names (ResNet without `fc`).
    const encoderNames = [...own.keys()].filter((n) => n.startsWith('encoder.'));
    const torchvisionNames = new Map(encoderNames.map((n) => [n.slice('encoder.'.length), own.get(n)!]));
    expect(torchvisionNames.size).toBe(fixture.torchvisionStateDict.count);
    expect(namesChecksum(torchvisionNames)).toBe(fixture.torchvisionStateDict.checksum);

    const state = new Map<string, { shape: number[]; data: Float32Array | BigInt64Array }>();
    for (const [name, t] of own) {
      state.set(name, name.endsWith('num_batches_tracked') ? t : { shape: t.shape, data: formulaTensor(name, t.shape) });
    }
    const load = async (tensors: typeof state, options: LoadPytorchWeightsOptions) => {
      const file = join(dir, 'model.safetensors');
      await writeFile(file, encodeSafetensors(tensors));
      return loadPytorchWeights(model, new Uint8Array(await readFile(file)), options);
    };
    if (names === 'segmentation-models') {
      expect((await load(state, {})).missing).toEqual([]);
    } else {
      const encoder = new Map(encoderNames.map((n) => [n.slice('encoder.'.length), state.get(n)!]));
      const c5 = encoders[fixture.encoder].channels[4];
      encoder.set('fc.weight', { shape: [1000, c5], data: new Float32Array(1000 * c5) });
      encoder.set('fc.bias', { shape: [1000], data: new Float32Array(1000) });
      const report = await load(encoder, { format: 'torchvision' });
      expect(report.ignored).toContain('fc.weight');
      const rest = await load(new Map([...state].filter(([n]) => !n.startsWith('encoder.'))), { format: 'segmentation-models', strict: false });
      expect(rest.missing).toEqual(encoderNames.filter((n) => !n.endsWith('num_batches_tracked')));
    }

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
  it('UNet-ResNet50, 1 channel, with classification head, encoder from torchvision names', { timeout: 240_000 }, () =>
    parity(unetR50 as unknown as ParityFixture, 'torchvision'),
  );
  it('FPN-ResNet50, 3 channels', { timeout: 240_000 }, () => parity(fpnR50 as unknown as ParityFixture));
});
