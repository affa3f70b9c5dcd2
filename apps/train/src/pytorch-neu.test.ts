// The PyTorch side of the NEU-Seg equal-wall-time comparison (scripts/pytorch_neu.py, Debian's python3-torch): it scores
// masks exactly as `evaluate` does, resizes exactly as the training and inference pipelines do, and trains and scores an
// imported dataset within its wall-time budget. Skipped with a message without python3-torch, except under CI=true.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createStepEvaluator } from '@steel/ensemble';
import { createRng, resize } from '@steel/transforms';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './test-helpers.ts';

const SCRIPT = fileURLToPath(new URL('../scripts/pytorch_neu.py', import.meta.url));
const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch, torchvision, PIL, numpy'], { encoding: 'utf8' }).status === 0;
const ci = process.env['CI'] === 'true';
if (!hasTorch && !ci) {
  console.warn(`[skip] train: ${SCRIPT} needs ${PYTHON} with torch, torchvision and PIL (apt-get install python3-torch python3-torchvision); its tests are skipped (under CI=true they fail).`);
}

function python(args: readonly string[], timeout = 120_000) {
  return spawnSync(PYTHON, args, { encoding: 'utf8', timeout, env: { ...process.env, OMP_NUM_THREADS: '2' } });
}

describe.skipIf(!hasTorch && !ci)('scripts/pytorch_neu.py', () => {
  it('python3 has torch, torchvision and PIL (CI installs them: apps/train/scripts/ensure-torch.sh)', () => {
    expect(hasTorch, `${PYTHON} -c "import torch, torchvision, PIL, numpy" failed`).toBe(true);
  });

  it('scores masks exactly as evaluate does: competition Dice, dataset Dice per class, IoU per class', () => {
    const [height, width, classes] = [6, 7, 3];
    const rng = createRng(7);
    const mask = (density: number, off: number[] = []) =>
      Uint8Array.from({ length: height * width * classes }, (_, i) => (off.includes(i % classes) ? 0 : rng.next() < density ? 1 : 0));
    // Class 3 has no pixel in any image (its dataset Dice and IoU are 1 by the rule for 0/0); among the rest: random pairs,
    // an image empty in both (its pairs score 1), a prediction on an empty truth and an empty prediction on a defect.
    const images = [
      { pred: mask(0.4, [2]), truth: mask(0.3, [2]) },
      { pred: mask(0.2, [2]), truth: mask(0.5, [2]) },
      { pred: mask(0), truth: mask(0) },
      { pred: mask(0.3, [2]), truth: mask(0) },
      { pred: mask(0), truth: mask(0.6, [2]) },
    ];
    const steps = createStepEvaluator({ height, width, classes, models: ['m'], postprocess: { classes: Array.from({ length: classes }, () => ({ threshold: 0.5, minArea: 0 })) } });
    for (const { pred, truth } of images) steps.add({ truth, raw: [Float32Array.from(pred)] });
    const want = steps.table().rows.find((r) => r.step === 'raw m')!;
    const file = join(tempDir(), 'masks.json');
    writeFileSync(file, JSON.stringify({ height, width, classes, images: images.map((m) => ({ pred: [...m.pred], truth: [...m.truth] })) }));
    const r = python([SCRIPT, '--score', file]);
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout) as Record<string, number | number[]>;
    expect(got['images']).toBe(images.length);
    for (const key of ['mean', 'meanDatasetDice', 'meanIou'] as const) expect(got[key]).toBeCloseTo(want[key], 12);
    for (const key of ['dice', 'datasetDice', 'iou'] as const) {
      (got[key] as number[]).forEach((v, k) => expect(v, `${key}[${k}]`).toBeCloseTo(want[key][k]!, 12));
    }
    expect([want.datasetDice[2], want.iou[2], want.dice[2]]).toEqual([1, 1, 1]);
    expect(want.datasetDice[0]).toBeGreaterThan(0);
    expect(want.datasetDice[0]).toBeLessThan(1);
  });

  it('resizes like @steel/transforms: area for images (rounded bytes), nearest with half-pixel centres for masks', () => {
    const [h, w, out] = [200, 200, 64];
    const rng = createRng(3);
    const image = Uint8Array.from({ length: h * w }, () => Math.floor(rng.next() * 256));
    const mask = Uint8Array.from({ length: h * w }, () => (rng.next() < 0.3 ? 1 : 0));
    const want = resize({ height: out, width: out, method: 'area' })({ image, mask, height: h, width: w, channels: 1, maskChannels: 1 }, createRng(0));
    const file = join(tempDir(), 'image.json');
    writeFileSync(file, JSON.stringify({ image: [...image], mask: [...mask] }));
    const code = [
      'import json, sys, numpy as np',
      `sys.path.insert(0, ${JSON.stringify(join(SCRIPT, '..'))})`,
      'from pytorch_neu import area_matrix, nearest_index',
      `d = json.load(open(${JSON.stringify(file)}))`,
      `img = np.array(d["image"], dtype=np.float64).reshape(${h}, ${w}); m = np.array(d["mask"]).reshape(${h}, ${w})`,
      `a = area_matrix(${h}, ${out}); b = area_matrix(${w}, ${out})`,
      `print(json.dumps({"image": np.clip(np.round(a @ img @ b.T), 0, 255).astype(int).ravel().tolist(), "mask": m[nearest_index(${h}, ${out})][:, nearest_index(${w}, ${out})].ravel().tolist()}))`,
    ].join('\n');
    const r = python(['-c', code]);
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout) as { image: number[]; mask: number[] };
    expect(got.mask).toEqual([...want.mask]);
    // Rounding of exact halves may differ by one grey level between float orders of summation.
    const diffs = got.image.map((v, i) => Math.abs(v - want.image[i]!));
    expect(Math.max(...diffs)).toBeLessThanOrEqual(1);
    expect(diffs.filter((d) => d > 0).length).toBeLessThan(got.image.length / 100);
  });

  describe('on an imported dataset', () => {
    let data: string;
    let root: string;
    beforeAll(async () => {
      // A mask-folder dataset of 12 grey 64x64 images with a bright square of class 1 or 2, imported as `train` does.
      root = tempDir();
      const source = join(root, 'source');
      mkdirSync(join(source, 'images'), { recursive: true });
      mkdirSync(join(source, 'masks'));
      const ids = Array.from({ length: 12 }, (_, i) => `im${i}`);
      for (const [i, id] of ids.entries()) {
        const pixels = Buffer.alloc(64 * 64, 60);
        const labels = Buffer.alloc(64 * 64, 0);
        for (let r = 10 + i; r < 30 + i; r++) for (let c = 20; c < 40; c++) [pixels[r * 64 + c], labels[r * 64 + c]] = [200, 1 + (i % 2)];
        await sharp(pixels, { raw: { width: 64, height: 64, channels: 1 } }).jpeg({ quality: 95 }).toFile(join(source, 'images', `${id}.jpg`));
        await sharp(labels, { raw: { width: 64, height: 64, channels: 1 } }).png().toFile(join(source, 'masks', `${id}.png`));
      }
      writeFileSync(join(source, 'train.txt'), ids.slice(0, 8).join('\n'));
      writeFileSync(join(source, 'val.txt'), ids.slice(8).join('\n'));
      data = join(root, 'imported');
      const r = runCli(['import', '--from', source, '--out', data]);
      expect(r.status, r.stderr).toBe(0);
    }, 120_000);

    it('trains for its wall-time budget and scores the validation images at their stored size', () => {
      const out = join(root, 'result.json');
      const minutes = 10 / 60;
      const r = python([SCRIPT, '--data', data, '--minutes', String(minutes), '--out', out, '--scale', '0.5', '--batch-size', '4']);
      expect(r.status, r.stderr).toBe(0);
      const result = JSON.parse(readFileSync(out, 'utf8')) as {
        steps: number;
        trainImages: number;
        msPerStep: number;
        seconds: { total: number };
        recipe: { size: number[] };
        validation: { images: number; dice: number[]; mean: number; datasetDice: number[]; iou: number[]; meanIou: number };
      };
      expect(result.trainImages).toBe(8);
      expect(result.recipe.size).toEqual([32, 32]);
      expect(result.steps).toBeGreaterThanOrEqual(2);
      expect(result.msPerStep).toBeGreaterThan(0);
      // Equal wall time is the point: the run ends near its budget (a few steps of slack on a loaded machine).
      expect(result.seconds.total).toBeLessThan(minutes * 60 + 40);
      expect(result.validation.images).toBe(4);
      expect(result.validation.dice).toHaveLength(2);
      for (const v of [...result.validation.dice, ...result.validation.datasetDice, ...result.validation.iou]) {
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
      }
      expect(r.stderr).toMatch(/Validation \(4 images\): competition Dice [\d.]+, dataset Dice [\d.]+, mIoU [\d.]+/);
    });

    it('refuses a missing folder or flag in one line with exit code 2', () => {
      const missing = python([SCRIPT, '--data', join(root, 'nowhere'), '--minutes', '1', '--out', join(root, 'x.json')]);
      expect(missing.status).toBe(2);
      expect(missing.stderr.trim()).toMatch(/^error: --data .*nowhere does not exist; import NEU-Seg first/);
      expect(missing.stderr.trim().split('\n')).toHaveLength(1);
      const noBudget = python([SCRIPT, '--data', data, '--out', join(root, 'x.json')]);
      expect(noBudget.status).toBe(2);
      expect(noBudget.stderr).toContain('missing --minutes');
    });
  });
});
