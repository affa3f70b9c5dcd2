import { join } from 'node:path';
import { expect, it } from 'vitest';
import { tempDir } from './__fixtures__/paths.ts';
import { computeEda, createLoader, formatEda, generateSyntheticDataset, holdoutSplit, openKaggleDataset } from './index.ts';

it('README usage runs', async () => {
  const dir = join(await tempDir('readme'), 'synthetic');
  await generateSyntheticDataset({ dir, count: 6, testCount: 2, seed: 1, height: 32, width: 200 });
  const dataset = await openKaggleDataset(dir);
  expect(formatEda(computeEda(dataset.images))).toContain('| class |');
  const split = holdoutSplit(dataset.images.map((e) => e.id), { validFraction: 0.2, seed: 1 });
  const loader = createLoader({ dataset, ids: split.train, batchSize: 2, seed: 1, workers: 0 });
  let n = 0;
  for await (const batch of loader) {
    expect(batch.imageShape.slice(1)).toEqual([32, 200, 1]);
    expect(batch.maskShape.slice(1)).toEqual([32, 200, 4]);
    n += batch.ids.length;
  }
  expect(n).toBe(split.train.length);
});
