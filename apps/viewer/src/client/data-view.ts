// The Data tab: the dataset's page (counts, plots, examples; `renderEdaPage` of @steel/data, served at /data.html) in a
// frame, shown instead of the viewer while the address ends in #data.
import { byId } from './dom.ts';

/** Shows the view the address names and loads the dataset page the first time it is shown. */
function showView(): void {
  const data = location.hash === '#data';
  byId('data-view').hidden = !data;
  document.querySelector('main')!.hidden = data;
  const frame = byId<HTMLIFrameElement>('data-frame');
  if (data && frame.getAttribute('src') === null) frame.src = '/data.html';
  for (const [id, current] of [['tab-images', !data], ['tab-data', data]] as const) {
    if (current) byId(id).setAttribute('aria-current', 'page');
    else byId(id).removeAttribute('aria-current');
  }
}

/** Wires the Data tab; hides it when the viewer has no dataset. */
export function initDataView(hasDataset: boolean): void {
  byId('tab-data').hidden = !hasDataset;
  if (!hasDataset) return;
  window.addEventListener('hashchange', showView);
  showView();
}
