// The evaluation page: the numbers of an EvaluationReport as tables and inline SVG charts, the worst images as overlays.
import { barChart, classColour, escapeHtml, formatNumber, outlineMasks, pngDataUri, reportCell as cell, reportPage as page, reportTable as table } from '@steel/data';
import { lineChart } from '../report.ts';
import type { EvaluationReport, EvaluationSample } from './evaluation.ts';

/** Renders the page (one self-contained HTML file; the JSON sits in a script tag). */
export async function renderEvaluation(data: EvaluationReport, worst: readonly (EvaluationSample & { dice: number; perClass: number[] })[]): Promise<string> {
  const C = data.classes;
  const classNames = Array.from({ length: C }, (_, k) => `class ${k + 1}`);
  const summary = table(['', ...classNames, 'mean'], [
    { label: 'Dice (competition)', cells: [...data.dice.perClass.map((d, k) => cell(`dice.perClass.${k}`, d)), cell('dice.mean', data.dice.mean)] },
  ]);
  const hist = barChart(
    'Per-image Dice',
    data.histogram.map((v, i) => ({ label: i % 4 === 0 ? (i / 20).toFixed(1) : '', values: [v] })),
    { xLabel: 'Dice (bins of 0.05)', width: 560 },
  );
  const prf = (level: 'pixels' | 'images') =>
    table(
      ['', 'TP', 'FP', 'FN', ...(level === 'images' ? ['TN'] : []), 'precision', 'recall', 'F1'],
      data.perClass.map((c, k) => {
        const s = c[level];
        const key = `perClass.${k}.${level}`;
        return {
          label: `class ${c.classId}`,
          cells: [
            cell(`${key}.tp`, s.tp),
            cell(`${key}.fp`, s.fp),
            cell(`${key}.fn`, s.fn),
            ...(level === 'images' ? [cell(`${key}.tn`, c.images.tn)] : []),
            cell(`${key}.precision`, s.precision),
            cell(`${key}.recall`, s.recall),
            cell(`${key}.f1`, s.f1),
          ],
        };
      }),
    );
  const labels = ['no defect', ...classNames];
  const confusion = table(
    ['truth \\ predicted', ...labels],
    data.confusion.map((row, a) => ({ label: labels[a]!, cells: row.map((v, b) => cell(`confusion.${a}.${b}`, v)) })),
  );
  const curve = lineChart(
    'Dice against the pixel threshold (no post-processing)',
    data.thresholdCurve.dice.map((d, k) => ({ name: `class ${k + 1}`, colour: classColour(k), points: d.map((v, i) => [data.thresholdCurve.thresholds[i]!, v] as [number, number]) })),
    { xLabel: 'threshold', width: 560 },
  );
  const curveTable = table(
    ['threshold', ...data.thresholdCurve.thresholds.map((t) => t.toFixed(2))],
    data.thresholdCurve.dice.map((d, k) => ({ label: `class ${k + 1}`, cells: d.map((v, i) => cell(`thresholdCurve.dice.${k}.${i}`, v)) })),
  );
  const figures: string[] = [];
  for (const [i, w] of worst.entries()) {
    const { data: pixels, channels, height, width } = w.image;
    const truth = await pngDataUri(outlineMasks(pixels, channels, height, width, w.truth, C), height, width);
    const pred = await pngDataUri(outlineMasks(pixels, channels, height, width, w.masks, C), height, width);
    const shown = Math.min(1200, width * Math.max(1, Math.floor(600 / width)));
    figures.push(
      `<figure><figcaption>${escapeHtml(w.id)}: Dice <span data-key="worst.${i}.dice">${formatNumber(w.dice)}</span> ` +
        `(${w.perClass.map((d, k) => `class ${k + 1} ${d.toFixed(3)}`).join(', ')})</figcaption>` +
        `<img src="${truth}" alt="${escapeHtml(w.id)} truth" width="${shown}"><br><img src="${pred}" alt="${escapeHtml(w.id)} prediction" width="${shown}"></figure>`,
    );
  }
  const legend = classNames.map((n, k) => `<span style="color:${classColour(k)}">■ ${n}</span>`).join(' ');
  const body = `<p>${data.images} images. Post-processing: ${escapeHtml(data.postprocessing)}.</p>
${summary}
<h2>Per-image Dice</h2><div class="charts">${hist}</div>
<h2>Precision, recall and F1 per class (after post-processing)</h2><h3>Pixels</h3>${prf('pixels')}<h3>Images (defect present or not)</h3>${prf('images')}
<h2>Class confusion (pixels)</h2>${confusion}
<h2>Dice against threshold</h2><div class="charts">${curve}</div>${curveTable}
<h2>The ${worst.length} worst images</h2><p>Truth above, prediction below. ${legend}</p>${figures.join('\n')}`;
  return page(data.title, body, data);
}
