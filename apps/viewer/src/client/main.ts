// The viewer page: gallery, upload, overlays, post-processing sliders, defect list, CSV download, model section.
import type { ClassRule } from '@steel/ensemble';
import type { GalleryImage, GalleryPage, ModelInfo, ViewerInfo } from '../shared/api.ts';
import { analyse, csvSafeId, decodeTruth, imageDice, submissionCsv, submissionRecords, type ProbabilityMap } from '../shared/analysis.ts';
import { CLASS_COLOURS } from '../shared/colours.ts';
import { countPainted, paintOverlay } from '../shared/outline.ts';
import { initBackend } from './backend.ts';
import { byId, clearMessages, h, showMessage } from './dom.ts';
import { renderModelDetails } from './metrics-view.ts';
import { createPageEngines, loadModel, predictImage, type InputPolicy, type LoadedModel, type PageEngine } from './model.ts';

/** An image the page has decoded: from the dataset or uploaded. */
interface Entry {
  readonly key: string;
  /** ImageId in the CSV. */
  readonly id: string;
  /** Dataset split, or null for an upload. */
  readonly split: string | null;
  readonly pixels: ImageData;
  readonly canvas: HTMLCanvasElement;
  readonly truthRles: Readonly<Record<string, string>> | null;
  truth?: { classes: number; masks: Uint8Array[]; overlay: HTMLCanvasElement };
}

interface Prediction {
  readonly map: ProbabilityMap;
  readonly ms: number;
}

const PAGE_SIZE = 24;

/** The CSS class carrying a class id's colour (`c1`..`c4`, repeating). */
const classClass = (classId: number) => `c${((classId - 1) % CLASS_COLOURS.length) + 1}`;
const CACHE_BYTES = 512 * 2 ** 20;

const state = {
  info: null as ViewerInfo | null,
  backend: '',
  modelInfo: null as ModelInfo | null,
  model: null as LoadedModel | null,
  /** Engines offered for the model, the one in use, and inference times per engine (ms per image) in this page load. */
  engines: [] as PageEngine[],
  engine: null as PageEngine | null,
  engineTimings: {} as Record<string, number[]>,
  /** Whether the engines were timed against each other on an image (the faster becomes the default). */
  calibrated: false,
  modelError: null as string | null,
  loading: null as Promise<void> | null,
  entries: new Map<string, Entry>(),
  predictions: new Map<string, Prediction>(),
  current: null as Entry | null,
  rules: [] as ClassRule[],
  split: 'test',
  offset: 0,
  page: null as GalleryPage | null,
  predictingAll: false,
  timings: [] as number[],
};

const params = new URLSearchParams(location.search);
const status = (text: string) => {
  byId('status').textContent = text;
};

// ---- model ------------------------------------------------------------------------------------------------------

/**
 * The height images are resized to for the current model: the stored height of its training images times the run's
 * scale; for a model folder without a run, the gallery's image height; else each image's own height.
 */
function inputPolicy(): InputPolicy {
  const info = state.modelInfo;
  const scale = typeof info?.config?.['scale'] === 'number' ? info.config['scale'] : 1;
  const stored = info?.trainSize?.height ?? (info?.config ? null : (state.info?.dataset?.height ?? null));
  return { workHeight: stored === null ? null : Math.max(1, Math.round(stored * scale)), tileWidth: 2048 };
}

/** The run's post-processing: tuned.json when the run tuned it, else its threshold and minimum areas, else 0.5 and none. */
function defaultRules(classes: number): ClassRule[] {
  const info = state.modelInfo;
  if (info?.postprocess && info.postprocess.length === classes) return info.postprocess.map((rule) => ({ ...rule }));
  const config = info?.config ?? null;
  const threshold = typeof config?.['threshold'] === 'number' ? config['threshold'] : 0.5;
  const areas = Array.isArray(config?.['minArea']) ? (config['minArea'] as unknown[]) : [];
  return Array.from({ length: classes }, (_, k) => ({ threshold, minArea: typeof areas[k] === 'number' ? areas[k] : 0 }));
}

/** Frees the current model and its engines. */
function disposeModel(): void {
  for (const e of state.engines) void e.engine.dispose();
  state.model?.model.dispose();
  state.engines = [];
  state.engine = null;
  state.engineTimings = {};
  state.calibrated = false;
  renderEngines();
}

