// Predicting an image: the input size for the model, the engine picker, timing the engines on the first image, and the
// cache of probability maps (bounded in bytes).
import { byId, h } from './dom.ts';
import { predictImage, type InputPolicy, type PageEngine } from './model.ts';
import { state, type Entry, type Prediction } from './state.ts';

/** The most bytes of probability maps the cache keeps. */
const CACHE_BYTES = 512 * 2 ** 20;

/**
 * The height images are resized to for the current model: the stored height of its training images times the run's
 * scale; for a model folder without a run, the gallery's image height; else each image's own height.
 */
export function inputPolicy(): InputPolicy {
  const info = state.modelInfo;
  const scale = typeof info?.config?.['scale'] === 'number' ? info.config['scale'] : 1;
  const stored = info?.trainSize?.height ?? (info?.config ? null : (state.info?.dataset?.height ?? null));
  return { workHeight: stored === null ? null : Math.max(1, Math.round(stored * scale)), tileWidth: 2048 };
}

/** The engine picker in the header: every engine offered, the one in use selected. */
export function renderEngines(): void {
  const select = byId<HTMLSelectElement>('engine-select');
  select.replaceChildren(...state.engines.map((e) => h('option', { value: e.id }, e.label)));
  select.disabled = state.engines.length < 2;
  if (state.engine) select.value = state.engine.id;
}

/** Predicts an entry with the current model (cached per model). */
export async function predictEntry(entry: Entry): Promise<Prediction | null> {
  const model = state.model;
  if (model === null) return null;
  const hit = state.predictions.get(entry.key);
  if (hit) return hit;
  const { pixels } = entry;
  const policy = inputPolicy();
  // The first image of a page load is predicted by every engine, timed, and the faster one is kept. Each engine first runs
  // once untimed on a small image, so that its one-off start-up (session arenas, kernel set-up) is not counted.
  const candidates = state.calibrated ? [state.engine!] : state.engines;
  if (!state.calibrated && candidates.length > 1) {
    const warm = new ImageData(Math.min(pixels.width, 64), Math.min(pixels.height, 32));
    for (const engine of candidates) await predictImage(model, engine, warm, { workHeight: warm.height, tileWidth: policy.tileWidth });
    if (state.model !== model) return null;
  }
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

/** Median of a list of numbers (NaN when empty). */
export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

/**
 * Times every engine offered on a `height x width` image (the open image stretched to that size, else a gradient), at
 * that size (no resize: the network sees it padded to a multiple of 32), alternating the engines, `runs` timed predictions
 * each after one untimed one. Returns the median ms per image of each engine, by label. Used by the screenshot script.
 */
export async function timeEngines(height: number, width: number, runs = 3): Promise<Record<string, { medianMs: number; runs: number[] }>> {
  const model = state.model;
  if (model === null) throw new Error('No model is loaded.');
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  if (state.current) ctx.drawImage(state.current.canvas, 0, 0, width, height);
  else {
    const g = ctx.createLinearGradient(0, 0, width, height);
    g.addColorStop(0, '#202020');
    g.addColorStop(1, '#d0d0d0');
    ctx.fillStyle = g;
    ctx.fillRect(0, 0, width, height);
  }
  const image = ctx.getImageData(0, 0, width, height);
  const policy = { workHeight: height, tileWidth: Math.max(width, inputPolicy().tileWidth) };
  const times = new Map<PageEngine, number[]>(state.engines.map((e) => [e, []]));
  for (let run = 0; run <= runs; run++) {
    for (const engine of run % 2 === 0 ? state.engines : [...state.engines].reverse()) {
      const started = performance.now();
      await predictImage(model, engine, image, policy);
      if (run > 0) times.get(engine)!.push(performance.now() - started);
    }
  }
  return Object.fromEntries([...times].map(([e, t]) => [e.label, { medianMs: Math.round(median(t)), runs: t.map(Math.round) }]));
}
