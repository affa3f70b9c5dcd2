// The open image's panels: ground truth and prediction overlays, Dice, the defect list and the download button's state.
// Only post-processing runs here, so the sliders redraw at frame rate.
import { analyse, decodeTruth, imageDice } from '../shared/analysis.ts';
import { countPainted, paintOverlay } from '../shared/outline.ts';
import { byId, classClass, h } from './dom.ts';
import { state, type Entry } from './state.ts';

/** The ground truth masks and overlay of an entry for `classes` classes, decoded once; null when unknown. */
export function truthOf(entry: Entry, classes: number): Entry['truth'] | null {
  if (entry.truthRles === null) return null;
  if (entry.truth?.classes === classes) return entry.truth;
  const { height, width } = entry.pixels;
  const masks = decodeTruth(entry.truthRles, height, width, classes);
  entry.truth = { classes, masks, overlay: overlayCanvas(masks, height, width) };
  return entry.truth;
}

/** A canvas with the outlines of the masks in their class colours (`data-painted` counts the painted pixels). */
function overlayCanvas(masks: readonly Uint8Array[], height: number, width: number): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const rgba = paintOverlay(masks, height, width, { thickness: Math.max(1, Math.round(width / 800)) });
  canvas.getContext('2d')!.putImageData(new ImageData(rgba as Uint8ClampedArray<ArrayBuffer>, width, height), 0, 0);
  canvas.dataset['painted'] = String(countPainted(rgba));
  return canvas;
}

/** Draws an image with an overlay on a panel canvas. */
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
export function renderCurrent(): void {
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

/** Whether a redraw waits for the next frame. */
let renderQueued = false;

/** Redraws the open image at the next frame (once however many slider events came). */
export function scheduleRender(): void {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    renderCurrent();
  });
}
