// The "Model and training" section: what the model is, how it was trained and how it scored.
import type { ModelInfo } from '../shared/api.ts';
import { fmt, h } from './dom.ts';
import type { LoadedModel } from './model.ts';

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec | null => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : null);

function facts(rows: [string, string][]): HTMLElement {
  const dl = h('dl', { class: 'facts' });
  for (const [k, v] of rows) dl.append(h('dt', {}, k), h('dd', {}, v));
  return dl;
}

function scoreTable(title: string, set: Rec, classes: number, tuned: Rec | null = null): HTMLElement {
  const head = h('tr', {}, h('th', { scope: 'col' }, 'Predictions'), h('th', { scope: 'col' }, 'Dice'));
  for (let k = 1; k <= classes; k++) head.append(h('th', { scope: 'col' }, `Class ${k}`));
  const body = h('tbody');
  const labels: [string, string][] = [
    ['baseline', 'all empty (baseline)'],
    ['raw', 'model, threshold only'],
    ['postprocessed', 'model + post-processing'],
  ];
  for (const [key, label] of labels) {
    const score = rec(set[key]);
    if (score === null) continue;
    const row = h('tr', {}, h('th', { scope: 'row' }, label), h('td', {}, fmt(score['mean'])));
    const per = Array.isArray(score['perClass']) ? (score['perClass'] as unknown[]) : [];
    for (let k = 0; k < classes; k++) row.append(h('td', {}, fmt(per[k])));
    body.append(row);
  }
  if (tuned && typeof tuned['score'] === 'number') {
    const row = h('tr', {}, h('th', { scope: 'row' }, 'model + tuned post-processing (tuned on these images)'), h('td', {}, fmt(tuned['score'])));
    const per = Array.isArray(tuned['classScores']) ? (tuned['classScores'] as unknown[]) : [];
    for (let k = 0; k < classes; k++) row.append(h('td', {}, fmt(per[k])));
    body.append(row);
  }
  const images = typeof set['images'] === 'number' ? ` (${set['images']} images)` : '';
  return h('table', {}, h('caption', {}, `${title}${images}: competition Dice`), h('thead', {}, head), body);
}

/** An SVG line chart of the per-epoch curves (validation Dice, train and validation loss). */
function historyChart(history: readonly Rec[]): SVGSVGElement | null {
  if (history.length < 2) return null;
  const ns = 'http://www.w3.org/2000/svg';
  const width = 560;
  const height = 180;
  const pad = { l: 40, r: 12, t: 12, b: 26 };
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('class', 'chart');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', 'Validation Dice and losses per epoch');
  const series: [string, string][] = [
    ['valDice', '#2a9d8f'],
    ['trainLoss', '#888888'],
    ['valLoss', '#e63946'],
  ];
  const values = series.flatMap(([key]) => history.map((e) => e[key]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v)));
  const max = Math.max(1, ...values);
  const x = (i: number) => pad.l + (i / (history.length - 1)) * (width - pad.l - pad.r);
  const y = (v: number) => height - pad.b - (v / max) * (height - pad.t - pad.b);
  const axis = document.createElementNS(ns, 'path');
  axis.setAttribute('d', `M${pad.l},${pad.t}V${height - pad.b}H${width - pad.r}`);
  axis.setAttribute('stroke', '#999');
  axis.setAttribute('fill', 'none');
  svg.append(axis);
  series.forEach(([key, colour], s) => {
    const pts = history.map((e, i) => (typeof e[key] === 'number' ? `${x(i).toFixed(1)},${y(e[key]).toFixed(1)}` : null)).filter(Boolean);
    const line = document.createElementNS(ns, 'polyline');
    line.setAttribute('points', pts.join(' '));
    line.setAttribute('fill', 'none');
    line.setAttribute('stroke', colour);
    line.setAttribute('stroke-width', '2');
    svg.append(line);
    const label = document.createElementNS(ns, 'text');
    label.setAttribute('x', String(pad.l + 8 + s * 120));
    label.setAttribute('y', String(height - 6));
    label.setAttribute('fill', colour);
    label.setAttribute('font-size', '12');
    label.textContent = key === 'valDice' ? 'validation Dice' : key === 'trainLoss' ? 'train loss' : 'validation loss';
    svg.append(label);
  });
  const top = document.createElementNS(ns, 'text');
  top.setAttribute('x', '4');
  top.setAttribute('y', String(pad.t + 4));
  top.setAttribute('font-size', '11');
  top.textContent = max.toFixed(2);
  svg.append(top);
  return svg;
}