/** The engine picker in the header: every engine offered, the one in use selected. */
function renderEngines(): void {
  const select = byId<HTMLSelectElement>('engine-select');
  select.replaceChildren(...state.engines.map((e) => h('option', { value: e.id }, e.label)));
  select.disabled = state.engines.length < 2;
  if (state.engine) select.value = state.engine.id;
}

/** Uses an engine from now on: drops the cached predictions and timings, and predicts the open image again. */
async function selectEngine(id: string): Promise<void> {
  const engine = state.engines.find((e) => e.id === id);
  if (!engine) return;
  state.engine = engine;
  state.calibrated = true;
  state.predictions.clear();
  state.timings = [];
  renderEngines();
  status(`Engine: ${engine.label}.`);
  if (state.current) await openEntry(state.current, { focus: false });
}

async function selectModel(id: string | null): Promise<void> {
  disposeModel();
  state.model = null;
  state.modelError = null;
  state.predictions.clear();
  state.modelInfo = state.info?.models.find((m) => m.id === id) ?? null;
  const select = byId<HTMLSelectElement>('model-select');
  if (id !== null) select.value = id;
  renderDetails();
  if (state.modelInfo === null) {
    state.modelError = 'No model is available.';
    status(`No model loaded. Backend: ${state.backend}.`);
    buildSliders(state.info?.dataset?.classes ?? 4);
    refreshAll();
    return;
  }
  const info = state.modelInfo;
  status(`Loading model ${info.name}…`);
  try {
    const loaded = await loadModel(info);
    const { engines, skipped } = await createPageEngines(loaded, state.backend);
    if (state.modelInfo !== info) {
      for (const e of engines) void e.engine.dispose();
      loaded.model.dispose();
      return;
    }
    if (skipped.length > 0) console.info(`Engines skipped: ${skipped.join('; ')}`);
    state.model = loaded;
    state.engines = engines;
    // ?engine= picks one; otherwise the first prediction times every engine and the faster is kept.
    const asked = engines.find((e) => e.id === params.get('engine'));
    state.engine = asked ?? engines[0]!;
    state.calibrated = asked !== undefined || engines.length === 1;
    renderEngines();
    clearMessages('model');
    status(`Model ${info.name} loaded in ${Math.round(loaded.loadMs)} ms (${loaded.classes} classes, ${loaded.inChannels} channel input). Engine: ${state.engine.label}.`);
    byId('status').dataset['model'] = 'loaded';
  } catch (error) {
    state.modelError = error instanceof Error ? error.message : String(error);
    showMessage(state.modelError, 'error', 'model');
    status(`No model loaded. Backend: ${state.backend}.`);
    byId('status').dataset['model'] = 'failed';
  }
  buildSliders(state.model?.classes ?? state.info?.dataset?.classes ?? 4);
  renderDetails();
  refreshAll();
  if (state.current && state.model) await openEntry(state.current, { focus: false });
}

function renderDetails(): void {
  renderModelDetails(byId('model-details'), state.modelInfo, state.model, {
    backend: state.backend,
    workHeight: state.model?.fixedHeight ?? inputPolicy().workHeight,
    error: state.modelError,
  });
}

// ---- sliders ----------------------------------------------------------------------------------------------------

