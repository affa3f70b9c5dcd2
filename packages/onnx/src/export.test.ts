// Exactness of the export: for every architecture x encoder x input channels x classification head, the ONNX model in
// onnxruntime-node equals the tfjs model on the same input, whole tensors, to 1e-4 relative (max |diff| / max |output|).
import * as tf from '@tensorflow/tfjs-core';
import { input, layers, model as buildModel, sequential } from '@tensorflow/tfjs-layers';
import { architectures, createModel, encoders, type ArchitectureName, type EncoderName } from '@steel/models';
import { describe, expect, it } from 'vitest';
import { createSession, makeInput, randomizeNormalization, relativeError, runOrt, runTfjs } from '../test/ort.ts';
import { describeOnnxModel, exportOnnx, isOnnxError, readOnnxMetadata } from './index.ts';

const TOLERANCE = 1e-4;
const SHAPE = (c: number): [number, number, number, number] => [2, c, 64, 96];

const cases = (Object.keys(architectures) as ArchitectureName[]).flatMap((architecture) =>
  (Object.keys(encoders) as EncoderName[]).flatMap((encoder) => [1, 3].map((inChannels) => ({ architecture, encoder, inChannels }))),
);

describe('exportOnnx → onnxruntime equals tfjs', () => {
  // The deepest encoder's cases are tagged slow (test:slow) to keep the default suite short; they export the same classes.
  for (const { architecture, encoder, inChannels } of cases) {
    it(`${architecture}-${encoder}, ${inChannels} channel(s), with and without classification head`, { tags: encoder === 'resnet50' ? ['slow'] : [] }, async () => {
      const model = createModel({ architecture, encoder, inChannels, classes: 4, classificationHead: true, seed: 5 });
      // The model createModel builds without the head is this graph minus the head's layers.
      const noHead = buildModel({ inputs: model.inputs, outputs: model.outputs[0]!, name: model.name });
      const { nchw, nhwc } = makeInput(SHAPE(inChannels));
      try {
        randomizeNormalization(model, 11);
        const expected = runTfjs(model, nhwc);
        for (const [m, head] of [[model, true], [noHead, false]] as const) {
          const bytes = exportOnnx(m);
          const described = describeOnnxModel(bytes);
          expect(described.inputs).toEqual([{ name: 'image', shape: ['N', inChannels, 'H', 'W'] }]);
          expect(described.outputs).toEqual([
            { name: 'logits', shape: ['N', 4, 'H', 'W'] },
            ...(head ? [{ name: 'class_logits', shape: ['N', 4] }] : []),
          ]);
          const out = await runOrt(await createSession(bytes), nchw, SHAPE(inChannels));
          expect(Object.keys(out).sort()).toEqual(head ? ['class_logits', 'logits'] : ['logits']);
          expect(out['logits']!.dims).toEqual([2, 4, 64, 96]);
          const errors = [relativeError(out['logits']!.data, expected[0]!)];
          if (head) {
            expect(out['class_logits']!.dims).toEqual([2, 4]);
            errors.push(relativeError(out['class_logits']!.data, expected[1]!));
          }
          console.log(`${architecture}-${encoder} c${inChannels} head=${head}: relative errors ${errors.map((e) => e.toExponential(2)).join(', ')}`);
          for (const e of errors) expect(e).toBeLessThan(TOLERANCE);
        }
      } finally {
        model.dispose();
        nhwc.dispose();
      }
    });
  }
});

/** A small model of the same layer classes, for tests about options and metadata. */
function tinyModel() {
  const x = input({ shape: [null, null, 1] as unknown as number[] });
  const y = layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same', name: 'segmentation_head.0' }).apply(x);
  return buildModel({ inputs: x, outputs: y as never, name: 'tiny' });
}

