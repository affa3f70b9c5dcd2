import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { createRng, resize } from '@steel/transforms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convModel, pointwiseModel, randomImage } from './__fixtures__/models.ts';
import { createPredictor, createTfjsEngine, isInferenceError, type InferenceImage, type ProbabilityMap } from './index.ts';
import { resizeBatch, toInputBatch } from './pipeline.ts';

// Float64 references, written independently of @steel/transforms' taps.
function areaRef(src: Float64Array, h: number, w: number, c: number, oh: number, ow: number): Float64Array {
  const axis = (n: number, m: number) => {
    const s = n / m;
    return Array.from({ length: m }, (_, o) => {
      const taps: [number, number][] = [];
      for (let i = 0; i < n; i++) {
        const overlap = Math.min(i + 1, (o + 1) * s) - Math.max(i, o * s);
        if (overlap > 1e-12) taps.push([i, overlap / s]);
      }
      return taps;
    });
  };
  return separableRef(src, h, w, c, axis(h, oh), axis(w, ow));
}
function bilinearRef(src: Float64Array, h: number, w: number, c: number, oh: number, ow: number): Float64Array {
  const axis = (n: number, m: number) =>
    Array.from({ length: m }, (_, o) => {
      const x = Math.max((o + 0.5) * (n / m) - 0.5, 0);
      const i0 = Math.min(Math.floor(x), n - 1);
      const i1 = Math.min(i0 + 1, n - 1);
      const f = x - i0;
      return [[i0, 1 - f], [i1, f]] as [number, number][];
    });
  return separableRef(src, h, w, c, axis(h, oh), axis(w, ow));
}
function separableRef(src: Float64Array, h: number, w: number, c: number, rows: [number, number][][], cols: [number, number][][]): Float64Array {
  const out = new Float64Array(rows.length * cols.length * c);
  rows.forEach((rt, r) =>
    cols.forEach((ct, x) => {
      for (let k = 0; k < c; k++) {
        let acc = 0;
        for (const [i, wi] of rt) for (const [j, wj] of ct) acc += wi * wj * src[(i * w + j) * c + k]!;
        out[(r * cols.length + x) * c + k] = acc;
      }
    }),
  );
  return out;
}
const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
function flipImage<T extends { data: ArrayLike<number>; height: number; width: number }>(im: T, channels: number, make: (n: number) => T['data'] & { [i: number]: number }): T['data'] {
  const out = make(im.data.length);
  for (let r = 0; r < im.height; r++) for (let x = 0; x < im.width; x++) for (let k = 0; k < channels; k++) out[(r * im.width + x) * channels + k] = im.data[(r * im.width + (im.width - 1 - x)) * channels + k]!;
  return out;
}

const A = [[2.5, -1.5]];
const B = [0.1, -0.3];
let pointwise: LayersModel;
let pointwise3: LayersModel;
let conv: LayersModel;
beforeAll(() => {
  pointwise = pointwiseModel(A, B);
  pointwise3 = pointwiseModel([[1], [-2], [0.5]], [0.2]);
  conv = convModel(1, 3);
});
afterAll(() => {
  for (const m of [pointwise, pointwise3, conv]) m.dispose();
});

