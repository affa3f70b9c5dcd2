// Opens the viewer in headless Chromium on the given run (same flags as `start`), predicts the first page of images,
// saves a screenshot and prints page-load and inference times, then predicts the page again with each engine offered
// (tfjs, ONNX Runtime Web) and prints the median inference per image of each.
// pnpm --filter viewer screenshot [--run runs/<name>] [--data <dir>] [--out docs/screenshot.png] [--backend wasm] [--threshold 0.3]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import sharp from 'sharp';
import { resolveStart } from '../src/server/cli.ts';
import { startViewerServer } from '../src/server/server.ts';

const args = process.argv.slice(2);
const take = (flag: string, fallback: string) => {
  const i = args.indexOf(flag);
  if (i === -1) return fallback;
  const [value] = args.splice(i, 2).slice(1);
  return value ?? fallback;
};
const out = resolve(process.env['INIT_CWD'] ?? process.cwd(), take('--out', resolve(import.meta.dirname, '..', 'docs', 'screenshot.png')));
const backend = take('--backend', '');
const width = Number(take('--width', '1440'));
// Optional: set every class threshold before the screenshot, then open the defective image with the best Dice.
const threshold = take('--threshold', '');

const start = await resolveStart([...args, '--port', '0']);
const viewer = await startViewerServer({ models: start.models, gallery: start.gallery, notices: start.notices });
const profile = mkdtempSync(join(tmpdir(), 'steel-viewer-shot-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width, height: 900 },
});
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  const started = performance.now();
  await page.goto(`${viewer.url}${backend ? `?backend=${backend}` : ''}`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
  const readyMs = performance.now() - started;
  const thumb = page.locator('.thumb[aria-label*="defect classes"]').first();
  await ((await thumb.count()) > 0 ? thumb : page.locator('.thumb').first()).click();
  await page.waitForFunction(() => document.querySelector('#image-summary')?.textContent?.includes('Inference'), null, { timeout: 120_000 });
  await page.click('#predict-page');
  await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('Predicted'), null, { timeout: 600_000 });
  type PageState = { timings: number[]; backend: string; engine: { id: string; label: string } | null; engines: { id: string; label: string }[]; engineTimings: Record<string, number[]> };
  const read = () =>
    page.evaluate(() => {
      const { state } = (globalThis as unknown as { steelViewer: { state: PageState } }).steelViewer;
      return { timings: [...state.timings], backend: state.backend, engine: state.engine, engines: state.engines.map((e) => ({ id: e.id, label: e.label })), engineTimings: state.engineTimings };
    });
  const timings = await read();
  // Every engine offered, on the same page of images in this page load: the median inference per image of each.
  const size = await page.evaluate(() => {
    const { state } = (globalThis as unknown as { steelViewer: { state: { current: { pixels: { height: number; width: number } } | null } } }).steelViewer;
    return state.current ? `${state.current.pixels.height}x${state.current.pixels.width}` : 'unknown';
  });
  const perEngine: Record<string, { medianMs: number; images: number }> = {};
  for (const engine of timings.engines) {
    await page.selectOption('#engine-select', engine.id);
    await page.click('#predict-page');
    await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('Predicted'), null, { timeout: 600_000 });
    const t = [...(await read()).timings].sort((a, b) => a - b);
    perEngine[engine.label] = { medianMs: Math.round(t[Math.floor(t.length / 2)] ?? Number.NaN), images: t.length };
  }
  await page.selectOption('#engine-select', timings.engine?.id ?? 'tfjs');
  if (threshold !== '') {
    for (const input of await page.locator('input[id^="threshold-"]').all()) await input.fill(threshold);
    await page.locator('input[id="threshold-1"]').dispatchEvent('change');
    const best = await page.$$eval('.thumb[aria-label*="defect classes"]', (buttons) =>
      buttons
        .map((b) => ({ key: b.getAttribute('data-key'), dice: Number(b.querySelector('.badge')?.textContent?.replace('Dice ', '') ?? 0) }))
        .sort((a, b) => b.dice - a.dice)[0]?.key,
    );
    if (best) await page.click(`.thumb[data-key="${best}"]`);
    await page.waitForTimeout(500);
  }
  await page.locator('#messages .message[data-topic="notice"] button').evaluateAll((buttons) => buttons.forEach((b) => (b as HTMLButtonElement).click()));
  await page.locator('#viewer').scrollIntoViewIfNeeded();
  // A palette PNG keeps the file small enough for the repository.
  await sharp(await page.screenshot({ fullPage: true })).png({ palette: true, quality: 90, effort: 10 }).toFile(out);
  const sorted = [...timings.timings].sort((a, b) => a - b);
  console.log(
    JSON.stringify({
      screenshot: out,
      backend: timings.backend,
      pageReadyMs: Math.round(readyMs),
      images: sorted.length,
      firstInferenceMs: Math.round(timings.timings[0] ?? Number.NaN),
      medianInferenceMs: Math.round(sorted[Math.floor(sorted.length / 2)] ?? Number.NaN),
      defaultEngine: timings.engine?.label,
      imageSize: size,
      medianInferenceMsPerEngine: perEngine,
    }),
  );
} finally {
  await context.close();
  await viewer.close();
  rmSync(profile, { recursive: true, force: true });
}
