import * as tf from '@tensorflow/tfjs-core';
import { input, model as functionalModel } from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { describeSegmentationModel } from '../test/describe-segmentation-model.ts';
import { architectures, countParameters, createModel, encoders, isModelsError, type CreateModelOptions, type EncoderName } from './index.ts';

for (const architecture of Object.keys(architectures) as (keyof typeof architectures)[]) {
  for (const encoder of ['resnet18', 'resnet50'] as const) {
    describeSegmentationModel(
      `${architecture}-${encoder}`,
      ({ inChannels, classes }) => createModel({ architecture, encoder, inChannels, classes, seed: 3 }),
      // ResNet50 models take seconds to build; UNet runs on every test run, FPN with test:slow.
      { slow: encoder === 'resnet50' && architecture === 'fpn' },
    );
  }
}

describe('parameter counts equal PyTorch segmentation_models', () => {
  // sum(p.numel() for p in model.parameters()) with 4 classes, printed by
  // `/usr/bin/python3 packages/models/scripts/pytorch_reference.py --parameters` (torch 1.13, torchvision 0.14).
  it.each([
    ['unet', 'resnet18', 3, 14_328_644],
    ['unet', 'resnet18', 1, 14_322_372],
    ['unet', 'resnet34', 3, 24_436_804],
    ['unet', 'resnet34', 1, 24_430_532],
    ['fpn', 'resnet34', 3, 23_155_780],
    ['fpn', 'resnet34', 1, 23_149_508],
    ['unet', 'resnet50', 3, 32_521_540],
    ['unet', 'resnet50', 1, 32_515_268],
    ['fpn', 'resnet50', 3, 26_116_420],
    ['fpn', 'resnet50', 1, 26_110_148],
  ] as const)('%s-%s with %i input channel(s): %i', (architecture, encoder, inChannels, expected) => {
    const model = createModel({ architecture, encoder, inChannels, classes: 4 });
    try {
      expect(countParameters(model)).toBe(expected);
    } finally {
      model.dispose();
    }
  });

  it('the classification head adds 512 x classes + classes', () => {
    const model = createModel({ architecture: 'unet', encoder: 'resnet18', inChannels: 3, classes: 4, classificationHead: true });
    try {
      expect(countParameters(model)).toBe(14_328_644 + 512 * 4 + 4);
    } finally {
      model.dispose();
    }
  });
});

