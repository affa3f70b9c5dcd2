// Opens the viewer in headless Chromium on the given run (same flags as `start`), predicts the first page of images,
// saves a screenshot and prints page-load and inference times, then times each engine offered (tfjs, ONNX Runtime Web) in
// the same page load on a 256x1600 image and prints the median inference per image of each; the figures also go to
// docs/results/viewer-engines.json (--result <file>, or --result '' for none).
// pnpm --filter viewer screenshot [--run runs/<name>] [--data <dir>] [--out docs/screenshot.png] [--backend wasm] [--threshold 0.3] [--runs 3]
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
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
// Optional: set every class threshold before the screenshot (the defective image with the best Dice is opened either way).
const threshold = take('--threshold', '');
// Where the figures go (the README quotes them); '' writes none. Timed predictions per engine at 256x1600.
const REPO = resolve(import.meta.dirname, '..', '..', '..');
const resultFile = take('--result', join(REPO, 'docs', 'results', 'viewer-engines.json'));
const RUNS = Number(take('--runs', '3'));
const load0 = loadavg()[0]!;

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
  const model = await page.evaluate(() => {
    type Info = { name: string; config: Record<string, unknown> | null; metrics: Record<string, unknown> | null };
    const { state } = (globalThis as unknown as { steelViewer: { state: { modelInfo: Info | null; model: { parameters: number; inChannels: number; classes: number } | null } } }).steelViewer;
    const config = state.modelInfo?.config ?? {};
    return {
      name: state.modelInfo?.name,
      parameters: state.model?.parameters,
      inChannels: state.model?.inChannels,
      classes: state.model?.classes,
      run: Object.fromEntries(['data', 'synthetic', 'architecture', 'encoder', 'epochs', 'scale', 'loss'].filter((k) => config[k] !== undefined).map((k) => [k, config[k]])),
      // The run's test scores (metrics.json) as the page shows them: competition Dice, mean and per class.
      test: state.modelInfo?.metrics?.['test'] ?? null,
    };
  });
  const size = await page.evaluate(() => {
    const { state } = (globalThis as unknown as { steelViewer: { state: { current: { pixels: { height: number; width: number } } | null } } }).steelViewer;
    return state.current ? `${state.current.pixels.height}x${state.current.pixels.width}` : 'unknown';
  });
  // Every engine offered, in this page load, on one 256x1600 image (a Severstal strip's size; the network sees it as is):
  // the median inference per image of each, engines alternating.
  const [probeHeight, probeWidth] = [256, 1600];
  const perEngine = await page.evaluate(
    ([h, w, runs]) => (globalThis as unknown as { steelViewer: { timeEngines: (h: number, w: number, r: number) => Promise<Record<string, { medianMs: number; runs: number[] }>> } }).steelViewer.timeEngines(h!, w!, runs!),
    [probeHeight, probeWidth, RUNS],
  );
  if (threshold !== '') {
    for (const input of await page.locator('input[id^="threshold-"]').all()) await input.fill(threshold);
    await page.locator('input[id="threshold-1"]').dispatchEvent('change');
  }
  {
    // The image with defects that the model predicts best, so that the screenshot shows what it finds.
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
  const tfjsWasm = Object.entries(perEngine).find(([label]) => label === 'tfjs (wasm)')?.[1].medianMs;
  const byDefault = timings.engine ? perEngine[timings.engine.label]?.medianMs : undefined;
  const result = {
    command: `pnpm --filter viewer screenshot ${process.argv.slice(2).join(' ')}`.trim(),
    date: new Date().toISOString(),
    browser: context.browser()?.version() ?? `chromium (${await page.evaluate(() => navigator.userAgent)})`,
    cpus: availableParallelism(),
    loadAverage1m: [load0, loadavg()[0]!].map((l) => Number(l.toFixed(2))),
    screenshot: relative(REPO, out),
    model: model,
    backend: timings.backend,
    pageReadyMs: Math.round(readyMs),
    galleryImageSize: size,
    galleryImages: sorted.length,
    firstInferenceMs: Math.round(timings.timings[0] ?? Number.NaN),
    medianInferenceMs: Math.round(sorted[Math.floor(sorted.length / 2)] ?? Number.NaN),
    defaultEngine: timings.engine?.label,
    // Every gallery prediction of this page load, per engine: the first image by each engine (the default is the faster), then the default's.
    galleryInferenceMsPerEngine: Object.fromEntries(Object.entries(timings.engineTimings).map(([id, t]) => [id, t.map(Math.round)])),
    enginesOffered: timings.engines.map((e) => e.label),
    imageSize: `${probeHeight}x${probeWidth}`,
    runsPerEngine: RUNS,
    medianInferenceMsPerEngine: perEngine,
    defaultNotSlowerThanTfjsWasm: tfjsWasm === undefined || byDefault === undefined ? null : byDefault <= tfjsWasm,
  };
  console.log(JSON.stringify(result));
  if (resultFile !== '') {
    mkdirSync(dirname(resultFile), { recursive: true });
    writeFileSync(`${resultFile}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
    renameSync(`${resultFile}.tmp`, resultFile);
    console.log(`written ${resultFile}`);
  }
} finally {
  await context.close();
  await viewer.close();
  rmSync(profile, { recursive: true, force: true });
}