describe('exportOnnx', () => {
  it('takes any batch, height and width (multiples of 32) through one session', async () => {
    const model = createModel({ architecture: 'fpn', encoder: 'resnet18', inChannels: 1, classes: 3, seed: 2 });
    try {
      randomizeNormalization(model, 3);
      const session = await createSession(exportOnnx(model));
      for (const shape of [[1, 1, 32, 160], [3, 1, 96, 64]] as [number, number, number, number][]) {
        const { nchw, nhwc } = makeInput(shape, shape[0]);
        const expected = runTfjs(model, nhwc)[0]!;
        nhwc.dispose();
        const out = (await runOrt(session, nchw, shape))['logits']!;
        expect(out.dims).toEqual([shape[0], 3, shape[2], shape[3]]);
        expect(relativeError(out.data, expected)).toBeLessThan(TOLERANCE);
      }
    } finally {
      model.dispose();
    }
  });

  it('folds batch norm into the convolutions within tolerance, and writes BatchNorm as Mul/Add when told not to', async () => {
    const model = createModel({ architecture: 'unet', encoder: 'resnet18', inChannels: 3, classes: 4, seed: 4 });
    const { nchw, nhwc } = makeInput(SHAPE(3));
    try {
      randomizeNormalization(model, 5);
      const expected = runTfjs(model, nhwc)[0]!;
      const folded = exportOnnx(model);
      const unfolded = exportOnnx(model, { foldBatchNorm: false });
      // Folding drops the 4 batch-norm vectors of every BN layer (and their Mul/Add nodes).
      expect(unfolded.length).toBeGreaterThan(folded.length);
      for (const bytes of [folded, unfolded]) {
        const out = await runOrt(await createSession(bytes), nchw, SHAPE(3));
        expect(relativeError(out['logits']!.data, expected)).toBeLessThan(TOLERANCE);
      }
    } finally {
      model.dispose();
      nhwc.dispose();
    }
  });

  it('converts other layer classes tfjs models use (same-padded strided conv, activations, pooling, dense on flatten)', async () => {
    const x = input({ shape: [null, null, 2] as unknown as number[] });
    let y = layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu6', useBias: true }).apply(x);
    y = layers.batchNormalization({ epsilon: 1e-3 }).apply(y);
    const a = layers.averagePooling2d({ poolSize: 2, strides: 2, padding: 'same' }).apply(y);
    const b = layers.maxPooling2d({ poolSize: 2, padding: 'valid' }).apply(layers.leakyReLU({ alpha: 0.2 }).apply(y));
    y = layers.multiply().apply([layers.activation({ activation: 'sigmoid' }).apply(a), b] as never);
    y = layers.upSampling2d({ size: [2, 2], interpolation: 'bilinear' }).apply(y);
    const pooled = layers.dense({ units: 3, activation: 'tanh' }).apply(layers.globalMaxPooling2d({}).apply(y));
    const model = buildModel({ inputs: x, outputs: [y, pooled] as never });
    const { nchw, nhwc } = makeInput([2, 2, 32, 64]);
    try {
      randomizeNormalization(model, 9);
      const expected = runTfjs(model, nhwc);
      const out = await runOrt(await createSession(exportOnnx(model, { opset: 13 })), nchw, [2, 2, 32, 64]);
      expect(relativeError(out['logits']!.data, expected[0]!)).toBeLessThan(TOLERANCE);
      expect(relativeError(out['class_logits']!.data, expected[1]!)).toBeLessThan(TOLERANCE);
    } finally {
      model.dispose();
      nhwc.dispose();
    }
  });

  it('stores metadata as metadata_props and reads it back', () => {
    const model = tinyModel();
    try {
      const metadata = { classes: '4', normalisation: JSON.stringify({ mean: 0.34, std: 0.14 }), 'rules.json': '{"1":{"threshold":0.5}}' };
      expect(readOnnxMetadata(exportOnnx(model, { metadata }))).toEqual(metadata);
    } finally {
      model.dispose();
    }
  });

  it('refuses bad options and unsupported layers with an OnnxError naming them', () => {
    const model = tinyModel();
    const catchError = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return error;
      }
      throw new Error('did not throw');
    };
    try {
      const badOpset = catchError(() => exportOnnx(model, { opset: 9 }));
      expect(isOnnxError(badOpset) && badOpset.code).toBe('INVALID_OPTION');
      expect((badOpset as Error).message).toContain('from 13 to 21, got 9');
      const badMeta = catchError(() => exportOnnx(model, { metadata: { classes: 4 as unknown as string } }));
      expect(isOnnxError(badMeta) && badMeta.code).toBe('INVALID_OPTION');
    } finally {
      model.dispose();
    }
    const x = input({ shape: [8, 8, 1] });
    const odd = buildModel({ inputs: x, outputs: layers.conv2dTranspose({ filters: 1, kernelSize: 2, name: 'up_conv' }).apply(x) as never });
    try {
      const error = catchError(() => exportOnnx(odd));
      expect(isOnnxError(error) && error.code).toBe('UNSUPPORTED_LAYER');
      expect((error as Error).message).toMatch(/"up_conv".*Conv2DTranspose; supported: .*Conv2D/);
    } finally {
      odd.dispose();
    }
  });

  it('exports a tf.sequential model, and names the layer and class it cannot convert', async () => {
    const conv = () => layers.conv2d({ inputShape: [32, 32, 1], filters: 2, kernelSize: 3, padding: 'same', name: 'conv' });
    const plain = sequential({ layers: [conv(), layers.reLU({ name: 'relu' })] });
    const { nchw, nhwc } = makeInput([2, 1, 32, 32]);
    try {
      const out = await runOrt(await createSession(exportOnnx(plain)), nchw, [2, 1, 32, 32]);
      expect(relativeError(out['logits']!.data, runTfjs(plain, nhwc)[0]!)).toBeLessThan(TOLERANCE);
    } finally {
      plain.dispose();
      nhwc.dispose();
    }
    const noisy = sequential({ layers: [conv(), layers.separableConv2d({ filters: 2, kernelSize: 3, name: 'separable' })] });
    try {
      expect(() => exportOnnx(noisy)).toThrow(expect.objectContaining({ name: 'OnnxError', code: 'UNSUPPORTED_LAYER' }));
      expect(() => exportOnnx(noisy)).toThrow(/^Cannot export layer "separable": no ONNX form for class SeparableConv2D; supported: /);
    } finally {
      noisy.dispose();
    }
  });
});

// Keeps tf referenced for the leak check's engine.
void tf;
