import { resolve } from 'node:path';
import type { ParsedArgs } from '../cli.ts';
import { parseTrainConfig } from '../config.ts';
import { openDataset } from '../data.ts';
import { createProgress } from '../progress.ts';
import { writeFileAtomic, writeJson } from '../run-dir.ts';
import { ensureDataset } from './generate.ts';

/** `eda`: dataset statistics as a table (stdout) and optionally JSON. */
export async function runEda(args: ParsedArgs): Promise<number> {
  const { computeEda, formatEda } = await import('@steel/data');
  const config = parseTrainConfig(args.values['data'] === undefined ? {} : { data: args.values['data'] });
  const dir = await ensureDataset(config, createProgress(process.stderr));
  const dataset = await openDataset(dir);
  const report = computeEda(dataset.images, { classes: dataset.classes });
  process.stdout.write(`Dataset ${dir} (${dataset.height}x${dataset.width}, ${dataset.classes} classes, ${dataset.testImages.length} test images)\n${formatEda(report)}\n`);
  const json = args.values['json'] as string | undefined;
  if (json !== undefined) {
    writeJson(resolve(json), { dir, ...report });
    process.stdout.write(`Wrote ${resolve(json)}\n`);
  }
  const html = args.values['report'] as string | undefined;
  if (html !== undefined) {
    const { edaPageData, renderEdaPage } = await import('@steel/data');
    const file = resolve(html);
    const jsonFile = `${file.replace(/\.html?$/i, '')}.json`;
    const data = edaPageData(dataset, (args.values['examples'] as number | undefined) ?? 4);
    const page = await renderEdaPage(dataset, data);
    writeJson(jsonFile, data);
    writeFileAtomic(file, page);
    process.stdout.write(`Wrote ${file} and ${jsonFile}\n`);
  }
  return 0;
}
