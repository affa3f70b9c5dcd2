// The viewer page's start: wires the controls, reads the server's info, starts TensorFlow.js, opens the first gallery
// page and model.
import type { ViewerInfo } from '../shared/api.ts';
import { initBackend } from './backend.ts';
import { initDataView } from './data-view.ts';
import { byId, h, showMessage } from './dom.ts';
import { download } from './download.ts';
import { loadPage, PAGE_SIZE, predictPage, refreshAll } from './gallery.ts';
import { selectEngine, selectModel } from './model-picker.ts';
import { timeEngines } from './predictions.ts';
import { buildSliders } from './sliders.ts';
import { params, state, status } from './state.ts';
import { openUpload } from './upload.ts';

/** Connects the page's controls to their handlers. */
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

/** Starts the page: server info, TensorFlow.js backend, the first gallery page and the model. */
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
  initDataView(info.dataset !== null);
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
Object.assign(globalThis, { steelViewer: { state, timeEngines } });

void start().catch((error: unknown) => showMessage(`The page failed to start: ${error instanceof Error ? error.message : String(error)}`));
