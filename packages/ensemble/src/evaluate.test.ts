import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { channel, referencePostprocess } from './__fixtures__/reference.ts';
import { isEnsembleError } from './errors.ts';
import { createStepEvaluator, formatPooledTable, formatStepTable } from './evaluate.ts';

/** Dice of two binary arrays from its definition, 1 when both are empty. */
function refDice(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let p = 0, t = 0, i = 0;
  for (let j = 0; j < a.length; j++) {
    p += a[j]! > 0 ? 1 : 0;
    t += b[j]! > 0 ? 1 : 0;
    i += a[j]! > 0 && b[j]! > 0 ? 1 : 0;
  }
  return p + t === 0 ? 1 : (2 * i) / (p + t);
}

/** Dataset Dice `2·ΣI / (ΣP + ΣT)` and IoU `ΣI / Σ(P ∪ T)` of pairs of binary arrays, counts summed over the pairs, in float64. */
function refPooled(pairs: readonly [ArrayLike<number>, ArrayLike<number>][]): { dice: number; iou: number } {
  let p = 0, t = 0, i = 0, u = 0;
  for (const [a, b] of pairs) {
    for (let j = 0; j < a.length; j++) {
      const x = a[j]! > 0, y = b[j]! > 0;
      p += x ? 1 : 0;
      t += y ? 1 : 0;
      i += x && y ? 1 : 0;
      u += x || y ? 1 : 0;
    }
  }
  return { dice: p + t === 0 ? 1 : (2 * i) / (p + t), iou: u === 0 ? 1 : i / u };
}

const H = 5, W = 6, C = 2, N = H * W * C;
const probs = fc.array(fc.constantFrom(0.1, 0.3, 0.45, 0.55, 0.7, 0.9), { minLength: N, maxLength: N }).map((a) => Float32Array.from(a));
const image = fc.record({
  truth: fc.array(fc.constantFrom(0, 0, 1), { minLength: N, maxLength: N }).map((a) => Uint8Array.from(a)),
  raw: fc.tuple(probs, probs),
  tta: fc.tuple(probs, probs),
});

