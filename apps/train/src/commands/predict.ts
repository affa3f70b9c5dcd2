import { join, resolve } from 'node:path';
import type { ParsedArgs } from '../cli.ts';
import { AppError } from '../errors.ts';
import { createClassifier } from '../gating.ts';
import { createAppPredictor, tensorPredictor } from '../inference.ts';
import { dataDirFor, listImageFiles, loadMembers, memberConfig, postprocessFor } from './shared.ts';

/** `predict`: a submission CSV for a folder of images, streaming, with optional ensemble, TTA and post-processing. */
export async function runPredict(args: ParsedArgs): Promise<number> {
  const format = (args.values['format'] as string | undefined) ?? 'current';
  if (format !== 'current' && format !== 'first') throw new AppError('USAGE', `--format expects "current" or "first", got "${format.slice(0, 80)}".`);
  if (args.values['images'] !== undefined && args.values['data'] !== undefined) {
    throw new AppError('USAGE', '--data is not used with --images: the images are read from the --images folder. Drop one of them.');
  }
  if (args.values['postprocess'] !== undefined && args.values['threshold'] !== undefined) {
    throw new AppError('USAGE', `--threshold is not used with --postprocess: the file sets each class's threshold. Drop one of them.`);
  }
  const loaded = await loadMembers(args);
  const { members, engines, engine } = loaded;
  try {
    const config = memberConfig(members);
    const classes = members[0]!.identity.classes;
    const imagesDir = (args.values['images'] as string | undefined) ?? join(await dataDirFor(args, config), 'test_images');
    const files = listImageFiles(imagesDir);
    if (files.length === 0) throw new AppError('DATA_NOT_FOUND', `No JPEG or PNG images in ${imagesDir}.`);
    const post = await postprocessFor(args, config, classes);
    const predictor = createAppPredictor(members, engines, {
      weights: args.values['weights'] as number[] | undefined,
      tta: args.values['tta'] as string[] | undefined,
    });
    const out = resolve((args.values['out'] as string | undefined) ?? 'submission.csv');
    const { writeSubmissionFile } = await import('../submission-file.ts');
    const tta = predictor.tta;
    process.stderr.write(`Predicting ${files.length} images from ${imagesDir} with ${members.length} model(s) on ${engine}${tta.length ? `, TTA ${tta.join('+')}` : ''}...\n`);
    const started = performance.now();
    const { rows, imagesPerSecond } = await writeSubmissionFile(out, files, tensorPredictor(predictor), {
      channels: predictor.channels,
      batchSize: (args.values['batch-size'] as number | undefined) ?? 4,
      post,
      classify: createClassifier(members),
      format: format === 'first' ? 'legacy' : 'submission',
    });
    process.stdout.write(
      `Wrote ${out}: ${rows} rows for ${files.length} images (${format} format) in ${((performance.now() - started) / 1000).toFixed(1)} s, ${imagesPerSecond.toFixed(2)} images/s (${engine})\n`,
    );
    return 0;
  } finally {
    await loaded.dispose();
  }
}
