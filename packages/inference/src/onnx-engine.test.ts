// The ONNX Runtime engine (onnxruntime-node on a model exported by @steel/onnx) against the tfjs engine on the same model.
import { createModel, type CreateModelOptions } from '@steel/models';
import { exportOnnx } from '@steel/onnx';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { randomImage } from './__fixtures__/models.ts';
import { createOnnxEngine, createPredictor, createTfjsEngine, isInferenceError, type InferenceEngine } from './index.ts';

/** max |a − b| / max |b| over whole arrays. */
function relative(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

async function withEngines(options: CreateModelOptions, f: (tfjs: InferenceEngine, onnx: InferenceEngine) => Promise<void>): Promise<void> {
  const model = createModel({ seed: 7, ...options });
  const session = await ort.InferenceSession.create(exportOnnx(model));
  try {
    await f(createTfjsEngine(model), createOnnxEngine(session, { Tensor: ort.Tensor, inChannels: options.inChannels ?? 3, classes: options.classes ?? 4 }));
  } finally {
    await session.release();
    model.dispose();
  }
}

describe('createOnnxEngine', () => {
  it.each([
    { architecture: 'unet', encoder: 'resnet18', inChannels: 1, classes: 4 },
    { architecture: 'fpn', encoder: 'resnet18', inChannels: 3, classes: 2, classificationHead: true },
  ] as const)('gives the logits and probabilities of the tfjs engine to 1e-4 relative ($architecture, $inChannels channel(s))', async (options) => {
    await withEngines(options, async (tfjs, onnx) => {
      expect([onnx.kind, onnx.inChannels, onnx.classes]).toEqual(['onnxruntime', options.inChannels, options.classes]);
      const batch = { data: Float32Array.from(randomImage(64, 64, options.inChannels * 2, 5).data, (v) => v / 255), shape: [2, 64, 64, options.inChannels] as const };
      const [a, b] = [await onnx.run(batch), await tfjs.run(batch)];
      expect(a.shape).toEqual([2, 64, 64, options.classes]);
      expect(relative(a.data, b.data)).toBeLessThan(1e-4);
      // The whole path (area resize, padding, tiles, TTA) on a 50x230 image at scale 0.5.
      const image = randomImage(50, 230, options.inChannels, 9);
      const opts = { tta: 'hflip', tileWidth: 64 };
      const [p] = await createPredictor([{ engine: onnx, scale: 0.5 }], opts).predict([image]);
      const [q] = await createPredictor([{ engine: tfjs, scale: 0.5 }], opts).predict([image]);
      expect(relative(p!.probs, q!.probs)).toBeLessThan(1e-4);
    });
  }, 60_000);

  it('checks the session and the output it returns', async () => {
    expect(() => createOnnxEngine({} as never, { Tensor: ort.Tensor })).toThrow(/InferenceSession/);
    expect(() => createOnnxEngine({ inputNames: ['image'], outputNames: ['logits'], run: async () => ({}) }, {} as never)).toThrow(/Tensor/);
    const engine = createOnnxEngine({ inputNames: ['image'], outputNames: ['logits'], run: async () => ({}) }, { Tensor: ort.Tensor });
    const error = await engine.run({ data: new Float32Array(32 * 32), shape: [1, 32, 32, 1] }).catch((e: unknown) => e);
    expect(isInferenceError(error) && error.code).toBe('BAD_OUTPUT');
  });
});
