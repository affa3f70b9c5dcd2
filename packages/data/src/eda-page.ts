// The dataset page: count tables, bar charts of the counts, mask-area histograms per class on a log scale and a grid of
// example images per class with their masks outlined. One offline HTML string; its numbers as a JSON-ready object.
import { decodeMask, type KaggleDataset } from './dataset.ts';
import { computeEda, type EdaReport } from './eda.ts';
import { readImage } from './image.ts';
import { barChart, classColour, escapeHtml, formatNumber, outlineMasks, pngDataUri, reportCell as cell, reportPage, reportTable as table } from './report-html.ts';

/** Everything the dataset page of {@link renderEdaPage} shows (also its JSON), from {@link edaPageData}. */
export interface EdaPageData extends EdaReport {
  dir: string;
  height: number;
  width: number;
  testImages: number;
  /** Mask-area histogram per class: `counts[k][b]` masks with log10(area) in [edges[b], edges[b + 1]). */
  areaHistogram: { edges: number[]; counts: number[][] };
  /** Example image ids per class. */
  examples: { classId: number; ids: string[] }[];
}

/** Bin edges in log10(pixels), a quarter decade wide, from 1 pixel to the image area. */
function logEdges(area: number): number[] {
  const top = Math.ceil(Math.log10(Math.max(10, area)) * 4) / 4;
  return Array.from({ length: Math.round(top * 4) + 1 }, (_, i) => i / 4);
}

/**
 * The dataset page's numbers: {@link computeEda} plus mask-area histograms per class (quarter-decade log bins) and the
 * first `examplesPerClass` image ids of each class. Reads only train.csv's RLE, no image.
 * @example const data = edaPageData(await openKaggleDataset(dir), 4);
 */
export function edaPageData(dataset: KaggleDataset, examplesPerClass = 4): EdaPageData {
  const report = computeEda(dataset.images, { classes: dataset.classes });
  const edges = logEdges(dataset.height * dataset.width);
  const counts = Array.from({ length: dataset.classes }, () => new Array<number>(edges.length - 1).fill(0));
  const examples = Array.from({ length: dataset.classes }, (_, k) => ({ classId: k + 1, ids: [] as string[] }));
  for (const entry of dataset.images) {
    if (entry.classes.length === 0) continue;
    // The areas of this image's masks, from the same RLE run lengths as the class statistics.
    const one = computeEda([entry], { classes: dataset.classes });
    for (const k of entry.classes) {
      const area = one.perClass[k - 1]!.area.max;
      const b = Math.min(edges.length - 2, Math.floor(Math.log10(Math.max(1, area)) * 4));
      counts[k - 1]![b]!++;
      if (examples[k - 1]!.ids.length < examplesPerClass) examples[k - 1]!.ids.push(entry.id);
    }
  }
  return { dir: dataset.dir, height: dataset.height, width: dataset.width, testImages: dataset.testImages.length, ...report, areaHistogram: { edges, counts }, examples };
}

/**
 * Renders the dataset page as one self-contained HTML document (inline CSS, SVG charts, PNG data URIs; nothing from a
 * network): the count tables, images with and without defects, masks per class, classes per image, mask-area histograms
 * per class on a log scale, and the example images with their masks outlined. Each table cell names its value's path in
 * `data` (`data-key`), and `data` itself sits in `<script type="application/json" id="report-data">`.
 * @example writeFileSync('eda.html', await renderEdaPage(dataset, edaPageData(dataset)));
 */
export async function renderEdaPage(dataset: KaggleDataset, data: EdaPageData): Promise<string> {
  const C = dataset.classes;
  const names = Array.from({ length: C }, (_, k) => `class ${k + 1}`);
  const colours = names.map((_, k) => classColour(k));
  const counts = table(['', 'value'], [
    { label: 'images', cells: [cell('images', data.images)] },
    { label: 'with defects', cells: [cell('withDefects', data.withDefects)] },
    { label: 'without defects', cells: [cell('withoutDefects', data.withoutDefects)] },
    { label: 'masks', cells: [cell('masks', data.masks)] },
    { label: 'test images', cells: [cell('testImages', data.testImages)] },
  ]);
  const perClass = table(['', 'masks', 'only class', 'area min', 'p25', 'median', 'p75', 'max', 'mean'], data.perClass.map((c, k) => ({
    label: `class ${c.classId}`,
    cells: [
      cell(`perClass.${k}.masks`, c.masks),
      cell(`perClass.${k}.onlyClass`, c.onlyClass),
      ...(['min', 'p25', 'median', 'p75', 'max', 'mean'] as const).map((q) => cell(`perClass.${k}.area.${q}`, c.area[q])),
    ],
  })));
  const perImage = table(['classes in the image', 'images'], data.defectsPerImage.map((n, i) => ({ label: String(i), cells: [cell(`defectsPerImage.${i}`, n)] })));
  const charts = [
    barChart('Images with and without defects', [{ label: 'with', values: [data.withDefects] }, { label: 'without', values: [data.withoutDefects] }]),
    barChart('Masks per class', [{ label: 'masks', values: data.perClass.map((c) => c.masks) }], { series: names, colours }),
    barChart('Classes per image', data.defectsPerImage.map((n, i) => ({ label: String(i), values: [n] })), { xLabel: 'classes in the image' }),
  ];
  const { edges } = data.areaHistogram;
  const areaCharts = data.areaHistogram.counts.map((row, k) =>
    barChart(
      `Mask area, class ${k + 1} (log scale)`,
      row.map((v, b) => ({ label: Number.isInteger(edges[b]) ? `1e${edges[b]}` : '', values: [v] })),
      { colours: [colours[k]!], xLabel: 'pixels (bins of a quarter decade)', width: 420 },
    ),
  );
  const grid: string[] = [];
  const byId = new Map(dataset.images.map((e) => [e.id, e]));
  for (const { classId, ids } of data.examples) {
    const figures: string[] = [];
    for (const id of ids) {
      const entry = byId.get(id)!;
      const image = await readImage(entry.file, { channels: 1 });
      const mask = decodeMask(entry, { height: dataset.height, width: dataset.width, classes: C });
      const uri = await pngDataUri(outlineMasks(image.data, 1, image.height, image.width, mask, C), image.height, image.width);
      figures.push(`<figure><img src="${uri}" alt="${escapeHtml(id)}" width="${Math.min(800, image.width * Math.max(1, Math.floor(400 / image.width)))}"><figcaption>${escapeHtml(id)} (classes ${entry.classes.join(', ')})</figcaption></figure>`);
    }
    grid.push(`<h3 style="color:${colours[classId - 1]}">class ${classId}: ${formatNumber(ids.length)} example(s)</h3>${figures.join('') || '<p>No image of this class.</p>'}`);
  }
  const body = `<p>${escapeHtml(data.dir)}: ${data.height}x${data.width}, ${C} classes.</p>
<h2>Counts</h2>${counts}${perClass}${perImage}
<div class="charts">${charts.join('')}</div>
<h2>Mask areas per class</h2><div class="charts">${areaCharts.join('')}</div>
<h2>Examples per class (masks outlined)</h2>${grid.join('\n')}`;
  return reportPage(`Dataset ${data.dir}`, body, data);
}
