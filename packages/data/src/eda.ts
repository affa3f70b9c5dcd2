import type { ImageEntry } from './dataset.ts';

/** Distribution of mask areas in pixels. */
export interface AreaStats {
  readonly min: number;
  readonly p25: number;
  readonly median: number;
  readonly p75: number;
  readonly max: number;
  readonly mean: number;
}

/** Per-class counts of {@link EdaReport}. */
export interface ClassStats {
  readonly classId: number;
  /** (image, class) masks of this class = images containing it. */
  readonly masks: number;
  /** Images whose only class is this one. */
  readonly onlyClass: number;
  /** Mask area in pixels; all zeros when the class has no masks. */
  readonly area: AreaStats;
}

/** Exploratory statistics of a training set, as returned by {@link computeEda}. */
export interface EdaReport {
  readonly images: number;
  readonly withDefects: number;
  readonly withoutDefects: number;
  readonly masks: number;
  readonly perClass: readonly ClassStats[];
  /** `defectsPerImage[k]` = images with exactly k classes present. */
  readonly defectsPerImage: readonly number[];
}

/** Pixels covered by an RLE string: the sum of its run lengths. */
function rleArea(rle: string): number {
  const tokens = rle.trim().split(/\s+/);
  let area = 0;
  for (let t = 1; t < tokens.length; t += 2) area += Number(tokens[t]);
  return area;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  // Linear interpolation between closest ranks (numpy's default).
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (pos - lo);
}

/**
 * Counts images, masks per class, images with and without defects, classes per image and the distribution of mask areas.
 * Areas come straight from the RLE run lengths, so nothing is decoded.
 * @example const report = computeEda(dataset.images, { classes: dataset.classes });
 */
export function computeEda(images: readonly Pick<ImageEntry, 'classes' | 'rles'>[], options: { classes?: number } = {}): EdaReport {
  const classes = options.classes ?? 4;
  const areas: number[][] = Array.from({ length: classes }, () => []);
  const onlyClass = new Array<number>(classes).fill(0);
  const defectsPerImage: number[] = [0];
  let withDefects = 0;
  let masks = 0;
  for (const image of images) {
    const k = image.classes.length;
    while (defectsPerImage.length <= k) defectsPerImage.push(0);
    defectsPerImage[k] = (defectsPerImage[k] as number) + 1;
    if (k > 0) withDefects++;
    if (k === 1) onlyClass[(image.classes[0] as number) - 1]! += 1;
    for (const classId of image.classes) {
      masks++;
      areas[classId - 1]?.push(rleArea(image.rles[classId] ?? ''));
    }
  }
  const perClass = areas.map((list, i): ClassStats => {
    const sorted = list.slice().sort((a, b) => a - b);
    const mean = sorted.length === 0 ? 0 : sorted.reduce((s, v) => s + v, 0) / sorted.length;
    return {
      classId: i + 1,
      masks: sorted.length,
      onlyClass: onlyClass[i] as number,
      area: {
        min: sorted[0] ?? 0,
        p25: quantile(sorted, 0.25),
        median: quantile(sorted, 0.5),
        p75: quantile(sorted, 0.75),
        max: sorted[sorted.length - 1] ?? 0,
        mean,
      },
    };
  });
  return { images: images.length, withDefects, withoutDefects: images.length - withDefects, masks, perClass, defectsPerImage };
}

/** Formats an {@link EdaReport} as a Markdown table plus summary lines, ready to print. */
export function formatEda(report: EdaReport): string {
  const pct = (n: number): string => (report.images === 0 ? '0.0' : ((100 * n) / report.images).toFixed(1));
  const r = (v: number): string => Math.round(v).toString();
  const lines = [
    `images ${report.images}, with defects ${report.withDefects} (${pct(report.withDefects)}%), defect-free ${report.withoutDefects} (${pct(report.withoutDefects)}%), masks ${report.masks}`,
    `classes per image: ${report.defectsPerImage.map((n, k) => `${k}: ${n}`).join(', ')}`,
    '',
    '| class | masks | only class | area min | p25 | median | p75 | max | mean |',
    '|---|---|---|---|---|---|---|---|---|',
    ...report.perClass.map(
      (c) => `| ${c.classId} | ${c.masks} | ${c.onlyClass} | ${r(c.area.min)} | ${r(c.area.p25)} | ${r(c.area.median)} | ${r(c.area.p75)} | ${r(c.area.max)} | ${r(c.area.mean)} |`,
    ),
  ];
  return lines.join('\n');
}
