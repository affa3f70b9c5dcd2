import { beforeAll, describe, expect, it } from 'vitest';
import { FLIP_MODULE, needSeverstal, SEVERSTAL_SAMPLE, tempDir } from './__fixtures__/paths.ts';
import { decodeMask, type KaggleDataset, openKaggleDataset } from './dataset.ts';
import { isDataError } from './errors.ts';
import { readImage } from './image.ts';
import { type Batch, createLoader, type LoaderOptions } from './loader.ts';
import { generateSyntheticDataset } from './synthetic.ts';

const HAS_SEVERSTAL = needSeverstal('The severstal-sample loader tests of @steel/data');

let dataset: KaggleDataset;
beforeAll(async () => {
  const dir = await tempDir('loader');
  await generateSyntheticDataset({ dir, count: 10, height: 32, width: 96, seed: 4 });
  dataset = await openKaggleDataset(dir);
});

async function collect(options: Partial<LoaderOptions>): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const batch of createLoader({ dataset, batchSize: 3, ...options })) out.push(batch);
  return out;
}

const flip = { module: FLIP_MODULE, exportName: 'createFlip', options: { width: 64 } };

// Workers started from source register tsx first, which takes seconds on a loaded 2-core machine.
const WORKER_TIMEOUT = 180_000;

describe('createLoader', () => {
  it('yields NHWC batches whose pixels and masks match the files', async () => {
    const batches = await collect({ shuffle: false });
    expect(batches.map((b) => b.imageShape)).toEqual([[3, 32, 96, 1], [3, 32, 96, 1], [3, 32, 96, 1], [1, 32, 96, 1]]);
    expect(batches[0]!.maskShape).toEqual([3, 32, 96, 4]);
    const second = dataset.images[1]!;
    const decoded = await readImage(second.file);
    const size = 32 * 96;
    expect(Array.from(batches[0]!.images.subarray(size, 2 * size))).toEqual(Array.from(decoded.data, (v) => v / 255).map((v) => Math.fround(v)));
    expect(batches[0]!.masks.subarray(size * 4, 2 * size * 4)).toEqual(decodeMask(second, dataset));
    expect(await collect({ shuffle: false, dropLast: true })).toHaveLength(3);
  });

  it('shuffles reproducibly per seed and epoch, covering every image once per epoch', async () => {
    const a = await collect({ seed: 9, epochs: 2 });
    const b = await collect({ seed: 9, epochs: 2 });
    expect(a.map((x) => x.ids)).toEqual(b.map((x) => x.ids));
    expect(a.map((x) => x.epoch)).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    const epoch0 = a.filter((x) => x.epoch === 0).flatMap((x) => x.ids);
    const epoch1 = a.filter((x) => x.epoch === 1).flatMap((x) => x.ids);
    expect([...epoch0].sort()).toEqual(dataset.images.map((e) => e.id));
    expect(epoch0).not.toEqual(epoch1);
    expect((await collect({ seed: 10 })).map((x) => x.ids)).not.toEqual(a.slice(0, 4).map((x) => x.ids));
    // Resuming at epoch 1 gives epoch 1's batches.
    expect((await collect({ seed: 9, startEpoch: 1 })).map((x) => x.ids)).toEqual(a.slice(4).map((x) => x.ids));
  });

  it('gives identical batches on worker threads and in this thread, with a transform module', async () => {
    const inThread = await collect({ seed: 3, transform: flip });
    const { createFlip } = await import('./__fixtures__/flip-transform.ts');
    const asFunction = await collect({ seed: 3, transform: createFlip({ width: 64 }) });
    const workers = await collect({ seed: 3, transform: flip, workers: 2, maxInFlight: 7 });
    expect(inThread[0]!.imageShape).toEqual([3, 32, 64, 1]);
    for (const other of [asFunction, workers]) {
      expect(other.map((x) => x.ids)).toEqual(inThread.map((x) => x.ids));
      other.forEach((batch, i) => {
        expect(batch.images).toEqual(inThread[i]!.images);
        expect(batch.masks).toEqual(inThread[i]!.masks);
      });
    }
  }, WORKER_TIMEOUT);

  it('terminates its workers on return() and at the end', async () => {
    const loader = createLoader({ dataset, batchSize: 2, workers: 2, epochs: 5 });
    expect(loader.activeWorkers).toBe(0);
    const first = await loader.next();
    expect(first.done).toBe(false);
    expect(loader.activeWorkers).toBe(2);
    await loader.return();
    expect(loader.activeWorkers).toBe(0);
    expect((await loader.next()).done).toBe(true);
    const full = createLoader({ dataset, batchSize: 5, workers: 1 });
    for await (const batch of full) expect(batch.ids).toHaveLength(5);
    expect(full.activeWorkers).toBe(0);
  }, WORKER_TIMEOUT);

  it('keeps at most maxInFlight samples decoded ahead of the consumer', async () => {
    let started = 0;
    let worst = 0;
    let handedOut = 0;
    const loader = createLoader({
      dataset,
      batchSize: 2,
      maxInFlight: 4,
      epochs: 2,
      transform: (sample) => {
        started++;
        worst = Math.max(worst, started - handedOut);
        return sample;
      },
    });
    for await (const batch of loader) {
      handedOut += batch.ids.length;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(handedOut).toBe(20);
    expect(worst).toBeLessThanOrEqual(4);
    expect(worst).toBeGreaterThanOrEqual(3); // it does prefetch
  });

  it('reports bad options and failing samples as DataError', async () => {
    const codes = [
      () => createLoader({ dataset, batchSize: 0 }),
      () => createLoader({ dataset, batchSize: 4, maxInFlight: 2 }),
      () => createLoader({ dataset, batchSize: 1, workers: 1, transform: (s) => s }),
      () => createLoader({ dataset, batchSize: 1, ids: ['nope.jpg'] }),
    ].map((f) => { try { f(); return undefined; } catch (e) { return isDataError(e) ? e.code : e; } });
    expect(codes).toEqual(['INVALID_ARGUMENT', 'INVALID_ARGUMENT', 'INVALID_ARGUMENT', 'INVALID_SPLIT']);
    const broken = { ...dataset, images: [{ ...dataset.images[0]!, file: '/nonexistent/x.jpg' }] };
    const error = await createLoader({ dataset: broken, batchSize: 1, workers: 1 }).next().catch((e: unknown) => e);
    expect(isDataError(error) && error.code).toBe('MISSING_FILE');
    expect(isDataError(error) && error.file).toBe('/nonexistent/x.jpg');
  }, WORKER_TIMEOUT);
});

describe.skipIf(!HAS_SEVERSTAL)('createLoader on severstal-sample', () => {
  it('feeds full-size batches with their masks', async () => {
    const real = await openKaggleDataset(SEVERSTAL_SAMPLE);
    const batches: Batch[] = [];
    for await (const batch of createLoader({ dataset: real, batchSize: 4, seed: 1, channels: 3 })) batches.push(batch);
    expect(batches.map((b) => b.imageShape)).toEqual([[4, 256, 1600, 3], [3, 256, 1600, 3]]);
    const perImage = 256 * 1600 * 4;
    const withMask = batches.flatMap((b) => b.ids.filter((_, k) => b.masks.subarray(k * perImage, (k + 1) * perImage).includes(1)));
    expect(withMask.sort()).toEqual(real.images.filter((e) => e.classes.length > 0).map((e) => e.id));
  });
});