/** A round upper bound for the minimum-area slider: 1, 2 or 5 times a power of ten. */
function niceCeil(n: number): number {
  const p = 10 ** Math.floor(Math.log10(Math.max(1, n)));
  for (const m of [1, 2, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}

function buildSliders(classes: number): void {
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

let renderQueued = false;
function scheduleRender(): void {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    renderCurrent();
  });
}

// ---- images -----------------------------------------------------------------------------------------------------

async function decodeImage(blob: Blob): Promise<{ pixels: ImageData; canvas: HTMLCanvasElement }> {
  const bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const canvas = document.createElement('canvas');
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  return { pixels: ctx.getImageData(0, 0, canvas.width, canvas.height), canvas };
}

async function datasetEntry(split: string, image: GalleryImage): Promise<Entry> {
  const key = `${split}/${image.id}`;
  const known = state.entries.get(key);
  if (known) return known;
  const response = await fetch(`/images/${encodeURIComponent(split)}/${encodeURIComponent(image.id)}`);
  if (!response.ok) throw new Error(`Image ${image.id} could not be fetched (HTTP ${response.status}).`);
  const { pixels, canvas } = await decodeImage(await response.blob());
  const entry: Entry = { key, id: image.id, split, pixels, canvas, truthRles: image.rles };
  state.entries.set(key, entry);
  return entry;
}

/** Predicts an entry with the current model (cached per model). */
async function predictEntry(entry: Entry): Promise<Prediction | null> {
  const model = state.model;
  if (model === null) return null;
  const hit = state.predictions.get(entry.key);
  if (hit) return hit;
  const { pixels } = entry;
  const policy = inputPolicy();
  // The first image of a page load is predicted by every engine, timed, and the faster one is kept.
  const candidates = state.calibrated ? [state.engine!] : state.engines;
  let best: { engine: PageEngine; map: Awaited<ReturnType<typeof predictImage>>; ms: number } | undefined;
  for (const engine of candidates) {
    const started = performance.now();
    const map = await predictImage(model, engine, pixels, policy);
    const ms = performance.now() - started;
    if (state.model !== model) return null;
    (state.engineTimings[engine.id] ??= []).push(ms);
    if (best === undefined || ms < best.ms) best = { engine, map, ms };
  }
  if (!state.calibrated) {
    state.calibrated = true;
    state.engine = best!.engine;
    renderEngines();
    console.info(`Engines timed on ${entry.id}: ${candidates.map((e) => `${e.label} ${Math.round(state.engineTimings[e.id]!.at(-1)!)} ms`).join(', ')}; using ${best!.engine.label}.`);
  }
  const { map, ms } = best!;
  state.timings.push(ms);
  const prediction = { map, ms };
  state.predictions.set(entry.key, prediction);
  // Bounded memory: drop the oldest probabilities (not the open image's).
  let bytes = 0;
  for (const p of state.predictions.values()) bytes += p.map.probs.byteLength;
  for (const [key, p] of state.predictions) {
    if (bytes <= CACHE_BYTES) break;
    if (key === state.current?.key || key === entry.key) continue;
    state.predictions.delete(key);
    bytes -= p.map.probs.byteLength;
  }
  return prediction;
}

async function openEntry(entry: Entry, { focus }: { focus: boolean }): Promise<void> {
  state.current = entry;
  for (const b of document.querySelectorAll<HTMLElement>('.thumb')) b.setAttribute('aria-current', String(b.dataset['key'] === entry.key));
  byId('viewer-h').textContent = entry.split === null ? `Your image: ${entry.id}` : `${entry.id} (${entry.split} set)`;
  renderCurrent();
  if (focus) byId('viewer').focus({ preventScroll: false });
  if (state.model === null) {
    if (entry.split === null) showMessage(`No model is loaded, so "${entry.id}" cannot be analysed. ${state.modelError ?? ''}`.trim(), 'error', 'model');
    return;
  }
  byId('pred-note').textContent = 'Predicting…';
  try {
    await predictEntry(entry);
  } catch (error) {
    showMessage(`Prediction of ${entry.id} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (state.current === entry) renderCurrent();
  refreshBadges();
}

function truthOf(entry: Entry, classes: number): Entry['truth'] | null {
  if (entry.truthRles === null) return null;
  if (entry.truth?.classes === classes) return entry.truth;
  const { height, width } = entry.pixels;
  const masks = decodeTruth(entry.truthRles, height, width, classes);
  entry.truth = { classes, masks, overlay: overlayCanvas(masks, height, width) };
  return entry.truth;
}

function overlayCanvas(masks: readonly Uint8Array[], height: number, width: number): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const rgba = paintOverlay(masks, height, width, { thickness: Math.max(1, Math.round(width / 800)) });
  canvas.getContext('2d')!.putImageData(new ImageData(rgba as Uint8ClampedArray<ArrayBuffer>, width, height), 0, 0);
  canvas.dataset['painted'] = String(countPainted(rgba));
  return canvas;
}

function drawPanel(target: HTMLCanvasElement, entry: Entry, overlay: HTMLCanvasElement | null): void {
  const { width, height } = entry.pixels;
  if (target.width !== width) target.width = width;
  if (target.height !== height) target.height = height;
  const ctx = target.getContext('2d')!;
  ctx.drawImage(entry.canvas, 0, 0);
  if (overlay) ctx.drawImage(overlay, 0, 0);
  target.dataset['painted'] = overlay?.dataset['painted'] ?? '0';
}

/** Redraws the open image: overlays, Dice, defect list, download button. Only post-processing runs here. */
function renderCurrent(): void {
  const entry = state.current;
  const download = byId<HTMLButtonElement>('download');
  const predicted = [...state.predictions.keys()].length;
  download.disabled = predicted === 0;
  byId('download-note').textContent = predicted === 0 ? '' : `The CSV holds the masks of the ${predicted} image(s) predicted so far, with the sliders' settings.`;
  if (entry === null) return;
  const { width, height } = entry.pixels;
  byId('panels').classList.toggle('wide', width / height > 2.5);
  const classes = state.model?.classes ?? state.info?.dataset?.classes ?? 4;
  const truth = truthOf(entry, classes);
  drawPanel(byId('truth-canvas'), entry, truth?.overlay ?? null);
  byId('truth-note').textContent = !truth ? 'No ground truth for this image.' : truth.masks.some((m) => m.includes(1)) ? '' : 'No defects in the ground truth.';
  const prediction = state.predictions.get(entry.key);
  const predCanvas = byId<HTMLCanvasElement>('pred-canvas');
  const rows = byId('defect-rows');
  if (!prediction) {
    drawPanel(predCanvas, entry, null);
    byId('pred-note').textContent = state.model === null ? `No model is loaded. ${state.modelError ?? ''}` : 'Predicting…';
    byId('dice-label').textContent = '';
    byId('defect-summary').textContent = state.model === null ? 'No model is loaded, so nothing was predicted.' : 'No prediction yet.';
    rows.replaceChildren();
    byId('image-summary').textContent = `${width} x ${height} pixels.`;
    return;
  }
  const started = performance.now();
  const { masks, defects } = analyse(prediction.map, state.rules);
  const postMs = performance.now() - started;
  drawPanel(predCanvas, entry, overlayCanvas(masks, height, width));
  byId('pred-note').textContent = defects.length === 0 ? 'No defects predicted with these settings.' : '';
  let diceText = '';
  if (truth) {
    const dice = imageDice(masks, truth.masks, height, width);
    diceText = `Dice ${dice.mean.toFixed(3)} (per class ${dice.perClass.map((d) => d.toFixed(2)).join(', ')})`;
    byId('dice-label').textContent = `· Dice ${dice.mean.toFixed(3)}`;
  } else byId('dice-label').textContent = '';
  const summary = byId('image-summary');
  summary.textContent = `${width} x ${height} pixels. Inference ${Math.round(prediction.ms)} ms on ${state.engine?.label ?? state.backend}; post-processing ${postMs.toFixed(1)} ms.${diceText ? ` ${diceText}.` : ''}`;
  summary.dataset['inferenceMs'] = prediction.ms.toFixed(1);
  const perClass = Array.from({ length: classes }, (_, k) => defects.filter((d) => d.classId === k + 1).length);
  byId('defect-summary').textContent =
    defects.length === 0 ? 'No defects found.' : `${defects.length} defect(s): ${perClass.map((n, k) => `class ${k + 1}: ${n}`).join(', ')}.`;
  const shown = defects.slice(0, 500);
  rows.replaceChildren(
    ...shown.map((d) =>
      h(
        'tr',
        {},
        h('td', {}, h('span', { class: `chip ${classClass(d.classId)}` }, String(d.classId))),
        h('td', {}, String(d.area)),
        h('td', {}, `${d.top}, ${d.left} – ${d.bottom}, ${d.right}`),
        h('td', {}, d.maxProb.toFixed(3)),
      ),
    ),
  );
  if (defects.length > shown.length) rows.append(h('tr', {}, h('td', { colspan: 4 }, `… and ${defects.length - shown.length} more`)));
}

// ---- gallery ----------------------------------------------------------------------------------------------------

async function loadPage(split: string, offset: number): Promise<void> {
  const response = await fetch(`/api/images?split=${encodeURIComponent(split)}&offset=${offset}&limit=${PAGE_SIZE}`);
  if (!response.ok) {
    showMessage(`The image list could not be loaded (HTTP ${response.status}).`);
    return;
  }
  const page = (await response.json()) as GalleryPage;
  state.split = split;
  state.offset = offset;
  state.page = page;
  const list = byId('gallery');
  list.replaceChildren(
    ...page.images.map((image) => {
      const key = `${split}/${image.id}`;
      const classes = image.rles ? Object.keys(image.rles).filter((k) => image.rles![k]) : [];
      const chips = h('span', { class: 'classes' }, ...classes.map((c) => h('span', { class: `chip ${classClass(Number(c))}` }, c)));
      const described = image.rles === null ? 'ground truth unknown' : classes.length === 0 ? 'no defects' : `defect classes ${classes.join(', ')}`;
      const button = h(
        'button',
        { type: 'button', class: 'thumb', 'data-key': key, 'aria-current': String(state.current?.key === key), 'aria-label': `Open ${image.id} (${described})` },
        h('img', { src: `/images/${encodeURIComponent(split)}/${encodeURIComponent(image.id)}`, alt: '', loading: 'lazy' }),
        h('span', { class: 'meta' }, h('span', {}, image.id), chips, h('span', { class: 'badge', 'data-badge': key }, '')),
      );
      button.addEventListener('click', () => {
        void datasetEntry(split, image).then(
          (entry) => openEntry(entry, { focus: true }),
          (error: unknown) => showMessage(error instanceof Error ? error.message : String(error)),
        );
      });
      return h('li', {}, button);
    }),
  );
  const last = Math.min(page.total, offset + page.images.length);
  byId('page-label').textContent = page.total === 0 ? 'No images' : `${offset + 1}–${last} of ${page.total}`;
  byId<HTMLButtonElement>('prev-page').disabled = offset === 0;
  byId<HTMLButtonElement>('next-page').disabled = last >= page.total;
  refreshBadges();
}

/** Dice badges of the page's predicted images, with the current sliders. */
function refreshBadges(): void {
  const page = state.page;
  if (page === null) return;
  const scores: number[] = [];
  for (const image of page.images) {
    const key = `${page.split}/${image.id}`;
    const badge = document.querySelector<HTMLElement>(`[data-badge="${CSS.escape(key)}"]`);
    const entry = state.entries.get(key);
    const prediction = state.predictions.get(key);
    if (!badge) continue;
    if (!entry || !prediction) {
      badge.textContent = '';
      continue;
    }
    const truth = truthOf(entry, prediction.map.classes);
    if (!truth) {
      badge.textContent = 'predicted';
      continue;
    }
    const { masks } = analyse(prediction.map, state.rules);
    const dice = imageDice(masks, truth.masks, entry.pixels.height, entry.pixels.width).mean;
    scores.push(dice);
    badge.textContent = `Dice ${dice.toFixed(3)}`;
  }
  const note = byId('gallery-note');
  const dataset = state.info?.dataset;
  const base = dataset ? `${dataset.name}: ${dataset.width} x ${dataset.height} pixels, ${dataset.classes} classes. ` : '';
  note.textContent =
    base + (scores.length > 0 ? `Mean Dice of the ${scores.length} predicted image(s) on this page: ${(scores.reduce((a, b) => a + b, 0) / scores.length).toFixed(3)}.` : '');
  renderCurrent();
}

async function predictPage(): Promise<void> {
  const button = byId<HTMLButtonElement>('predict-page');
  if (state.predictingAll) {
    state.predictingAll = false;
    return;
  }
  if (state.model === null) {
    showMessage(`No model is loaded, so the images cannot be predicted. ${state.modelError ?? ''}`.trim(), 'error', 'model');
    return;
  }
  const page = state.page;
  if (page === null) return;
  state.predictingAll = true;
  button.textContent = 'Stop predicting';
  try {
    let i = 0;
    for (const image of page.images) {
      if (!state.predictingAll || state.page !== page) break;
      i++;
      status(`Predicting ${i} of ${page.images.length}…`);
      const entry = await datasetEntry(page.split, image);
      await predictEntry(entry);
      refreshBadges();
    }
    status(`Predicted ${i} image(s) with ${state.modelInfo?.name ?? 'the model'} on ${state.engine?.label ?? state.backend}; median inference ${median(state.timings).toFixed(0)} ms per image.`);
  } catch (error) {
    showMessage(`Prediction failed: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    state.predictingAll = false;
    button.textContent = 'Predict all on this page';
  }
}

const median = (xs: readonly number[]) => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

// ---- upload and download ----------------------------------------------------------------------------------------

const IMAGE_NAME = /\.(png|jpe?g|webp|bmp|gif)$/i;

async function openUpload(file: File): Promise<void> {
  const name = file.name || 'image';
  if (!(file.type.startsWith('image/') || (file.type === '' && IMAGE_NAME.test(name)))) {
    showMessage(`"${name}" is not an image (its type is ${file.type || 'unknown'}). Choose a PNG, JPEG, WebP, BMP or GIF file.`, 'error', 'upload');
    return;
  }
  let decoded;
  try {
    decoded = await decodeImage(file);
  } catch {
    showMessage(`"${name}" could not be decoded as an image: the file is damaged or in a format this browser cannot read. Choose a PNG, JPEG, WebP, BMP or GIF file.`, 'error', 'upload');
    return;
  }
  clearMessages('upload');
  const id = csvSafeId(name);
  const key = `upload/${id}`;
  state.predictions.delete(key);
  const entry: Entry = { key, id, split: null, pixels: decoded.pixels, canvas: decoded.canvas, truthRles: null };
  state.entries.set(key, entry);
  await openEntry(entry, { focus: true });
}

function download(): void {
  const records = [];
  for (const [key, prediction] of state.predictions) {
    const entry = state.entries.get(key);
    if (!entry) continue;
    const { masks } = analyse(prediction.map, state.rules);
    records.push(...submissionRecords(entry.id, masks, prediction.map.height, prediction.map.width));
  }
  const csv = submissionCsv(records);
  const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
  const a = h('a', { href: url, download: `steel-masks-${csvSafeId(state.modelInfo?.name ?? 'model')}.csv` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// ---- start ------------------------------------------------------------------------------------------------------

function refreshAll(): void {
  refreshBadges();
  renderCurrent();
}

function wire(): void {
  byId<HTMLSelectElement>('model-select').addEventListener('change', (e) => {
    state.loading = selectModel((e.target as HTMLSelectElement).value);
  });
  byId<HTMLSelectElement>('split-select').addEventListener('change', (e) => void loadPage((e.target as HTMLSelectElement).value, 0));
  byId<HTMLSelectElement>('engine-select').addEventListener('change', (e) => void selectEngine((e.target as HTMLSelectElement).value));
  byId('prev-page').addEventListener('click', () => void loadPage(state.split, Math.max(0, state.offset - PAGE_SIZE)));
  byId('next-page').addEventListener('click', () => void loadPage(state.split, state.offset + PAGE_SIZE));
  byId('predict-page').addEventListener('click', () => void predictPage());
  byId('download').addEventListener('click', download);
  byId('reset-post').addEventListener('click', () => {
    buildSliders(state.model?.classes ?? state.rules.length);
    refreshAll();
  });
  const input = byId<HTMLInputElement>('upload');
  input.addEventListener('change', () => {
    const file = input.files?.[0];
    if (file) void openUpload(file);
    input.value = '';
  });
  const zone = byId('drop-zone');
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    const file = e.dataTransfer?.files[0];
    if (file) void openUpload(file);
  });
}

async function start(): Promise<void> {
  wire();
  const response = await fetch('/api/info');
  const info = (await response.json()) as ViewerInfo;
  state.info = info;
  for (const notice of info.notices) showMessage(notice, 'info', 'notice');
  const select = byId<HTMLSelectElement>('model-select');
  select.replaceChildren(...info.models.map((m) => h('option', { value: m.id }, `${m.name}${m.kind === 'run' ? '' : ' (folder)'}`)));
  select.disabled = info.models.length === 0;
  const splits = Object.keys(info.dataset?.splits ?? {});
  const splitSelect = byId<HTMLSelectElement>('split-select');
  splitSelect.replaceChildren(
    ...splits.map((s) => h('option', { value: s }, `${s} (${info.dataset!.splits[s]!.images} images${info.dataset!.splits[s]!.hasTruth ? '' : ', no ground truth'})`)),
  );
  if (info.dataset === null) byId('gallery-note').textContent = 'No dataset: start the viewer with --data <folder>, or train once so the synthetic data exists.';
  buildSliders(info.dataset?.classes ?? 4);
  status('Starting TensorFlow.js…');
  try {
    const choice = await initBackend(params.get('backend'));
    state.backend = choice.name;
    if (choice.skipped.length > 0) console.info(`Backends skipped: ${choice.skipped.join('; ')}`);
  } catch (error) {
    showMessage(error instanceof Error ? error.message : String(error));
    status('TensorFlow.js could not start.');
    return;
  }
  // The test images when their ground truth is known (synthetic data), else the training images.
  const withTruth = splits.filter((s) => info.dataset!.splits[s]!.hasTruth);
  const split = withTruth.includes('test') ? 'test' : (withTruth[0] ?? splits[0] ?? null);
  if (split !== null) splitSelect.value = split;
  const pageLoad = split === null ? Promise.resolve() : loadPage(split, 0);
  state.loading = selectModel(params.get('model') ?? info.defaultModel);
  await Promise.all([pageLoad, state.loading]);
  document.body.dataset['ready'] = 'true';
}

// Exposed for the browser tests and for curious users in the console.
Object.assign(globalThis, { steelViewer: { state } });
void start().catch((error: unknown) => showMessage(`The page failed to start: ${error instanceof Error ? error.message : String(error)}`));
