import { join, resolve } from 'node:path';
import { readImage } from '@steel/data';
import { createTuner } from '@steel/ensemble';
import type { ParsedArgs } from '../cli.ts';
import { neverWorseThanEmpty, TUNE_MIN_AREAS, TUNE_THRESHOLDS } from '../finish.ts';
import { createAppPredictor, imagePredictor } from '../inference.ts';
import { emptyBaseline } from '../scoring.ts';
import { writeJson } from '../run-dir.ts';
import { labelledImages } from './labelled.ts';
import { dataDirFor, loadMembers, memberConfig } from './shared.ts';

/** `tune`: per-class post-processing search on labelled images; writes the result JSON for `predict --postprocess`. */
export async function runTune(args: ParsedArgs): Promise<number> {
  const loaded = await loadMembers(args);
  const { members, engines, engine } = loaded;
  try {
    const config = memberConfig(members);
    const dataDir = await dataDirFor(args, config);
    const { dataset, images, truthOf, split } = await labelledImages(args, dataDir, members);
    const classes = members[0]!.identity.classes;
    const predictor = createAppPredictor(members, engines, {
      weights: args.values['weights'] as number[] | undefined,
      tta: args.values['tta'] as string[] | undefined,
      classes: dataset.classes,
    });
    const predict = imagePredictor(predictor);
    const channels = predictor.channels;
    const tuner = createTuner({ height: dataset.height, width: dataset.width, classes, thresholds: TUNE_THRESHOLDS });
    const truths: Uint8Array[] = [];
    const batchSize = (args.values['batch-size'] as number | undefined) ?? 4;
    process.stderr.write(`Tuning post-processing on ${images.length} ${split} images (${engine})...\n`);
    for (let i = 0; i < images.length; i += batchSize) {
      const chunk = images.slice(i, i + batchSize);
      const decoded = await Promise.all(chunk.map((e) => readImage(e.file, { channels })));
      const probs = await predict(decoded);
      chunk.forEach((e, b) => {
        const truth = truthOf(e.id);
        truths.push(truth);
        tuner.add(probs[b]!, truth);
      });
    }
    // Areas scale with the image: the reference grid is for 256x1600 images.
    const factor = (dataset.height * dataset.width) / (256 * 1600);
    const minAreas = [...new Set(TUNE_MIN_AREAS.map((a) => Math.round(a * factor)))];
    // A class that does not beat predicting nothing by more than one image's Dice is switched off.
    const empty = emptyBaseline(truths, { height: dataset.height, width: dataset.width, classes });
    const result = neverWorseThanEmpty(tuner.search({ minAreas }), empty.perClass, dataset, 1 / Math.max(1, images.length));
    const out = resolve((args.values['out'] as string | undefined) ?? join(members[0]!.path, 'tuned.json'));
    writeJson(out, result);
    const lines = result.classes.map((r, k) =>
      r.minMaskArea >= dataset.height * dataset.width
        ? `  class ${k + 1}: off (no rule beats an empty mask), Dice ${result.classScores[k]!.toFixed(4)}`
        : `  class ${k + 1}: threshold ${r.threshold}, min area ${r.minArea}, top threshold ${r.topThreshold}, Dice ${result.classScores[k]!.toFixed(4)}`,
    );
    process.stdout.write(`Best post-processing (Dice ${result.score.toFixed(4)} on ${result.images} images):\n${lines.join('\n')}\nWrote ${out}\n`);
    return 0;
  } finally {
    await loaded.dispose();
  }
}