describe('createStepEvaluator', () => {
  test.prop([fc.array(image, { minLength: 1, maxLength: 3 })], { numRuns: 30 })('reports Dice per class of every step by its definition', (images) => {
    const rules = [{ threshold: 0.5, minArea: 2 }, { threshold: 0.4, minArea: 0, minMaskArea: 3 }];
    const steps = createStepEvaluator({ height: H, width: W, classes: C, models: ['unet', 'fpn'], weights: [3, 1], postprocess: { classes: rules } });
    for (const s of images) steps.add(s);
    const table = steps.table();
    expect(table.images).toBe(images.length);
    expect(table.rows.map((r) => r.step)).toEqual(['raw unet', 'raw fpn', '+ TTA unet', '+ TTA fpn', 'ensemble (+ TTA)', '+ post-processing']);
    const want = (masksOf: (s: (typeof images)[number], k: number) => ArrayLike<number>) =>
      Array.from({ length: C }, (_, k) => images.reduce((sum, s) => sum + refDice(masksOf(s, k), channel(s.truth, k, C)), 0) / images.length);
    const wantPooled = (masksOf: (s: (typeof images)[number], k: number) => ArrayLike<number>) =>
      Array.from({ length: C }, (_, k) => refPooled(images.map((s) => [masksOf(s, k), channel(s.truth, k, C)])));
    const thr = (p: Float32Array, k: number) => channel(p, k, C).map((v) => (v > 0.5 ? 1 : 0));
    const ens = (s: (typeof images)[number]) => s.tta[0].map((v, j) => 0.75 * v + 0.25 * s.tta[1][j]!);
    const maskSteps: ((s: (typeof images)[number], k: number) => ArrayLike<number>)[] = [
      (s, k) => thr(s.raw[0], k),
      (s, k) => thr(s.raw[1], k),
      (s, k) => thr(s.tta[0], k),
      (s, k) => thr(s.tta[1], k),
      (s, k) => channel(ens(s), k, C).map((v) => (v > 0.5 ? 1 : 0)),
      (s, k) => referencePostprocess(channel(ens(s), k, C), H, W, rules[k]!),
    ];
    const expected = maskSteps.map(want);
    const pooled = maskSteps.map(wantPooled);
    table.rows.forEach((row, r) => {
      row.dice.forEach((d, k) => expect(d).toBeCloseTo(expected[r]![k]!, 6));
      expect(row.mean).toBeCloseTo((expected[r]![0]! + expected[r]![1]!) / 2, 6);
      row.datasetDice.forEach((d, k) => expect(d).toBeCloseTo(pooled[r]![k]!.dice, 12));
      row.iou.forEach((d, k) => expect(d).toBeCloseTo(pooled[r]![k]!.iou, 12));
      expect(row.meanIou).toBeCloseTo((pooled[r]![0]!.iou + pooled[r]![1]!.iou) / 2, 12);
      expect(row.meanDatasetDice).toBeCloseTo((pooled[r]![0]!.dice + pooled[r]![1]!.dice) / 2, 12);
    });
    expect(table.rows[2]!.gain).toBeCloseTo(table.rows[2]!.mean - table.rows[0]!.mean, 12);
    expect(table.rows[4]!.gain).toBeCloseTo(table.rows[4]!.mean - Math.max(table.rows[2]!.mean, table.rows[3]!.mean), 12);
    expect(table.rows[5]!.gain).toBeCloseTo(table.rows[5]!.mean - table.rows[4]!.mean, 12);
  });

  it('adds a "+ gating" row scored with the gated rules and the class probabilities', () => {
    // Two 1x4 images of one class: image 0 has a true defect the model finds (0.9), image 1 is empty but the model paints a
    // 2-pixel false positive (0.8). The gate (classifier 0.1 on image 1) clears image 1; the mask-area rule would too.
    const truth0 = Uint8Array.from([1, 1, 0, 0]);
    const gated = { classes: [{ threshold: 0.5, gate: 0.5 }] };
    const steps = createStepEvaluator({ height: 1, width: 4, classes: 1, models: ['unet'], postprocess: { classes: [{ threshold: 0.5 }] }, gating: gated });
    steps.add({ truth: truth0, raw: [Float32Array.from([0.9, 0.9, 0.1, 0.1])], classProbs: [0.95] });
    steps.add({ truth: new Uint8Array(4), raw: [Float32Array.from([0.1, 0.1, 0.8, 0.8])], classProbs: [0.1] });
    const rows = steps.table().rows;
    expect(rows.map((r) => r.step)).toEqual(['raw unet', '+ post-processing', '+ gating']);
    expect(rows[1]!.mean).toBe(0.5);
    expect(rows[2]!.mean).toBe(1);
    expect(rows[2]!.gain).toBe(0.5);
    const post = { classes: [{ threshold: 0.5 }] };
    expect(() => createStepEvaluator({ height: 1, width: 4, classes: 1, models: ['unet'], postprocess: post, gating: { classes: [{ threshold: 2 }] } })).toThrow(/threshold/);
  });

  it('formats a table the app can print', () => {
    const steps = createStepEvaluator({ height: 1, width: 2, classes: 1, models: ['unet'], postprocess: { classes: [{ threshold: 0.5 }] } });
    steps.add({ truth: [new Uint8Array([1, 0])], raw: [new Float32Array([0.9, 0.9])], tta: [new Float32Array([0.9, 0.1])] });
    expect(formatStepTable(steps.table())).toMatchInlineSnapshot(`
      "1 image
      step               class 1    mean     gain
      raw unet            0.6667  0.6667
      + TTA unet          1.0000  1.0000  +0.3333
      + post-processing   1.0000  1.0000  +0.0000"
    `);
    expect(formatPooledTable(steps.table())).toMatchInlineSnapshot(`
      "step               class 1    mean    mIoU
      raw unet            0.6667  0.6667  0.5000
      + TTA unet          1.0000  1.0000  1.0000
      + post-processing   1.0000  1.0000  1.0000"
    `);
  });

  it('pools pixels over the images for the dataset Dice: an empty image predicted empty adds nothing', () => {
    // Image 0: 4 true pixels, 2 found + 2 false positives; image 1: empty and predicted empty.
    const steps = createStepEvaluator({ height: 1, width: 8, classes: 1, models: ['unet'], postprocess: { classes: [{ threshold: 0.5 }] } });
    steps.add({ truth: Uint8Array.from([1, 1, 1, 1, 0, 0, 0, 0]), raw: [Float32Array.from([0.9, 0.9, 0, 0, 0.9, 0.9, 0, 0])] });
    steps.add({ truth: new Uint8Array(8), raw: [new Float32Array(8)] });
    const raw = steps.table().rows[0]!;
    expect(raw.dice).toEqual([(0.5 + 1) / 2]); // competition Dice: mean over images
    expect(raw.datasetDice).toEqual([0.5]); // 2·2 / (4 + 4)
    expect(raw.iou).toEqual([2 / 6]);
    expect(raw.meanIou).toBe(2 / 6);
  });

  it('rejects a sample with the wrong number of models', () => {
    const steps = createStepEvaluator({ height: 1, width: 2, classes: 1, models: ['unet', 'fpn'] , postprocess: { classes: [{ threshold: 0.5 }] } });
    let error: unknown;
    try {
      steps.add({ truth: new Uint8Array(2), raw: [new Float32Array(2)] });
    } catch (e) {
      error = e;
    }
    expect(isEnsembleError(error) && error.code).toBe('SHAPE_MISMATCH');
  });
});
