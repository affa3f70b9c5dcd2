// The Usage block of README.md, kept compiling and running (with two tfjs engines standing in for the ONNX one).
import { expect, it } from 'vitest';
import { pointwiseModel } from './__fixtures__/models.ts';
import { createPredictor, createTfjsEngine } from './index.ts';

it('runs the README usage', async () => {
  const layersModel = pointwiseModel([[1, -1, 0.5, 2]], [0, 0, 0, 0]);
  const other = pointwiseModel([[2, 1, -0.5, 1]], [0.1, 0, 0, 0]);
  try {
    const greyBytes = new Uint8Array(256 * 1600).fill(128);
    // --- README usage (the ONNX engine replaced) ---
    const predictor = createPredictor(
      [
        { engine: createTfjsEngine(other), scale: 0.5, weight: 2 },
        { engine: createTfjsEngine(layersModel), scale: 0.5, weight: 1 },
      ],
      { tta: 'hflip', tileWidth: 1600 },
    );
    const [map] = await predictor.predict([{ data: greyBytes, height: 256, width: 1600, channels: 1 }]);
    // --- end ---
    expect(map).toMatchObject({ height: 256, width: 1600, classes: 4 });
    expect(map!.probs).toHaveLength(256 * 1600 * 4);
  } finally {
    layersModel.dispose();
    other.dispose();
  }
});
