// `export`: a trained run's model as one .onnx file (NCHW, dynamic batch/height/width) with what a deployment needs to
// feed it and post-process its output stored as ONNX metadata.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { ParsedArgs } from '../cli.ts';
import { AppError } from '../errors.ts';
import type { Member } from '../inference.ts';
import { writeFileAtomic } from '../run-dir.ts';
import { loadMembers } from './shared.ts';

/**
 * The metadata keys `export` writes (all strings; JSON where noted). Pixels are fed as `pixel / divisor` (then
 * `(x - mean) / std`), after resizing the image by `scale` (area filter) and padding right/bottom with 0 to multiples of 32.
 */
export function onnxMetadata(member: Member): Record<string, string> {
  const { identity, config } = member;
  const metadata: Record<string, string> = {
    architecture: identity.architecture,
    encoder: identity.encoder,
    in_channels: String(identity.inChannels),
    classes: String(identity.classes),
    normalisation: JSON.stringify({ divisor: 255, mean: 0, std: 1 }),
    scale: String(member.scale),
    size_multiple: '32',
  };
  if (config) {
    metadata['threshold'] = String(config.threshold);
    metadata['min_area'] = JSON.stringify(config.minArea);
    metadata['config'] = JSON.stringify(config);
  }
  // Tuned post-processing of the run (from `tune`, or `train --tune`): per-class threshold, minimum area, mask-area rule.
  const tuned = join(resolve(member.path), 'tuned.json');
  if (existsSync(tuned)) metadata['postprocess'] = JSON.stringify(JSON.parse(readFileSync(tuned, 'utf8')));
  return metadata;
}

/** Checks --out before the model is loaded: a file path whose nearest existing ancestor is a folder. */
function checkOut(out: string, flag: string): void {
  if (existsSync(out) && statSync(out).isDirectory()) {
    throw new AppError('USAGE', `--out ${flag} is a folder; expected a file path such as ${join(flag, 'model.onnx')}.`);
  }
  let dir = dirname(out);
  while (!existsSync(dir)) dir = dirname(dir);
  if (!statSync(dir).isDirectory()) {
    throw new AppError('USAGE', `--out ${flag} cannot be written: ${dir} is a file, not a folder. Pass a path in a folder.`);
  }
}

/** `export --models runs/<name> [--out model.onnx]`. */
export async function runExport(args: ParsedArgs): Promise<number> {
  const paths = (args.values['models'] as string[] | undefined) ?? [];
  if (paths.length > 1) {
    throw new AppError('USAGE', `export writes one model; --models has ${paths.length} (${paths.join(', ').slice(0, 80)}). Export each run on its own.`);
  }
  const flag = (args.values['out'] as string | undefined) ?? (paths[0] ? join(paths[0], 'model.onnx') : 'model.onnx');
  const out = resolve(flag);
  checkOut(out, flag);
  const { members, dispose } = await loadMembers(args, { engines: false });
  const { exportOnnx } = await import('@steel/onnx');
  try {
    const member = members[0]!;
    if (member.model === undefined) throw new AppError('USAGE', `${member.path} is already an ONNX model; export takes a run folder or a model folder.`);
    const bytes = exportOnnx(member.model, { metadata: onnxMetadata(member) });
    writeFileAtomic(out, bytes);
    const { architecture, encoder, inChannels, classes } = member.identity;
    process.stdout.write(
      `Wrote ${out} (${(bytes.length / 1e6).toFixed(1)} MB): ${architecture}-${encoder}, input "image" float32 [N, ${inChannels}, H, W] ` +
        `(H, W multiples of 32), output "logits" [N, ${classes}, H, W]; metadata from ${basename(resolve(member.path))}.\n`,
    );
    return 0;
  } finally {
    await dispose();
  }
}
