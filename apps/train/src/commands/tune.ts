import { join, resolve } from 'node:path';
import { readImage } from '@steel/data';
import { createTuner } from '@steel/ensemble';
import type { ParsedArgs } from '../cli.ts';
import { createClassifier, describeRule, searchWithGating, TUNE_THRESHOLDS, tunedFile } from '../gating.ts';
import { createAppPredictor, imagePredictor } from '../inference.ts';
import { emptyBaseline } from '../scoring.ts';
import { writeJson } from '../run-dir.ts';
import { labelledImages } from './labelled.ts';
import { dataDirFor, loadMembers, memberConfig } from './shared.ts';

/**
 * `tune`: per-class search of threshold and minimum area, then of the same jointly with the empty-image gates (the
 * classification head's gate when the models have one, the top-probability and mask-area rules), on labelled images;
 * writes the result JSON for `predict --postprocess`.
 */
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
    const classify = createClassifier(members);
    const tuner = createTuner({ height: dataset.height, width: dataset.width, classes, thresholds: TUNE_THRESHOLDS });
    const truths: Uint8Array[] = [];
    const batchSize = (args.values['batch-size'] as number | undefined) ?? 4;
    process.stderr.write(`Tuning post-processing${classify ? ' and the classification head\'s gates' : ''} on ${images.length} ${split} images (${engine})...\n`);
    for (let i = 0; i < images.length; i += batchSize) {
      const chunk = images.slice(i, i + batchSize);
      const decoded = await Promise.all(chunk.map((e) => readImage(e.file, { channels })));
      const probs = await predict(decoded);
      const classProbs = classify ? await classify(decoded) : undefined;
      chunk.forEach((e, b) => {
        const truth = truthOf(e.id);
        truths.push(truth);
        tuner.add(probs[b]!, truth, classProbs ? { classProbs: classProbs[b]! } : {});
      });
    }
    const empty = emptyBaseline(truths, { height: dataset.height, width: dataset.width, classes });
    const tuning = searchWithGating(tuner, {
      height: dataset.height,
      width: dataset.width,
      emptyPerClass: empty.perClass,
      withClassProbs: classify !== undefined,
    });
    const out = resolve((args.values['out'] as string | undefined) ?? join(members[0]!.path, 'tuned.json'));
    writeJson(out, tunedFile(tuning));
    const area = dataset.height * dataset.width;
    const lines = tuning.chosen.classes.map(
      (r, k) => `  class ${k + 1}: ${describeRule(r, area)}, Dice ${tuning.chosen.classScores[k]!.toFixed(4)} (without gates ${tuning.plain.classScores[k]!.toFixed(4)})`,
    );
    process.stdout.write(
      `Best post-processing on ${tuning.chosen.images} images: Dice ${tuning.plain.score.toFixed(4)} without gates, ` +
        `${tuning.chosen.score.toFixed(4)} with gates where they help (all-empty ${empty.mean.toFixed(4)}):\n${lines.join('\n')}\nWrote ${out}\n`,
    );
    return 0;
  } finally {
    await loaded.dispose();
  }
}
