import { relative, resolve } from 'node:path';
import { writeJson } from '../run-dir.ts';
import type * as tf from '@tensorflow/tfjs-core';
import { readImage } from '@steel/data';
import { createStepEvaluator, formatPooledTable, formatStepTable, parseTtaTransforms } from '@steel/ensemble';
import type { ParsedArgs } from '../cli.ts';
import { checkMembers, createAppPredictor, imagePredictor, readChannels } from '../inference.ts';
import { scoreMasks } from '../scoring.ts';
import { createClassifier, describePost, gatingFromFile } from '../gating.ts';
import { createEvaluation, evaluationSample } from '../reports/evaluation.ts';
import { labelledImages } from './labelled.ts';
import { dataDirFor, loadMembers, memberConfig, postprocessFor } from './shared.ts';

/**
 * `evaluate`: competition Dice per class of each model raw, with TTA, the ensemble and the ensemble after post-processing
 * (and gating), next to the all-empty baseline; then the dataset Dice per class and the mean IoU of the same steps.
 * `--json` writes all of it to a file.
 */
export async function runEvaluate(args: ParsedArgs): Promise<number> {
  const loaded = await loadMembers(args);
  const { members, engines, engine } = loaded;
  try {
    const weights = args.values['weights'] as number[] | undefined;
    checkMembers(members, weights);
    const config = memberConfig(members);
    const dataDir = await dataDirFor(args, config);
    const { dataset, images, truthOf, split } = await labelledImages(args, dataDir, members);
    const classes = members[0]!.identity.classes;
    const classify = createClassifier(members);
    const tta = parseTtaTransforms((args.values['tta'] as string[] | undefined) ?? []);
    const channels = readChannels(members);
    // Each model on its own, raw and with TTA (the ensemble of them is combined by the step evaluator); checks the classes first.
    const fns = members.map((m, i) => {
      const one = (flips: readonly string[]) => imagePredictor(createAppPredictor([m], [engines[i]!], { tta: flips, classes: dataset.classes }));
      return { raw: one([]), tta: tta.length > 0 ? one(tta) : undefined };
    });
    const given = await postprocessFor(args, config, classes);
    const tuned = await gatingFromFile(args.values['postprocess'] as string | undefined, classes);
    const post = tuned?.plain ?? given;
    const steps = createStepEvaluator({
      height: dataset.height,
      width: dataset.width,
      classes,
      models: members.map((m) => m.path),
      ...(weights === undefined ? {} : { weights }),
      threshold: (args.values['threshold'] as number | undefined) ?? config.threshold,
      postprocess: post,
      ...(tuned ? { gating: tuned.gated } : {}),
    });
    const reportFile = args.values['report'] as string | undefined;
    const area = dataset.height * dataset.width;
    const final = tuned?.gated ?? post;
    const evaluation = reportFile === undefined ? undefined : createEvaluation({
      classes,
      worst: (args.values['worst'] as number | undefined) ?? 8,
      title: `Evaluation of ${members.map((m) => m.path).join(' + ')} on ${images.length} ${split} images`,
      postprocessing: `${describePost(final, area)}${tta.length ? `; TTA ${tta.join('+')}` : ''}`,
    });
    const truths: Uint8Array[] = [];
    const batchSize = (args.values['batch-size'] as number | undefined) ?? 4;
    process.stderr.write(`Evaluating ${members.length} model(s) on ${images.length} ${split} images of ${dataDir} (${engine})...\n`);
    for (let i = 0; i < images.length; i += batchSize) {
      const chunk = images.slice(i, i + batchSize);
      const decoded = await Promise.all(chunk.map((e) => readImage(e.file, { channels })));
      const raw: Float32Array[][] = [];
      const withFlips: Float32Array[][] = [];
      const classProbs = classify ? await classify(decoded) : undefined;
      for (const fn of fns) {
        raw.push(await fn.raw(decoded));
        if (fn.tta) withFlips.push(await fn.tta(decoded));
      }
      for (const [b, e] of chunk.entries()) {
        const truth = truthOf(e.id);
        truths.push(truth);
        const sources = (fns[0]!.tta ? withFlips : raw).map((r) => r[b]!);
        const cls = classProbs?.[b];
        if (evaluation) evaluation.add(await evaluationSample(e.id, decoded[b]!, sources, truth, { weights, post: final, classes, classProbs: cls }));
        steps.add({
          truth,
          raw: raw.map((r) => r[b]!),
          ...(fns[0]!.tta ? { tta: withFlips.map((r) => r[b]!) } : {}),
          ...(cls ? { classProbs: cls } : {}),
        });
      }
    }
    const baseline = scoreMasks(
      truths.map((t) => new Uint8Array(t.length)),
      truths,
      { height: dataset.height, width: dataset.width, classes },
    );
    const table = steps.table();
    process.stdout.write(
      `${formatStepTable(table)}\nall-empty baseline: ${baseline.perClass.map((d) => d.toFixed(4)).join(' ')}  mean ${baseline.mean.toFixed(4)}\n` +
        `dataset Dice per class (2·ΣI/(ΣP+ΣT), pixels summed over the ${table.images} images) and mean IoU (ΣI/Σ(P∪T) per class):\n` +
        `${formatPooledTable(table)}\n`,
    );
    const jsonFile = args.values['json'] as string | undefined;
    if (jsonFile !== undefined) {
      writeJson(resolve(jsonFile), {
        options: args.values,
        data: relative(process.cwd(), dataDir) || '.',
        split,
        engine,
        models: members.map((m) => m.path),
        tta,
        postprocessing: describePost(final, area),
        ...table,
        baseline: { dice: baseline.perClass, mean: baseline.mean },
      });
      process.stdout.write(`Wrote ${resolve(jsonFile)}\n`);
    }
    if (evaluation && reportFile !== undefined) {
      const written = await evaluation.write(resolve(reportFile));
      process.stdout.write(`Wrote ${written.html} and ${written.json}\n`);
    }
    return 0;
  } finally {
    await loaded.dispose();
  }
}
