import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModel, decodeSafetensors, encodeSafetensors, isModelsError, loadPytorchWeights, toPytorchWeights } from './index.ts';

type State = Map<string, { shape: number[]; data: Float32Array | BigInt64Array }>;
const kernelOf = (model: LayersModel, layer: string) => model.getLayer(layer).getWeights()[0]!.dataSync().slice();

describe('loadPytorchWeights', () => {
  let a: LayersModel; // 3 channels, seed 1: the "PyTorch" source
  let b: LayersModel; // 3 channels, seed 2: the target
  let state: State;
  beforeAll(() => {
    a = createModel({ architecture: 'unet', encoder: 'resnet18', inChannels: 3, classes: 4, seed: 1 });
    b = createModel({ architecture: 'unet', encoder: 'resnet18', inChannels: 3, classes: 4, seed: 2 });
    state = toPytorchWeights(a);
  });
  afterAll(() => {
    a.dispose();
    b.dispose();
  });

  it('exports OIHW convolutions and [out, in] layouts under segmentation_models names', () => {
    const hwio = a.getLayer('encoder.layer2.0.conv1').getWeights()[0]!;
    const [kh, kw, ci, co] = hwio.shape as [number, number, number, number];
    const torch = state.get('encoder.layer2.0.conv1.weight')!;
    expect(torch.shape).toEqual([co, ci, kh, kw]);
    const src = hwio.dataSync();
    for (const [y, x, c, k] of [[0, 0, 0, 0], [2, 1, 63, 127], [1, 2, 5, 77]] as const) {
      expect(torch.data[((k * ci + c) * kh + y) * kw + x]).toBe(src[((y * kw + x) * ci + c) * co + k]);
    }
    expect(state.get('encoder.bn1.running_var')!.shape).toEqual([64]);
    expect(state.get('encoder.bn1.num_batches_tracked')!.data).toBeInstanceOf(BigInt64Array);
    expect(state.has('decoder.blocks.4.conv2.1.running_mean')).toBe(true);
    expect(state.get('segmentation_head.0.bias')!.shape).toEqual([4]);
  });

  it('loads torchvision ResNet names into the encoder only and ignores fc and num_batches_tracked', () => {
    const torchvision: State = new Map();
    for (const [name, t] of state) if (name.startsWith('encoder.')) torchvision.set(name.slice('encoder.'.length), t);
    torchvision.set('fc.weight', { shape: [10, 512], data: new Float32Array(5120) });
    torchvision.set('fc.bias', { shape: [10], data: new Float32Array(10) });
    const headBefore = kernelOf(b, 'segmentation_head.0');
    const report = loadPytorchWeights(b, encodeSafetensors(torchvision));
    expect(report.format).toBe('torchvision');
    expect(report.missing).toEqual([]);
    expect(report.ignored).toContain('fc.weight');
    expect(report.ignored).toContain('layer1.0.bn1.num_batches_tracked');
    expect(report.loaded).toContain('layer4.1.bn2.running_var');
    expect(kernelOf(b, 'encoder.layer3.1.conv2')).toEqual(kernelOf(a, 'encoder.layer3.1.conv2'));
    expect(kernelOf(b, 'segmentation_head.0')).toEqual(headBefore);
  });

  it('loads an ImageNet 3-channel stem into a 1-channel model by summing over input channels', () => {
    const grey = createModel({ architecture: 'unet', encoder: 'resnet18', inChannels: 1, classes: 4, seed: 9 });
    try {
      const report = loadPytorchWeights(grey, decodeSafetensors(encodeSafetensors(state)));
      expect(report.mismatched).toEqual([]);
      // A 1-channel image through the summed stem equals the same image repeated on 3 channels through the original.
      const [fromGrey, fromRgb] = tf.tidy(() => {
        const x = tf.randomUniform([1, 32, 64, 1], 0, 1, 'float32', 4);
        return [grey.predict(x) as tf.Tensor, a.predict(tf.tile(x, [1, 1, 1, 3])) as tf.Tensor];
      });
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(fromGrey!, fromRgb!))).dataSync()[0]!);
      const scale = tf.tidy(() => tf.max(tf.abs(fromRgb!)).dataSync()[0]!);
      expect(diff / scale).toBeLessThan(1e-4);
      tf.dispose([fromGrey!, fromRgb!]);
    } finally {
      grey.dispose();
    }
  });

  it('lists missing, unexpected and mis-shaped tensors and changes nothing when strict', () => {
    const broken: State = new Map(state);
    broken.delete('decoder.blocks.0.conv1.0.weight');
    broken.set('decoder.extra.weight', { shape: [1], data: new Float32Array(1) });
    broken.set('segmentation_head.0.weight', { shape: [3, 16, 3, 3], data: new Float32Array(3 * 16 * 9) });
    broken.set('segmentation_head.0.bias', { shape: [4], data: new BigInt64Array(4) });
    const before = kernelOf(b, 'decoder.blocks.1.conv1.0');
    let error: unknown;
    try {
      loadPytorchWeights(b, encodeSafetensors(broken));
    } catch (e) {
      error = e;
    }
    expect(isModelsError(error) && error.code).toBe('WEIGHTS_MISMATCH');
    const message = (error as Error).message;
    expect(message).toContain('1 missing: decoder.blocks.0.conv1.0.weight');
    expect(message).toContain('1 unexpected: decoder.extra.weight');
    expect(message).toContain('segmentation_head.0.weight expected [4, 16, 3, 3] got F32 [3, 16, 3, 3]');
    expect(message).toContain('segmentation_head.0.bias expected [4] got I64 [4]');
    expect(kernelOf(b, 'decoder.blocks.1.conv1.0')).toEqual(before);

    const report = loadPytorchWeights(b, encodeSafetensors(broken), { strict: false });
    expect(report.missing).toEqual(['decoder.blocks.0.conv1.0.weight']);
    expect(report.unexpected).toEqual(['decoder.extra.weight']);
    expect(report.mismatched.map((m) => m.name).sort()).toEqual(['segmentation_head.0.bias', 'segmentation_head.0.weight']);
    expect(kernelOf(b, 'decoder.blocks.1.conv1.0')).toEqual(kernelOf(a, 'decoder.blocks.1.conv1.0'));
  });

  it('rejects an unknown format', () => {
    expect(() => loadPytorchWeights(b, encodeSafetensors(new Map()), { format: 'timm' as 'torchvision' })).toThrow(/Unknown format "timm"/);
  });
});
