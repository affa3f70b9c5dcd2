import * as tf from '@tensorflow/tfjs-core';
import { readImage } from '@steel/data';
import { createStepEvaluator, formatStepTable, parseTtaTransforms, withTta } from '@steel/ensemble';
import type { ParsedArgs } from '../cli.ts';
import { adapterFor, checkMembers, disposeMembers, memberPredictFn, readChannels, splitBatch, toBatch } from '../inference.ts';
import { scoreMasks } from '../scoring.ts';
import { labelledImages } from './labelled.ts';
import { dataDirFor, loadMembers, memberConfig, postprocessFor } from './shared.ts';

/**
 * `evaluate`: competition Dice per class of each model raw, with TTA, the ensemble and the ensemble after post-processing,
 * next to the all-empty baseline.
 */
export async function runEvaluate(args: ParsedArgs): Promise<number> {
  const { members, backend } = await loadMembers(args);
  try {
    const weights = args.values['weights'] as number[] | undefined;
    checkMembers(members, weights);
    const config = memberConfig(members);
    const dataDir = await dataDirFor(args, config);
    const { dataset, images, truthOf, split } = await labelledImages(args, dataDir, members);
    const classes = members[0]!.identity.classes;
    const post = await postprocessFor(args, config, classes);
    const tta = parseTtaTransforms((args.values['tta'] as string[] | undefined) ?? []);
    const channels = readChannels(members);
    const fns = members.map((m) => {
      const raw = memberPredictFn(m);
      const adapt = adapterFor(m, channels);
      const run = (f: (x: tf.Tensor4D) => tf.Tensor4D | Promise<tf.Tensor4D>) => async (x: tf.Tensor4D) => {
        const input = adapt ? adapt(x) : x;
        try {
          return await f(input);
        } finally {
          if (input !== x) input.dispose();
        }
      };
      return { raw: run(raw), tta: tta.length > 0 ? run(withTta(raw, { transforms: tta })) : undefined };
    });
    const steps = createStepEvaluator({
      height: dataset.height,
      width: dataset.width,
      classes,
      models: members.map((m) => m.path),
      ...(weights === undefined ? {} : { weights }),
      threshold: (args.values['threshold'] as number | undefined) ?? config.threshold,
      postprocess: post,
    });
    const truths: Uint8Array[] = [];
    const batchSize = (args.values['batch-size'] as number | undefined) ?? 4;
    process.stderr.write(`Evaluating ${members.length} model(s) on ${images.length} ${split} images of ${dataDir} (${backend})...\n`);
    for (let i = 0; i < images.length; i += batchSize) {
      const chunk = images.slice(i, i + batchSize);
      const decoded = await Promise.all(chunk.map((e) => readImage(e.file, { channels })));
      const raw: Float32Array[][] = [];
      const withFlips: Float32Array[][] = [];
      for (const fn of fns) {
        const x = toBatch(decoded);
        try {
          raw.push(await splitBatch(await fn.raw(x)));
          if (fn.tta) withFlips.push(await splitBatch(await fn.tta(x)));
        } finally {
          x.dispose();
        }
      }
      chunk.forEach((e, b) => {
        const truth = truthOf(e.id);
        truths.push(truth);
        steps.add({ truth, raw: raw.map((r) => r[b]!), ...(fns[0]!.tta ? { tta: withFlips.map((r) => r[b]!) } : {}) });
      });
    }
    const baseline = scoreMasks(
      truths.map((t) => new Uint8Array(t.length)),
      truths,
      { height: dataset.height, width: dataset.width, classes },
    );
    process.stdout.write(
      `${formatStepTable(steps.table())}\nall-empty baseline: ${baseline.perClass.map((d) => d.toFixed(4)).join(' ')}  mean ${baseline.mean.toFixed(4)}\n`,
    );
    return 0;
  } finally {
    disposeMembers(members);
  }
}
