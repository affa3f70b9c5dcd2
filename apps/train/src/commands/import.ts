import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ParsedArgs } from '../cli.ts';
import { AppError } from '../errors.ts';
import { createProgress } from '../progress.ts';

/** `import`: convert a mask-folder dataset (NEU-Seg layout) to the Kaggle layout. */
export async function runImport(args: ParsedArgs): Promise<number> {
  const from = args.values['from'] as string | undefined;
  const out = args.values['out'] as string | undefined;
  if (from === undefined || out === undefined) throw new AppError('USAGE', 'import needs --from <mask-folder dataset> and --out <folder>. Run "import --help".');
  if (!existsSync(from)) {
    throw new AppError('DATA_NOT_FOUND', `Source folder ${from} does not exist. Pass --from a folder with images/<id>.jpg, masks/<id>.png and optional train.txt / val.txt.`);
  }
  const { importMaskFolder } = await import('@steel/data');
  const progress = createProgress(process.stderr);
  let last = 0;
  const started = performance.now();
  const result = await importMaskFolder({
    source: resolve(from),
    target: resolve(out),
    link: args.values['copy'] ? 'copy' : 'symlink',
    onProgress: ({ done, total }) => {
      if (performance.now() - last > 2000 || done === total) {
        last = performance.now();
        progress.log(`  ${done}/${total} images`);
      }
    },
  });
  process.stdout.write(
    `Imported ${result.images} images (${result.height}x${result.width}, ${result.classes} classes) into ${result.target} ` +
      `in ${((performance.now() - started) / 1000).toFixed(1)} s${result.splitFiles.length ? `; split lists: ${result.splitFiles.join(', ')}` : ''}\n` +
      `Train on it with: train --data ${out}\n`,
  );
  return 0;
}
