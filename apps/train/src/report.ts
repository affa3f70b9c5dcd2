// report.html: loss and Dice curves (inline SVG), a per-class Dice table and overlay images (PNG files beside it).
import { join } from 'node:path';
import { classColour, escapeHtml, outlineMasks } from '@steel/data';
import sharp from 'sharp';
import type { EpochRecord } from './checkpoint.ts';
import { writeFileAtomic } from './run-dir.ts';

/** One curve of a chart. */
export interface Series {
  name: string;
  colour: string;
  points: readonly [number, number][];
}

/** An SVG line chart of several series against a shared x axis. */
export function lineChart(title: string, series: readonly Series[], options: { width?: number; height?: number; yLabel?: string; xLabel?: string } = {}): string {
  const width = options.width ?? 480;
  const height = options.height ?? 260;
  const m = { left: 52, right: 12, top: 28, bottom: 36 };
  const all = series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y));
  if (all.length === 0) return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><text x="10" y="20">${escapeHtml(title)}: no data</text></svg>`;
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => y);
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  if (y0 === y1) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const pad = (y1 - y0) * 0.05;
  y0 -= pad;
  y1 += pad;
  const px = (x: number) => m.left + ((x - x0) / (x1 - x0)) * (width - m.left - m.right);
  const py = (y: number) => height - m.bottom - ((y - y0) / (y1 - y0)) * (height - m.top - m.bottom);
  const ticks = (a: number, b: number, n: number) => Array.from({ length: n + 1 }, (_, i) => a + ((b - a) * i) / n);
  const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3));
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<text x="${width / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">${escapeHtml(title)}</text>`,
    `<rect x="${m.left}" y="${m.top}" width="${width - m.left - m.right}" height="${height - m.top - m.bottom}" fill="none" stroke="#999"/>`,
  ];
  for (const t of ticks(y0, y1, 4)) {
    parts.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${py(t)}" y2="${py(t)}" stroke="#eee"/>`);
    parts.push(`<text x="${m.left - 4}" y="${py(t) + 4}" text-anchor="end">${fmt(t)}</text>`);
  }
  for (const t of ticks(x0, x1, 4)) parts.push(`<text x="${px(t)}" y="${height - m.bottom + 14}" text-anchor="middle">${fmt(t)}</text>`);
  parts.push(`<text x="${width / 2}" y="${height - 6}" text-anchor="middle">${escapeHtml(options.xLabel ?? 'step')}</text>`);
  series.forEach((s, i) => {
    const pts = s.points.filter(([, y]) => Number.isFinite(y));
    if (pts.length === 0) return;
    parts.push(`<polyline fill="none" stroke="${s.colour}" stroke-width="1.5" points="${pts.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`);
    if (pts.length <= 40) for (const [x, y] of pts) parts.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="2.5" fill="${s.colour}"/>`);
    parts.push(`<rect x="${m.left + 8}" y="${m.top + 6 + i * 14}" width="10" height="3" fill="${s.colour}"/>`);
    parts.push(`<text x="${m.left + 22}" y="${m.top + 10 + i * 14}">${escapeHtml(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** One overlay sample of the report. */
export interface OverlaySample {
  id: string;
  image: Uint8Array;
  channels: number;
  height: number;
  width: number;
  truth: Uint8Array;
  pred: Uint8Array;
  dice: number;
}

/** Everything report.html shows. */
export interface ReportData {
  title: string;
  config: Record<string, unknown>;
  steps: readonly { step: number; loss: number }[];
  epochs: readonly EpochRecord[];
  classes: number;
  table: { name: string; perClass: readonly number[]; mean: number }[];
  samples: readonly OverlaySample[];
  notes: readonly string[];
  /** Pages beside report.html to link to (e.g. the error analysis). */
  links?: readonly { href: string; text: string }[];
}

/** Writes report.html and its overlay PNGs into `dir`. */
export async function writeReport(dir: string, data: ReportData): Promise<string> {
  const images: string[] = [];
  for (const [i, s] of data.samples.entries()) {
    const file = `overlay-${i + 1}.png`;
    const truth = outlineMasks(s.image, s.channels, s.height, s.width, s.truth, data.classes);
    const pred = outlineMasks(s.image, s.channels, s.height, s.width, s.pred, data.classes);
    const stacked = new Uint8Array(truth.length * 2 + s.width * 3 * 4);
    stacked.set(truth, 0);
    stacked.fill(255, truth.length, truth.length + s.width * 3 * 4);
    stacked.set(pred, truth.length + s.width * 3 * 4);
    const png = await sharp(stacked, { raw: { width: s.width, height: s.height * 2 + 4, channels: 3 } }).png().toBuffer();
    writeFileAtomic(join(dir, file), png);
    images.push(
      `<figure><img src="${file}" alt="${escapeHtml(s.id)}" style="max-width:100%;image-rendering:pixelated" width="${Math.min(1600, s.width * Math.max(1, Math.floor(800 / s.width)))}">` +
        `<figcaption>${escapeHtml(s.id)}: truth (top), prediction (bottom), Dice ${s.dice.toFixed(3)}</figcaption></figure>`,
    );
  }
  const stepSmooth = smooth(data.steps.map((s) => [s.step, s.loss] as [number, number]), 10);
  const lossChart = lineChart('Loss', [
    { name: 'train (per step, smoothed)', colour: '#888', points: stepSmooth },
    { name: 'train (epoch mean)', colour: '#1d3557', points: data.epochs.map((e) => [e.step, e.trainLoss]) },
    { name: 'validation', colour: '#e63946', points: data.epochs.map((e) => [e.step, e.valLoss]) },
  ]);
  const diceChart = lineChart('Validation Dice', [
    { name: 'mean', colour: '#1d3557', points: data.epochs.map((e) => [e.step, e.valDice]) },
    ...Array.from({ length: data.classes }, (_, k) => ({
      name: `class ${k + 1}`,
      colour: classColour(k),
      points: data.epochs.map((e) => [e.step, e.valDicePerClass[k] ?? Number.NaN] as [number, number]),
    })),
  ]);
  const header = Array.from({ length: data.classes }, (_, k) => `<th style="color:${classColour(k)}">class ${k + 1}</th>`).join('');
  const rows = data.table
    .map((r) => `<tr><td>${escapeHtml(r.name)}</td>${r.perClass.map((d) => `<td>${d.toFixed(4)}</td>`).join('')}<td><b>${r.mean.toFixed(4)}</b></td></tr>`)
    .join('\n');
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(data.title)}</title>
<style>body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}
td:first-child{text-align:left}.charts{display:flex;flex-wrap:wrap;gap:1em}figure{margin:1em 0}pre{background:#f6f6f6;padding:1em;overflow:auto}</style></head>
<body><h1>${escapeHtml(data.title)}</h1>
${data.notes.map((n) => `<p>${escapeHtml(n)}</p>`).join('\n')}
${(data.links ?? []).map((l) => `<p><a href="${escapeHtml(l.href)}">${escapeHtml(l.text)}</a></p>`).join('\n')}
<h2>Curves</h2><div class="charts">${lossChart}${diceChart}</div>
<h2>Dice per class (competition metric)</h2>
<table><tr><th></th>${header}<th>mean</th></tr>
${rows}</table>
<h2>Samples</h2>${images.join('\n') || '<p>No samples.</p>'}
<h2>Configuration</h2><pre>${escapeHtml(JSON.stringify(data.config, null, 2))}</pre>
</body></html>
`;
  const path = join(dir, 'report.html');
  writeFileAtomic(path, html);
  return path;
}

/** Moving average over `window` points. */
function smooth(points: readonly [number, number][], window: number): [number, number][] {
  return points.map(([x], i) => {
    const slice = points.slice(Math.max(0, i - window + 1), i + 1);
    return [x, slice.reduce((a, [, y]) => a + y, 0) / slice.length];
  });
}