describe('createPredictor', () => {
  it.each([
    { height: 50, width: 70, scale: 0.5 },
    { height: 37, width: 45, scale: 1 },
    { height: 64, width: 96, scale: 0.3 },
  ])('normalises, area-resizes, pads, crops, resizes back and applies the sigmoid like a float64 reference ($height x $width, scale $scale)', async ({ height, width, scale }) => {
    const image = randomImage(height, width, 1, height);
    const [map] = await createPredictor([{ engine: createTfjsEngine(pointwise), scale }]).predict([image]);
    const oh = Math.round(height * scale);
    const ow = Math.round(width * scale);
    const x = areaRef(Float64Array.from(image.data, (v) => v / 255), height, width, 1, oh, ow);
    const logits = new Float64Array(oh * ow * 2);
    for (let p = 0; p < oh * ow; p++) for (let k = 0; k < 2; k++) logits[p * 2 + k] = A[0]![k]! * x[p]! + B[k]!;
    const expected = Array.from(bilinearRef(logits, oh, ow, 2, height, width), sigmoid);
    expect(map).toMatchObject({ height, width, classes: 2 });
    expect(maxDiff(map!.probs, expected)).toBeLessThan(1e-5);
  });

  it('pads after normalisation with 0 and crops back: equal to the network run on the zero-padded normalised image', async () => {
    const image = randomImage(37, 45, 1, 3);
    const normalization = { scale: 1 / 255, mean: 0.4, std: 0.2 };
    const [map] = await createPredictor([{ engine: createTfjsEngine(conv), normalization }]).predict([image]);
    const expected = tf.tidy(() => {
      const x = tf.div(tf.sub(tf.div(tf.tensor4d(Float32Array.from(image.data), [1, 37, 45, 1]), 255), 0.4), 0.2);
      const padded = tf.pad(x, [[0, 0], [0, 27], [0, 19], [0, 0]]);
      return tf.sigmoid(tf.slice(conv.predict(padded) as tf.Tensor4D, [0, 0, 0, 0], [1, 37, 45, 3]));
    });
    expect(maxDiff(map!.probs, expected.dataSync())).toBeLessThan(1e-6);
    expect(Math.abs(map!.probs[0]! - expected.dataSync()[0]!)).toBeLessThan(1e-6);
    expected.dispose();
  });

  it('uses the same area filter as the training images (resize of the bytes, then / 255), within the bytes rounding', () => {
    const image = randomImage(64, 400, 1, 7);
    const training = resize({ height: 32, width: 200, method: 'area' })({ image: image.data, mask: new Uint8Array(0), height: 64, width: 400, channels: 1, maskChannels: 0 }, createRng(0));
    const inference = resizeBatch(toInputBatch([image], 1), 32, 200, 'area');
    expect(maxDiff(inference.data, Float32Array.from(training.image, (v) => v / 255))).toBeLessThanOrEqual(0.5 / 255 + 1e-6);
  });

  it('converts channels: an RGB image for a grey model by the channel mean, a grey image for an RGB model by repeating it', async () => {
    const grey = randomImage(32, 32, 1, 5);
    const rgb = { ...grey, channels: 3, data: Uint8Array.from({ length: 32 * 32 * 3 }, (_, i) => grey.data[Math.floor(i / 3)]!) };
    const greyModel = createPredictor([{ engine: createTfjsEngine(pointwise) }]);
    const [a, b] = await greyModel.predict([grey, rgb]);
    expect(maxDiff(a!.probs, b!.probs)).toBeLessThan(1e-6);
    const rgbModel = createPredictor([{ engine: createTfjsEngine(pointwise3) }]);
    expect(rgbModel.channels).toBe(3);
    const [c, d] = await rgbModel.predict([grey, rgb]);
    expect(maxDiff(c!.probs, d!.probs)).toBeLessThan(1e-6);
  });

  it('TTA leaves a flip-equivariant (pointwise) model unchanged, and makes any model equivariant to the flips', async () => {
    const image = randomImage(40, 70, 1, 9);
    const plain = await createPredictor([{ engine: createTfjsEngine(pointwise), scale: 0.7 }]).predict([image]);
    const withTta = await createPredictor([{ engine: createTfjsEngine(pointwise), scale: 0.7 }], { tta: 'hflip,vflip,hvflip' }).predict([image]);
    expect(maxDiff(plain[0]!.probs, withTta[0]!.probs)).toBeLessThan(1e-6);

    // A 3x3 convolution model is not flip-equivariant; with every flip averaged in, its prediction of a flipped image is the
    // flipped prediction (64x96: no padding, which would break the symmetry).
    const square = randomImage(64, 96, 1, 11);
    const flipped = { ...square, data: flipImage(square, 1, (n) => new Uint8Array(n)) as Uint8Array };
    const tta = createPredictor([{ engine: createTfjsEngine(conv) }], { tta: ['hflip', 'vflip', 'hvflip'] });
    const [p, q] = await tta.predict([square, flipped]);
    const back = flipImage({ data: q!.probs, height: 64, width: 96 }, 3, (n) => new Float32Array(n));
    expect(maxDiff(p!.probs, back)).toBeLessThan(1e-5);
    const noTta = await createPredictor([{ engine: createTfjsEngine(conv) }]).predict([square, flipped]);
    expect(maxDiff(noTta[0]!.probs, flipImage({ data: noTta[1]!.probs, height: 64, width: 96 }, 3, (n) => new Float32Array(n)))).toBeGreaterThan(1e-3);
  });

  it.each([
    { width: 300, tileWidth: 96, scale: 1 },
    { width: 1000, tileWidth: 160, scale: 0.5 },
  ])('tiles an image $width wide (tiles of $tileWidth) with the same result as one piece when the receptive field fits the overlap', async ({ width, tileWidth, scale }) => {
    const image = randomImage(64, width, 1, width);
    const whole = await createPredictor([{ engine: createTfjsEngine(conv), scale }]).predict([image]);
    const tiled = await createPredictor([{ engine: createTfjsEngine(conv), scale }], { tileWidth, overlap: 64 }).predict([image]);
    // Two 3x3 convolutions see 2 columns each side; each tile drops 32 at its inner borders.
    expect(maxDiff(whole[0]!.probs, tiled[0]!.probs)).toBeLessThan(1e-6);
  });

  it('combines models by weight (the @steel/ensemble mean)', async () => {
    const image = randomImage(32, 64, 1, 2);
    const one = await createPredictor([{ engine: createTfjsEngine(pointwise) }]).predict([image]);
    const two = await createPredictor([{ engine: createTfjsEngine(conv) }], {}).predict([image]);
    expect(two[0]!.classes).toBe(3);
    const other = pointwiseModel([[-1, 0.5]], [0.3, 0.2]);
    try {
      const third = await createPredictor([{ engine: createTfjsEngine(other) }]).predict([image]);
      const [mixed] = await createPredictor([
        { engine: createTfjsEngine(pointwise), weight: 1 },
        { engine: createTfjsEngine(other), weight: 3 },
      ]).predict([image]);
      const expected = one[0]!.probs.map((v, i) => 0.25 * v + 0.75 * third[0]!.probs[i]!);
      expect(maxDiff(mixed!.probs, expected)).toBeLessThan(1e-6);
    } finally {
      other.dispose();
    }
  });

  it('predicts a batch of mixed sizes image by image at each image\'s own size', async () => {
    const images = [randomImage(32, 40, 1, 1), randomImage(32, 40, 1, 2), randomImage(50, 20, 1, 3)];
    const predictor = createPredictor([{ engine: createTfjsEngine(pointwise), scale: 0.5 }]);
    const all = await predictor.predict(images);
    const single = await Promise.all(images.map(async (im) => (await predictor.predict([im]))[0]!));
    expect(all.map((m: ProbabilityMap) => [m.height, m.width])).toEqual([[32, 40], [32, 40], [50, 20]]);
    all.forEach((m, i) => expect(maxDiff(m.probs, single[i]!.probs)).toBeLessThan(1e-6));
  });
});

