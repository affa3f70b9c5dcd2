// What the page computes from a probability map: post-processed masks, the defect list, Dice against the ground truth
// and the competition CSV. Pure functions on typed arrays (they run in the browser and in tests).
import { listComponents, postprocess, type ClassRule, type DefectComponent } from '@steel/ensemble';
import { competitionDice } from '@steel/metrics';
import { decode, encode, formatCsv, type RleRecord } from '@steel/rle';

/** One image's probabilities, `[height, width, classes]` channels last. */
export interface ProbabilityMap {
  readonly probs: Float32Array;
  readonly height: number;
  readonly width: number;
  readonly classes: number;
}

/** The result of post-processing one image. */
export interface Analysis {
  /** `masks[k]`: row-major 0/1 mask of ClassId k + 1. */
  readonly masks: Uint8Array[];
  readonly defects: DefectComponent[];
}

/** Per-class rules of the sliders: `rules[k]` applies to ClassId k + 1. */
export type ClassRules = readonly ClassRule[];

/** Post-processes a probability map with the rules and lists the defects that remain (8-connected components). */
export function analyse(map: ProbabilityMap, rules: ClassRules): Analysis {
  const shape = { height: map.height, width: map.width, classes: map.classes };
  const config = { classes: rules, connectivity: 8 as const };
  return { masks: postprocess(map.probs, shape, config), defects: listComponents(map.probs, shape, config) };
}

/** Decodes ground-truth RLEs (keyed by 1-based class id) into one mask per class; classes without an RLE are empty. */
export function decodeTruth(rles: Readonly<Record<string, string>>, height: number, width: number, classes: number): Uint8Array[] {
  return Array.from({ length: classes }, (_, k) => {
    const rle = rles[String(k + 1)];
    return rle ? decode(rle, { height, width }) : new Uint8Array(height * width);
  });
}

/** Interleaves per-class masks `[H*W]` into one `[H, W, C]` mask. */
export function interleave(masks: readonly Uint8Array[]): Uint8Array {
  const classes = masks.length;
  const pixels = masks[0]?.length ?? 0;
  const out = new Uint8Array(pixels * classes);
  masks.forEach((mask, k) => {
    for (let p = 0; p < pixels; p++) out[p * classes + k] = mask[p]!;
  });
  return out;
}

/** The competition Dice of one image (mean over classes, 1 for a class empty in both) and per class. */
export function imageDice(pred: readonly Uint8Array[], truth: readonly Uint8Array[], height: number, width: number): { mean: number; perClass: number[] } {
  const classes = Math.min(pred.length, truth.length);
  const result = competitionDice(interleave(pred.slice(0, classes)), interleave(truth.slice(0, classes)), { shape: [height, width, classes] });
  return { mean: result.score, perClass: [...result.perClass] };
}

/** The competition's submission rows of one image: one row per class, empty RLE for an empty mask. */
export function submissionRecords(imageId: string, masks: readonly Uint8Array[], height: number, width: number): RleRecord[] {
  return masks.map((mask, k) => ({ imageId, classId: k + 1, rle: encode(mask, { height, width }) }));
}

/** A submission CSV (`ImageId,EncodedPixels,ClassId`, the competition's current format) of several images' records. */
export function submissionCsv(records: Iterable<RleRecord>): string {
  return formatCsv(records, 'submission');
}

/** An image id usable in a CSV: commas, quotes and line breaks become `_`. */
export function csvSafeId(name: string): string {
  return name.replace(/[,"\r\n]/g, '_') || 'image';
}
