// The post-processing sliders (threshold and minimum area per class), their defaults from the run, and the legend.
import type { ClassRule } from '@steel/ensemble';
import { byId, classClass, h } from './dom.ts';
import { refreshBadges } from './gallery.ts';
import { scheduleRender } from './panels.ts';
import { state } from './state.ts';

/** The run's post-processing: tuned.json when the run tuned it, else its threshold and minimum areas, else 0.5 and none. */
function defaultRules(classes: number): ClassRule[] {
  const info = state.modelInfo;
  if (info?.postprocess && info.postprocess.length === classes) return info.postprocess.map((rule) => ({ ...rule }));
  const config = info?.config ?? null;
  const threshold = typeof config?.['threshold'] === 'number' ? config['threshold'] : 0.5;
  const areas = Array.isArray(config?.['minArea']) ? (config['minArea'] as unknown[]) : [];
  return Array.from({ length: classes }, (_, k) => ({ threshold, minArea: typeof areas[k] === 'number' ? areas[k] : 0 }));
}

/** A round upper bound for the minimum-area slider: 1, 2 or 5 times a power of ten. */
function niceCeil(n: number): number {
  const p = 10 ** Math.floor(Math.log10(Math.max(1, n)));
  for (const m of [1, 2, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}

/** Builds the sliders and the legend for `classes` classes, set to the run's post-processing. */
export function buildSliders(classes: number): void {
  state.rules = defaultRules(classes);
  const dataset = state.info?.dataset;
  const pixels = dataset ? dataset.height * dataset.width : (state.current?.pixels.height ?? 256) * (state.current?.pixels.width ?? 1600);
  const maxArea = niceCeil(Math.max(100, pixels / 50, ...state.rules.map((r) => 2 * (r.minArea ?? 0))));
  const body = byId('slider-rows');
  body.replaceChildren();
  state.rules.forEach((rule, k) => {
    const classId = k + 1;
    const tId = `threshold-${classId}`;
    const aId = `min-area-${classId}`;
    const threshold = h('input', { type: 'range', id: tId, min: 0.01, max: 0.99, step: 0.01, value: rule.threshold, 'data-class': classId });
    const area = h('input', { type: 'range', id: aId, min: 0, max: maxArea, step: 1, value: rule.minArea ?? 0, 'data-class': classId });
    const tOut = h('output', { for: tId }, rule.threshold.toFixed(2));
    const aOut = h('output', { for: aId }, String(rule.minArea ?? 0));
    const update = () => {
      state.rules[k] = { ...state.rules[k], threshold: Number(threshold.value), minArea: Number(area.value) };
      tOut.textContent = Number(threshold.value).toFixed(2);
      aOut.textContent = area.value;
      scheduleRender();
    };
    threshold.addEventListener('input', update);
    area.addEventListener('input', update);
    threshold.addEventListener('change', refreshBadges);
    area.addEventListener('change', refreshBadges);
    body.append(
      h(
        'tr',
        {},
        h('th', { scope: 'row' }, h('span', { class: `chip ${classClass(classId)}` }, String(classId))),
        h('td', {}, h('div', { class: 'slider' }, h('label', { for: tId, class: 'visually-hidden' }, `Class ${classId} threshold`), threshold, tOut)),
        h('td', {}, h('div', { class: 'slider' }, h('label', { for: aId, class: 'visually-hidden' }, `Class ${classId} minimum area`), area, aOut)),
      ),
    );
  });
  const legend = byId('legend');
  legend.replaceChildren(...Array.from({ length: classes }, (_, k) => h('li', {}, h('span', { class: `swatch ${classClass(k + 1)}` }), `Class ${k + 1}`)));
}
