// Building blocks of offline HTML report pages: escaping, a page shell, tables whose cells name the JSON value they show
// (data-key), bar charts as inline SVG, masks outlined on an image, and PNG images inlined as data URIs. Nothing loads
// from a network.
import sharp from 'sharp';

/** Class colours (RGB) for ClassId 1..4, then repeated; used by every report page and overlay. */
export const CLASS_COLOURS: readonly (readonly [number, number, number])[] = [
  [230, 57, 70],
  [42, 157, 143],
  [69, 123, 230],
  [244, 162, 97],
];

/** Escapes `& < > "` for HTML text and attribute values. */
export const escapeHtml = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** The CSS colour of a 0-based class index, e.g. `classColour(0)` → `"rgb(230,57,70)"`. */
export const classColour = (k: number): string => `rgb(${CLASS_COLOURS[k % CLASS_COLOURS.length]!.join(',')})`;

/** Formats a number for a table cell: integers as is, others with 4 decimals, non-finite values as `-`. */
export const formatNumber = (v: number): string => (Number.isInteger(v) ? String(v) : Number.isFinite(v) ? v.toFixed(4) : '-');

/**
 * One table cell showing the JSON value at `key` (a dotted path such as `perClass.0.masks`) in its `data-key` attribute,
 * so a test can compare the page with the JSON.
 */
export const reportCell = (key: string, value: number): string => `<td data-key="${escapeHtml(key)}">${formatNumber(value)}</td>`;

/** An HTML table: header cells, then rows of a label and cells rendered by {@link reportCell}. */
export function reportTable(head: readonly string[], rows: readonly { label: string; cells: readonly string[] }[]): string {
  return (
    `<table><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>\n` +
    rows.map((r) => `<tr><td>${escapeHtml(r.label)}</td>${r.cells.join('')}</tr>`).join('\n') +
    '</table>'
  );
}

/** One group of bars of {@link barChart}: a label on the x axis and one value per series. */
export interface BarGroup {
  label: string;
  values: readonly number[];
}

/** Options of {@link barChart}. */
export interface BarChartOptions {
  /** Series names (a legend when there are several). */
  series?: readonly string[];
  /** CSS colours per series. */
  colours?: readonly string[];
  /** A log10 y axis (zero bars are left empty). */
  log?: boolean;
  width?: number;
  height?: number;
  xLabel?: string;
}

/**
 * An inline SVG bar chart: one group per x label, one bar per series (coloured), each bar's value in its tooltip.
 * @example barChart('Masks per class', [{ label: 'masks', values: [897, 247, 5150, 801] }], { series: ['1', '2', '3', '4'] })
 */
