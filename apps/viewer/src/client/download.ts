// Downloading the predicted masks as a submission CSV, with the sliders' settings.
import { analyse, csvSafeId, submissionCsv, submissionRecords } from '../shared/analysis.ts';
import { h } from './dom.ts';
import { state } from './state.ts';

/** Downloads the masks of every predicted image as a submission CSV, post-processed with the sliders' rules. */
export function download(): void {
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
