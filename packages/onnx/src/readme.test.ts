// The README's Usage section, kept compiling (typecheck) and running.
import { expect, it } from 'vitest';
// ---- README Usage (begin) ----
import { createModel } from '@steel/models';
import { describeOnnxModel, exportOnnx, readOnnxMetadata } from '@steel/onnx';
import * as ort from 'onnxruntime-node'; // or onnxruntime-web in a browser

async function usage() {
  const model = createModel({ architecture: 'unet', encoder: 'resnet34', inChannels: 1, classes: 4 });
  const bytes = exportOnnx(model, { metadata: { classes: '4', normalisation: JSON.stringify({ mean: 0.34, std: 0.14 }) } });
  describeOnnxModel(bytes).inputs; // [{ name: 'image', shape: ['N', 1, 'H', 'W'] }]
  readOnnxMetadata(bytes).classes; // '4'

  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 2, graphOptimizationLevel: 'all' });
  const image = new ort.Tensor('float32', new Float32Array(1 * 1 * 256 * 1600), [1, 1, 256, 1600]); // normalised, NCHW
  const { logits } = await session.run({ image }); // logits.dims: [1, 4, 256, 1600]
  // ---- README Usage (end) ----
  return { model, bytes, logits };
}

it('README usage runs', async () => {
  const { model, bytes, logits } = await usage();
  expect(describeOnnxModel(bytes).inputs).toEqual([{ name: 'image', shape: ['N', 1, 'H', 'W'] }]);
  expect(readOnnxMetadata(bytes).classes).toBe('4');
  expect(logits!.dims).toEqual([1, 4, 256, 1600]);
  model.dispose();
});
