// The README's usage, kept compiling and running.
import { expect, it } from 'vitest';
import { competitionDice, confusionCounts, createDiceAccumulator, dice, iouScore } from './index.ts';

it('README usage', () => {
  const shape = [2, 256, 1600, 4]; // [batch, height, width, classes], channel-last
  const probabilities = new Float32Array(2 * 256 * 1600 * 4); // e.g. sigmoid(logits).dataSync()
  const masks = new Uint8Array(2 * 256 * 1600 * 4); // 0/1 targets

  dice(new Uint8Array([1, 1, 0]), new Uint8Array([1, 0, 0])); // 0.667 for one mask pair
  const { score, perClass } = competitionDice(probabilities, masks, { shape, threshold: 0.5 });
  const counts = confusionCounts(probabilities, masks, { shape });
  const meanIou = iouScore(counts, { reduction: 'macro-imagewise', zeroDivision: 1 });

  const acc = createDiceAccumulator({ classes: 4 }); // a validation pass, batch by batch
  acc.add(probabilities, masks, { shape });
  const { dice: valDice, dicePerClass, micro } = acc.summary();

  expect([score, ...perClass, meanIou, valDice, ...dicePerClass, micro.precision]).toEqual(new Array(12).fill(1));
});