describe('errors', () => {
  const code = async (f: () => unknown) => {
    try {
      await f();
    } catch (error) {
      expect(isInferenceError(error), String(error)).toBe(true);
      return (error as { code: string; message: string }).code;
    }
    return 'none';
  };
  const good: InferenceImage = randomImage(32, 32, 1);
  it.each([
    { what: 'a short data array', image: { ...good, data: new Uint8Array(10) } },
    { what: '2 channels', image: { ...good, channels: 2, data: new Uint8Array(32 * 32 * 2) } },
    { what: 'float data', image: { ...good, data: new Float32Array(32 * 32) as unknown as Uint8Array } },
    { what: 'a zero height', image: { ...good, height: 0 } },
  ])('rejects an image with $what as INVALID_IMAGE', async ({ image }) => {
    expect(await code(() => createPredictor([{ engine: createTfjsEngine(pointwise) }]).predict([image]))).toBe('INVALID_IMAGE');
  });
  it('rejects a model/image channel mismatch without conversion, and classes that differ from the data or between models', async () => {
    const rgb = randomImage(32, 32, 3);
    expect(await code(() => createPredictor([{ engine: createTfjsEngine(pointwise) }], { convertChannels: false }).predict([rgb]))).toBe('CHANNEL_MISMATCH');
    expect(await code(() => createPredictor([{ engine: createTfjsEngine(pointwise) }], { classes: 4 }))).toBe('CLASS_MISMATCH');
    expect(await code(() => createPredictor([{ engine: createTfjsEngine(pointwise) }, { engine: createTfjsEngine(conv) }]))).toBe('CLASS_MISMATCH');
    expect(await code(() => createPredictor([]))).toBe('INVALID_OPTION');
    expect(await code(() => createPredictor([{ engine: createTfjsEngine(pointwise), scale: 0 }]))).toBe('INVALID_OPTION');
  });
  it('names the model and both class counts in the message', async () => {
    await expect(async () => createPredictor([{ engine: createTfjsEngine(pointwise), name: 'runs/a' }], { classes: 4 })).rejects.toThrow(
      'runs/a predicts 2 classes but the data has 4; use models trained for these classes.',
    );
  });
});