describe('createModel', () => {
  it('exposes encoder features at strides 2, 4, 8, 16, 32 under torchvision names', () => {
    const model = createModel({ architecture: 'unet', encoder: 'resnet34', inChannels: 1, classes: 4, height: 64, width: 128 });
    try {
      const shapeOf = (name: string) => model.getLayer(name).outputShape;
      expect(shapeOf('encoder.relu')).toEqual([null, 32, 64, 64]);
      expect(shapeOf('encoder.layer1.2.relu2')).toEqual([null, 16, 32, 64]);
      expect(shapeOf('encoder.layer2.3.relu2')).toEqual([null, 8, 16, 128]);
      expect(shapeOf('encoder.layer3.5.relu2')).toEqual([null, 4, 8, 256]);
      expect(shapeOf('encoder.layer4.2.relu2')).toEqual([null, 2, 4, 512]);
      expect(model.outputs[0]!.shape).toEqual([null, 64, 128, 4]);
    } finally {
      model.dispose();
    }
  });

  it.each(Object.keys(encoders) as EncoderName[])('%s yields features f1..f5 at strides 2..32 with its declared channels', (name) => {
    const x = input({ shape: [64, 128, 1] });
    const features = encoders[name].build(x, { seed: 0 });
    const encoder = functionalModel({ inputs: x, outputs: features });
    try {
      expect(features.map((f) => f.shape)).toEqual(
        encoders[name].channels.map((c, i) => [null, 64 / 2 ** (i + 1), 128 / 2 ** (i + 1), c]),
      );
    } finally {
      encoder.dispose();
    }
  });

  it('builds ResNet50 of torchvision Bottlenecks: 1x1, 3x3 with the stride, 1x1 expanding by 4, downsample on each first block', () => {
    const model = createModel({ architecture: 'unet', encoder: 'resnet50', inChannels: 1, classes: 4, height: 64, width: 64 });
    try {
      const kernel = (name: string) => model.getLayer(name).getWeights()[0]!.shape;
      expect(kernel('encoder.layer1.0.conv1')).toEqual([1, 1, 64, 64]);
      expect(kernel('encoder.layer1.0.downsample.0')).toEqual([1, 1, 64, 256]);
      expect(kernel('encoder.layer2.0.conv2')).toEqual([3, 3, 128, 128]);
      expect(model.getLayer('encoder.layer2.0.conv1').outputShape).toEqual([null, 16, 16, 128]);
      expect(model.getLayer('encoder.layer2.0.conv2').outputShape).toEqual([null, 8, 8, 128]);
      expect(kernel('encoder.layer4.2.conv3')).toEqual([1, 1, 512, 2048]);
      expect(model.layers.some((l) => l.name === 'encoder.layer2.1.downsample.0')).toBe(false);
      expect(kernel('decoder.blocks.0.conv1.0')).toEqual([3, 3, 2048 + 1024, 256]);
    } finally {
      model.dispose();
    }
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const weightsOf = (seed: number) => {
      const model = createModel({ architecture: 'fpn', encoder: 'resnet18', inChannels: 1, classes: 2, seed });
      const values = ['encoder.conv1', 'decoder.seg_blocks.0.block.0.block.0', 'segmentation_head.0'].map(
        (name) => model.getLayer(name).getWeights()[0]!.dataSync().slice(0, 8),
      );
      model.dispose();
      return values;
    };
    const a = weightsOf(5);
    expect(weightsOf(5)).toEqual(a);
    expect(weightsOf(6)[0]).not.toEqual(a[0]);
  });

  it('returns [masks, classLogits] with a classification head', () => {
    const model = createModel({ architecture: 'fpn', encoder: 'resnet18', inChannels: 1, classes: 4, classificationHead: { dropout: 0.5 } });
    try {
      const x = tf.zeros([2, 32, 32, 1]);
      const [masks, labels] = model.predict(x) as tf.Tensor[];
      expect(masks!.shape).toEqual([2, 32, 32, 4]);
      expect(labels!.shape).toEqual([2, 4]);
      tf.dispose([x, masks!, labels!]);
    } finally {
      model.dispose();
    }
  });

  const codeOf = (options: unknown) => {
    try {
      createModel(options as CreateModelOptions);
    } catch (error) {
      return isModelsError(error) ? error.code : error;
    }
    return 'no error';
  };

  it.each([
    [{ architecture: 'deeplab', encoder: 'resnet18' }, 'UNKNOWN_NAME'],
    [{ architecture: 'unet', encoder: 'resnet152' }, 'UNKNOWN_NAME'],
    [{ architecture: 'unet', encoder: 'resnet18', inChannels: 0 }, 'INVALID_OPTION'],
    [{ architecture: 'unet', encoder: 'resnet18', classes: 1.5 }, 'INVALID_OPTION'],
    [{ architecture: 'unet', encoder: 'resnet18', seed: Number.NaN }, 'INVALID_OPTION'],
    [{ architecture: 'unet', encoder: 'resnet18', classificationHead: { dropout: 1 } }, 'INVALID_OPTION'],
    [{ architecture: 'unet', encoder: 'resnet18', height: 250, width: 1600 }, 'INVALID_SHAPE'],
    [null, 'INVALID_OPTION'],
  ])('rejects %j with %s', (options, code) => {
    expect(codeOf(options)).toBe(code);
  });

  it('names the choices and the nearest valid size', () => {
    expect(() => createModel({ architecture: 'unet', encoder: 'resnet152' as 'resnet18' })).toThrowErrorMatchingInlineSnapshot(`[ModelsError: Unknown encoder "resnet152"; expected one of: resnet18, resnet34, resnet50.]`);
    expect(() => createModel({ architecture: 'unet', encoder: 'resnet18', height: 250, width: 1600 })).toThrowErrorMatchingInlineSnapshot(`[ModelsError: Expected height and width divisible by 32, got 250x1600; the nearest valid size is 256x1600: pad right/bottom with 0 after normalisation (or resize) and crop the logits back.]`);
  });
});
