// Choosing the model and the inference engine, and the model section (details, metrics, errors).
import { byId, clearMessages, showMessage } from './dom.ts';
import { openEntry, refreshAll } from './gallery.ts';
import { renderModelDetails } from './metrics-view.ts';
import { createPageEngines, loadModel } from './model.ts';
import { inputPolicy, renderEngines } from './predictions.ts';
import { buildSliders } from './sliders.ts';
import { params, state, status } from './state.ts';

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

/** Uses an engine from now on: drops the cached predictions and timings, and predicts the open image again. */
export async function selectEngine(id: string): Promise<void> {
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

/** Loads a model and its engines (the previous one is freed), then rebuilds the sliders and predicts the open image again. */
export async function selectModel(id: string | null): Promise<void> {
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

/** Renders the model section for the current model. */
function renderDetails(): void {
  renderModelDetails(byId('model-details'), state.modelInfo, state.model, {
    backend: state.backend,
    workHeight: state.model?.fixedHeight ?? inputPolicy().workHeight,
    error: state.modelError,
  });
}
