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