export function barChart(title: string, groups: readonly BarGroup[], options: BarChartOptions = {}): string {
  const width = options.width ?? Math.max(320, Math.min(900, 60 + groups.length * 26 * Math.max(1, options.series?.length ?? 1)));
  const height = options.height ?? 240;
  const m = { left: 48, right: 10, top: 30, bottom: 42 };
  const series = options.series ?? [''];
  const colours = options.colours ?? ['#1d3557'];
  const max = Math.max(1e-9, ...groups.flatMap((g) => g.values));
  const log = options.log === true;
  const top = log ? Math.ceil(Math.log10(Math.max(1, max)) + 1e-9) || 1 : max;
  const y = (v: number) => {
    const f = log ? (v >= 1 ? Math.log10(v) / top : 0) : v / top;
    return height - m.bottom - f * (height - m.top - m.bottom);
  };
  const slot = (width - m.left - m.right) / Math.max(1, groups.length);
  const bar = Math.max(2, (slot * 0.8) / series.length);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="10">`,
    `<title>${escapeHtml(title)}</title>`,
    `<text x="${width / 2}" y="15" text-anchor="middle" font-size="13" font-weight="bold">${escapeHtml(title)}</text>`,
    `<line x1="${m.left}" x2="${width - m.right}" y1="${height - m.bottom}" y2="${height - m.bottom}" stroke="#999"/>`,
  ];
  const ticks = log ? Array.from({ length: top + 1 }, (_, i) => 10 ** i) : [0, top / 2, top];
  for (const t of ticks) parts.push(`<text x="${m.left - 4}" y="${y(t) + 3}" text-anchor="end">${formatNumber(Number(t.toPrecision(3)))}</text>`);
  groups.forEach((g, i) => {
    const x0 = m.left + i * slot + slot * 0.1;
    g.values.forEach((v, s) => {
      const yy = y(v);
      const h = height - m.bottom - yy;
      parts.push(`<rect x="${(x0 + s * bar).toFixed(1)}" y="${yy.toFixed(1)}" width="${(bar - 1).toFixed(1)}" height="${Math.max(0, h).toFixed(1)}" fill="${colours[s % colours.length]}"><title>${escapeHtml(`${g.label}${series[s] ? ` ${series[s]}` : ''}: ${formatNumber(v)}`)}</title></rect>`);
    });
    parts.push(`<text x="${(m.left + i * slot + slot / 2).toFixed(1)}" y="${height - m.bottom + 12}" text-anchor="middle">${escapeHtml(g.label)}</text>`);
  });
  if (options.xLabel) parts.push(`<text x="${width / 2}" y="${height - 8}" text-anchor="middle">${escapeHtml(options.xLabel)}</text>`);
  if (series.length > 1) {
    series.forEach((name, s) => {
      parts.push(`<rect x="${width - m.right - 90}" y="${m.top + s * 13}" width="9" height="9" fill="${colours[s % colours.length]}"/>`);
      parts.push(`<text x="${width - m.right - 78}" y="${m.top + 8 + s * 13}">${escapeHtml(name)}</text>`);
    });
  }
  parts.push('</svg>');
  return parts.join('\n');
}

/**
 * Draws masks over a grey (`channels` 1) or RGB image: a tinted fill plus a solid outline per class in
 * {@link CLASS_COLOURS}. `mask` is `[H, W, classes]` 0/1. Returns `[H, W, 3]` RGB bytes.
 */
export function outlineMasks(image: Uint8Array, channels: number, height: number, width: number, mask: Uint8Array, classes: number): Uint8Array {
  const out = new Uint8Array(height * width * 3);
  for (let p = 0; p < height * width; p++) {
    for (let k = 0; k < 3; k++) out[p * 3 + k] = image[p * channels + (channels === 3 ? k : 0)]!;
  }
  for (let k = 0; k < classes; k++) {
    const colour = CLASS_COLOURS[k % CLASS_COLOURS.length]!;
    const at = (r: number, c: number) => r >= 0 && r < height && c >= 0 && c < width && mask[(r * width + c) * classes + k] === 1;
    for (let r = 0; r < height; r++) {
      for (let c = 0; c < width; c++) {
        if (!at(r, c)) continue;
        const edge = !at(r - 1, c) || !at(r + 1, c) || !at(r, c - 1) || !at(r, c + 1);
        const p = (r * width + c) * 3;
        const alpha = edge ? 1 : 0.35;
        for (let j = 0; j < 3; j++) out[p + j] = Math.round(out[p + j]! * (1 - alpha) + colour[j]! * alpha);
      }
    }
  }
  return out;
}

/** Encodes `[H, W, 3]` RGB bytes as a PNG data URI, so a page stays one self-contained file. */
export async function pngDataUri(rgb: Uint8Array, height: number, width: number): Promise<string> {
  const png = await sharp(rgb, { raw: { width, height, channels: 3 } }).png().toBuffer();
  return `data:image/png;base64,${png.toString('base64')}`;
}

/**
 * A complete offline page: inline CSS, the body, and the page's numbers as JSON in
 * `<script type="application/json" id="report-data">` (a data block, never executed).
 */
export function reportPage(title: string, body: string, data: unknown): string {
  const json = JSON.stringify(data).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 9px;text-align:right}
td:first-child{text-align:left}.charts{display:flex;flex-wrap:wrap;gap:1em}figure{margin:.8em 0}img{image-rendering:pixelated;max-width:100%}</style></head>
<body><h1>${escapeHtml(title)}</h1>
${body}
<script type="application/json" id="report-data">${json}</script>
</body></html>
`;
}
