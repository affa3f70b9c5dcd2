// The classification heads' probabilities: each tfjs model fed with its own normalisation and working size, .onnx members
// (no head output) left out; checked against the model run by hand on the same input.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTrainConfig } from './config.ts';
import { createClassifier, tensorClassifier } from './gating.ts';
import { splitOutputs } from './head.ts';
import type { Member } from './inference.ts';
import { buildModel } from './builders.ts';

const identity = { architecture: 'fpn', encoder: 'resnet18', inChannels: 3, classes: 4, classificationHead: true };
const normalization = { scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

describe('createClassifier', () => {
  let model: LayersModel;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    model = await buildModel(parseTrainConfig({ architecture: 'fpn', encoder: 'resnet18', inChannels: 3, classificationHead: true }), 4);
  }, 120_000);
  afterAll(() => model.dispose());

  const member = (over: Partial<Member>): Member => ({ path: 'm', model, onnx: undefined, identity, scale: 1, normalization, config: undefined, ...over });
  const images = [0, 1].map((i) => ({ data: Uint8Array.from({ length: 32 * 64 * 3 }, (_, p) => (p * 37 + i * 101) % 256), height: 32, width: 64, channels: 3 }));

  it('applies the member\'s normalisation and skips .onnx members', async () => {
    const classify = createClassifier([member({}), member({ model: undefined, onnx: new Uint8Array(1) })])!;
    const got = await classify(images);
    const want = tf.tidy(() => {
      const bytes = tf.tensor4d(images.flatMap((im) => [...im.data]), [2, 32, 64, 3]);
      const x = tf.div(tf.sub(tf.div(bytes, 255), tf.tensor1d(normalization.mean)), tf.tensor1d(normalization.std)) as tf.Tensor4D;
      return tf.sigmoid(splitOutputs(model.predict(x) as tf.Tensor[]).classLogits!).arraySync() as number[][];
    });
    expect(got).toHaveLength(2);
    got.forEach((p, i) => p.forEach((v, k) => expect(v).toBeCloseTo(want[i]![k]!, 4)));
    const raw = await createClassifier([member({ normalization: {} })])!(images);
    expect(Math.max(...raw.map((p, i) => Math.max(...p.map((v, k) => Math.abs(v - got[i]![k]!)))))).toBeGreaterThan(1e-4);
    const x = tf.tensor4d(images.flatMap((im) => [...im.data]), [2, 32, 64, 3], 'int32');
    const asTensor = await tensorClassifier(classify)(x);
    expect(asTensor.shape).toEqual([2, 4]);
    expect(Array.from(await asTensor.data())).toEqual(got.flatMap((p) => [...p]));
    tf.dispose([x, asTensor]);
  });

  it('is undefined when no member has a head a tfjs model carries', () => {
    expect(createClassifier([member({ model: undefined, onnx: new Uint8Array(1) })])).toBeUndefined();
    expect(createClassifier([member({ identity: { ...identity, classificationHead: false } })])).toBeUndefined();
  });
});
