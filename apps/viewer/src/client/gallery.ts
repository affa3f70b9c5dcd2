// The gallery: a page of dataset thumbnails with their Dice badges, predicting the whole page, and opening an image
// (from the gallery, an upload or a model change) in the panels.
import type { GalleryPage } from '../shared/api.ts';
import { analyse, imageDice } from '../shared/analysis.ts';
import { byId, classClass, h, showMessage } from './dom.ts';
import { datasetEntry } from './images.ts';
import { renderCurrent, truthOf } from './panels.ts';
import { median, predictEntry } from './predictions.ts';
import { state, status, type Entry } from './state.ts';

/** Thumbnails per gallery page. */
export const PAGE_SIZE = 24;

/** Opens an image in the panels (marking its thumbnail) and predicts it when a model is loaded. */
export async function openEntry(entry: Entry, { focus }: { focus: boolean }): Promise<void> {
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

/** Shows a page of a split's thumbnails; a click opens the image. */
export async function loadPage(split: string, offset: number): Promise<void> {
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
export function refreshBadges(): void {
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

/** Redraws the badges and the open image (after the model or the rules changed). */
export function refreshAll(): void {
  refreshBadges();
  renderCurrent();
}

/** Predicts every image of the gallery page, or stops a run in progress. */
export async function predictPage(): Promise<void> {
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

