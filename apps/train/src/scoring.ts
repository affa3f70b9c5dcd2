import { competitionDice } from '@steel/metrics';

/** Competition Dice of a set of images: mean over (image, class) pairs, and per class. */
export interface DiceScore {
  mean: number;
  perClass: number[];
  images: number;
}

/**
 * Scores predicted masks against true ones with the competition Dice (a pair with both masks empty scores 1).
 * Each array is one image's `[H, W, classes]` 0/1 mask; images may differ in size.
 */
export function scoreMasks(
  preds: readonly Uint8Array[],
  truths: readonly Uint8Array[],
  shape: { height: number; width: number; classes: number },
  sizes?: readonly { height: number; width: number }[],
): DiceScore {
  const { classes } = shape;
  const perClass = new Array<number>(classes).fill(0);
  let total = 0;
  preds.forEach((pred, i) => {
    const size = sizes?.[i] ?? shape;
    const result = competitionDice(pred, truths[i]!, { shape: [size.height, size.width, classes] });
    result.perClass.forEach((d, k) => {
      perClass[k]! += d;
      total += d;
    });
  });
  const n = preds.length;
  return { mean: n === 0 ? Number.NaN : total / (n * classes), perClass: perClass.map((s) => (n === 0 ? Number.NaN : s / n)), images: n };
}

/** The score of predicting no defect anywhere (the competition's all-empty baseline). */
export function emptyBaseline(truths: readonly Uint8Array[], shape: { height: number; width: number; classes: number }): DiceScore {
  return scoreMasks(
    truths.map((t) => new Uint8Array(t.length)),
    truths,
    shape,
  );
}
