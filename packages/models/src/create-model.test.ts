import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { describeSegmentationModel } from '../test/describe-segmentation-model';
import { architectures, countParameters, createModel, encoders, isModelsError, type CreateModelOptions } from './index';

for (const architecture of Object.keys(architectures) as (keyof typeof architectures)[]) {
  describeSegmentationModel(`${architecture}-resnet18`, ({ inChannels, classes }) =>
    createModel({ architecture, encoder: 'resnet18', inChannels, classes, seed: 3 }),
  );
}

describe('parameter counts equal PyTorch segmentation_models', () => {
  // sum(p.numel() for p in model.parameters()) for smp.Unet / smp.FPN with 4 classes.
  it.each([
    ['unet', 'resnet18', 3, 14_328_644],
    ['unet', 'resnet18', 1, 14_322_372],
    ['unet', 'resnet34', 3, 24_436_804],
    ['unet', 'resnet34', 1, 24_430_532],
    ['fpn', 'resnet34', 3, 23_155_780],
    ['fpn', 'resnet34', 1, 23_149_508],
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
      expect(encoders.resnet34.channels).toEqual([64, 64, 128, 256, 512]);
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
    [{ architecture: 'unet', encoder: 'resnet50' }, 'UNKNOWN_NAME'],
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
    expect(() => createModel({ architecture: 'unet', encoder: 'resnet50' as 'resnet18' })).toThrowErrorMatchingInlineSnapshot(`[ModelsError: Unknown encoder "resnet50"; expected one of: resnet18, resnet34.]`);
    expect(() => createModel({ architecture: 'unet', encoder: 'resnet18', height: 250, width: 1600 })).toThrowErrorMatchingInlineSnapshot(`[ModelsError: Expected height and width divisible by 32, got 250x1600; the nearest valid size is 256x1600: pad right/bottom with 0 after normalisation (or resize) and crop the logits back.]`);
  });
});