/** Renders the section for a model (loaded or not) and the backend in use. */
export function renderModelDetails(target: HTMLElement, info: ModelInfo | null, loaded: LoadedModel | null, extra: { backend: string; workHeight: number | null; error: string | null }): void {
  target.replaceChildren();
  if (info === null) {
    target.append(h('p', {}, 'No model is available. Train one with "pnpm --filter train start", or start the viewer with --model <folder>.'));
    return;
  }
  const config = rec(info.config);
  const metrics = rec(info.metrics);
  const classes = loaded?.classes ?? 4;
  const modelFacts: [string, string][] = [
    ['Name', info.name],
    ['Folder', info.dir],
    ['Network', config ? `${String(config['architecture'] ?? '?')} with ${String(config['encoder'] ?? '?')} encoder` : 'from model.json'],
  ];
  if (loaded) {
    modelFacts.push(
      ['Input', `${loaded.inChannels} channel(s), ${loaded.fixedHeight ?? 'any'} x ${loaded.fixedWidth ?? 'any'} (multiples of 32)`],
      ['Classes', String(loaded.classes)],
      ['Parameters', loaded.parameters.toLocaleString('en')],
      ['Images are resized to', extra.workHeight === null ? 'their own height (no training size known)' : `${extra.workHeight} px high, then padded to a multiple of 32`],
      ['Loaded in', `${Math.round(loaded.loadMs)} ms on ${extra.backend}`],
    );
  } else {
    modelFacts.push(['State', extra.error ?? 'loading…']);
  }
  const grid = h('div', { class: 'metrics-grid' }, h('div', {}, h('h3', {}, 'Model'), facts(modelFacts)));
  if (config) {
    const crop = rec(config['crop']);
    const trainFacts: [string, string][] = [
      ['Data', String(config['data'] ?? '?')],
      ['Epochs', String(config['epochs'] ?? '?')],
      ['Batch size', String(config['batchSize'] ?? '?')],
      ['Loss', String(config['loss'] ?? '?')],
      ['Optimizer', `${String(config['optimizer'] ?? '?')}, learning rate ${String(config['lr'] ?? '?')} (${String(config['schedule'] ?? '?')})`],
      ['Image scale', String(config['scale'] ?? 1)],
      ['Crop', crop ? `${String(crop['height'])} x ${String(crop['width'])}` : 'none (full images)'],
      [
        'Post-processing',
        info.postprocess
          ? `tuned (tuned.json): thresholds [${info.postprocess.map((r) => r.threshold).join(', ')}], minimum areas [${info.postprocess.map((r) => r.minArea).join(', ')}]`
          : `threshold ${String(config['threshold'] ?? '?')}, minimum areas [${Array.isArray(config['minArea']) ? config['minArea'].join(', ') : '?'}]`,
      ],
    ];
    if (metrics) {
      trainFacts.push(['Best epoch', String(metrics['bestEpoch'] ?? '–')], ['Trained on', String(metrics['backend'] ?? '?')]);
      const seconds = rec(metrics['seconds']);
      if (seconds && typeof seconds['train'] === 'number') trainFacts.push(['Training time', `${Math.round(seconds['train'])} s`]);
    }
    grid.append(h('div', {}, h('h3', {}, 'Training'), facts(trainFacts)));
  }
  target.append(grid);
  if (metrics) {
    const tables = h('div', { class: 'metrics-grid' });
    for (const [key, title] of [
      ['validation', 'Validation'],
      ['test', 'Test'],
    ] as const) {
      const set = rec(metrics[key]);
      if (set) tables.append(scoreTable(title, set, classes, key === 'validation' ? rec(metrics['tuned']) : null));
    }
    target.append(h('h3', {}, 'Scores of the run'), tables);
  } else {
    target.append(h('p', { class: 'note' }, 'No metrics.json beside this model (it is written when a training run finishes).'));
  }
  const history = info.history ?? [];
  if (history.length > 0) {
    const body = h('tbody');
    for (const e of history) {
      body.append(
        h('tr', {}, h('td', {}, String(e['epoch'] ?? '')), h('td', {}, fmt(e['trainLoss'], 4)), h('td', {}, fmt(e['valLoss'], 4)), h('td', {}, fmt(e['valDice'])), h('td', {}, fmt(e['lr'], 6)), h('td', {}, fmt(e['seconds'], 0))),
      );
    }
    const table = h(
      'table',
      {},
      h('caption', {}, 'Per epoch'),
      h('thead', {}, h('tr', {}, ...['Epoch', 'Train loss', 'Validation loss', 'Validation Dice', 'Learning rate', 'Seconds'].map((t) => h('th', { scope: 'col' }, t)))),
      body,
    );
    target.append(h('div', { class: 'metrics-grid' }, h('div', {}, table), h('div', {}, historyChart(history))));
  }
}
