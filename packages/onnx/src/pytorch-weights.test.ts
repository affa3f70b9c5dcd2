// A model holding weights imported from a PyTorch segmentation_models state_dict (through a real .safetensors file and
// loadPytorchWeights) exports to ONNX whose output equals tfjs' on the whole tensor and PyTorch's float64 reference
// (packages/models/scripts/pytorch_reference.py: mean, std, sampled logits, class logits).
import { createModel, encodeSafetensors, loadPytorchWeights, toPytorchWeights } from '@steel/models';
import { describe, expect, it } from 'vitest';
import { formulaInput, formulaTensor, type ParityFixture } from '../../models/src/__fixtures__/formula.ts';
import fpnR34 from '../../models/src/__fixtures__/parity-fpn-resnet34.json' with { type: 'json' };
import unetR18 from '../../models/src/__fixtures__/parity-unet-resnet18.json' with { type: 'json' };
import * as tf from '@tensorflow/tfjs-core';
import { createSession, relativeError, runOrt, runTfjs } from '../test/ort.ts';
import { exportOnnx } from './index.ts';

const TOLERANCE = 1e-4;

async function check(fixture: ParityFixture) {
  const model = createModel({
    architecture: fixture.architecture,
    encoder: fixture.encoder,
    inChannels: fixture.inChannels,
    classes: fixture.classes,
    classificationHead: fixture.classificationHead,
    seed: 1,
  });
  const [n, h, w, c] = fixture.input.shape;
  const nhwc = tf.tensor4d(formulaInput(fixture.input.shape), fixture.input.shape);
  try {
    const state = new Map<string, { shape: number[]; data: Float32Array | BigInt64Array }>();
    for (const [name, t] of toPytorchWeights(model)) {
      state.set(name, name.endsWith('num_batches_tracked') ? t : { shape: t.shape, data: formulaTensor(name, t.shape) });
    }
    expect(loadPytorchWeights(model, encodeSafetensors(state)).missing).toEqual([]);
    const expected = runTfjs(model, nhwc);
    const nchw = tf.tidy(() => tf.transpose(nhwc, [0, 3, 1, 2]).dataSync() as Float32Array);
    const out = await runOrt(await createSession(exportOnnx(model)), nchw, [n, c, h, w]);
    const logits = out['logits']!.data;

    // Against tfjs, whole tensors.
    expect(relativeError(logits, expected[0]!)).toBeLessThan(TOLERANCE);
    // Against PyTorch (float64): statistics and sampled values, relative to the output's scale.
    const ref = fixture.output;
    const mean = logits.reduce((a, b) => a + b, 0) / logits.length;
    const std = Math.sqrt(logits.reduce((a, b) => a + (b - mean) ** 2, 0) / logits.length);
    const k = fixture.classes;
    const sampled = ref.samples.map(([b, y, x, cls]) => logits[((b * k + cls) * h + y) * w + x]!);
    const scale = ref.absMax;
    expect(Math.abs(mean - ref.mean) / scale).toBeLessThan(TOLERANCE);
    expect(Math.abs(std - ref.std) / scale).toBeLessThan(TOLERANCE);
    expect(relativeError(sampled, ref.samples.map((s) => s[4]))).toBeLessThan(TOLERANCE);
    if (fixture.classification) {
      expect(relativeError(out['class_logits']!.data, fixture.classification.values)).toBeLessThan(TOLERANCE);
      expect(relativeError(out['class_logits']!.data, expected[1]!)).toBeLessThan(TOLERANCE);
    }
  } finally {
    model.dispose();
    nhwc.dispose();
  }
}

describe('exportOnnx of a model with PyTorch weights (loadPytorchWeights)', () => {
  it('UNet-ResNet18, 1 channel, classification head: equals tfjs and PyTorch', () => check(unetR18 as unknown as ParityFixture));
  it('FPN-ResNet34, 3 channels: equals tfjs and PyTorch', () => check(fpnR34 as unknown as ParityFixture));
});
