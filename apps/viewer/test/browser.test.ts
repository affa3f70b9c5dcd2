// The viewer in a real browser: Debian's Chromium driven by playwright-core, against a server on fixture models and a
// tiny synthetic dataset.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { computeEda, openKaggleDataset } from '@steel/data';
import { decode, parseCsv } from '@steel/rle';
import { openGallery } from '../src/server/gallery.ts';
import { startViewerServer, type ViewerServer } from '../src/server/server.ts';
import { modelSource, runSource } from '../src/server/sources.ts';
import { createFixtures, probeProbabilities, type Fixtures } from './fixtures.ts';

const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available && !process.env['CI']) {
  console.warn(`viewer: browser tests skipped, ${CHROMIUM} is missing (install it with apps/viewer/scripts/ensure-chromium.sh).`);
}

/** Numbers measured in the run, printed at the end. */
const measured: Record<string, number> = {};

/** A grey image as PNG bytes; `grey(r, c)` gives the level of each pixel. */
async function greyPng(height: number, width: number, grey: (r: number, c: number) => number): Promise<Buffer> {
  const data = Buffer.alloc(height * width);
  for (let r = 0; r < height; r++) for (let c = 0; c < width; c++) data[r * width + c] = grey(r, c);
  return sharp(data, { raw: { width, height, channels: 1 } }).png().toBuffer();
}

describe.skipIf(!available && !process.env['CI'])('viewer in Chromium', () => {
  let root: string;
  let fx: Fixtures;
  let server: ViewerServer;
  let context: BrowserContext;
  let page: Page;
  const requests: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'steel-viewer-'));
    fx = await createFixtures(root);
    server = await startViewerServer({
      models: [runSource(fx.runDir), modelSource(fx.probeDir), modelSource(fx.brokenDir), modelSource(fx.emptyDir)],
      gallery: await openGallery(fx.dataDir),
    });
    context = await chromium.launchPersistentContext(join(root, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1440, height: 900 },
      acceptDownloads: true,
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('request', (r) => requests.push(r.url()));
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (/skipped|timed/.test(m.text())) console.info(`page: ${m.text()}`);
    });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await server?.close();
    if (root) rmSync(root, { recursive: true, force: true });
    if (Object.keys(measured).length > 0) console.info(`viewer measurements: ${JSON.stringify(measured)}`);
  });

  const status = () => page.textContent('#status');
  const messages = () => page.locator('#messages .message').allTextContents();
  const waitForModel = (name: string) => page.waitForFunction((n) => document.querySelector('#status')?.textContent?.includes(`Model ${n} loaded`), name, { timeout: 60_000 });
  const waitForPrediction = () => page.waitForFunction(() => document.querySelector('#image-summary')?.textContent?.includes('Inference'), null, { timeout: 60_000 });
  const upload = async (name: string, mimeType: string, buffer: Buffer) => {
    // Clear the previous image's summary, so that waitForPrediction waits for this upload's prediction.
    await page.evaluate(() => {
      const summary = document.querySelector('#image-summary');
      if (summary) summary.textContent = '';
    });
    await page.locator('#upload').setInputFiles({ name, mimeType, buffer });
  };

  test('loads the page, the newest model, its metrics and the gallery', async () => {
    const started = performance.now();
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
    measured['pageReadyMs'] = Math.round(performance.now() - started);
    expect(await status()).toMatch(/Model fixture-run loaded in \d+ ms \(4 classes, 1 channel input\)\. Engine: tfjs \((webgl|wasm|cpu)\)\./);
    await expect.poll(() => page.locator('.thumb').count()).toBe(4);
    const details = await page.textContent('#model-details');
    expect(details).toContain('unet with resnet18 encoder');
    expect(details).toContain(`Parameters${fx.runParameters.toLocaleString('en')}`);
    expect(details).toMatch(/model \+ post-processing\s*0\.750/);
    expect(details).toMatch(/model \+ tuned post-processing \(tuned on these images\)\s*0\.800/);
    // The sliders start at the run's tuned post-processing.
    expect(await page.inputValue('#threshold-2')).toBe('0.45');
    expect(await page.inputValue('#min-area-4')).toBe('8');
    expect(pageErrors).toEqual([]);
  });

  test('opens an image: ground truth and predicted outlines, Dice, defect list', async () => {
    const defective = page.locator('.thumb[aria-label*="defect classes"]').first();
    await defective.click();
    await waitForPrediction();
    const summary = await page.textContent('#image-summary');
    measured['firstInferenceMs'] = Number(await page.getAttribute('#image-summary', 'data-inference-ms'));
    expect(summary).toMatch(/256 x 64 pixels\. Inference \d+ ms on (tfjs|onnxruntime-web) \([^)]+\); post-processing [\d.]+ ms\. Dice [01]\.\d{3}/);
    // The ground truth of a defective image is drawn; the prediction overlay follows the sliders.
    expect(Number(await page.getAttribute('#truth-canvas', 'data-painted'))).toBeGreaterThan(0);
    await page.focus('#threshold-1');
    await page.keyboard.press('Home');
    await expect.poll(async () => Number(await page.getAttribute('#pred-canvas', 'data-painted'))).toBeGreaterThan(0);
    // The canvas shows the image with the overlay: its pixels differ from the plain image where outlines are.
    const differs = await page.evaluate(() => {
      const pred = document.querySelector<HTMLCanvasElement>('#pred-canvas')!;
      const a = pred.getContext('2d')!.getImageData(0, 0, pred.width, pred.height).data;
      let coloured = 0;
      for (let i = 0; i < a.length; i += 4) if (a[i] !== a[i + 1] || a[i] !== a[i + 2]) coloured++;
      return coloured;
    });
    expect(differs).toBeGreaterThan(0);
    // Open a second image to time a warm inference.
    await page.locator('.thumb').nth(1).click();
    await page.waitForFunction(() => document.querySelector('#viewer-h')?.textContent?.startsWith('t000001'), null, { timeout: 60_000 });
    await waitForPrediction();
    measured['warmInferenceMs'] = Number(await page.getAttribute('#image-summary', 'data-inference-ms'));
  });

  test('moving a slider re-runs the post-processing and changes the defect list', async () => {
    const summary = () => page.textContent('#defect-summary');
    await page.focus('#threshold-1');
    await page.keyboard.press('Home'); // 0.01: nearly every pixel is class 1
    await expect.poll(summary).toMatch(/class 1: [1-9]\d*/);
    const low = await summary();
    await page.keyboard.press('End'); // 0.99: a random network is never that sure
    await expect.poll(summary).toMatch(/class 1: 0|No defects found/);
    expect(await summary()).not.toBe(low);
    expect(await page.textContent('output[for="threshold-1"]')).toBe('0.99');
    // The minimum area removes every component at or below it.
    await page.focus('#min-area-2');
    await page.keyboard.press('End');
    const max = Number(await page.getAttribute('#min-area-2', 'max'));
    const areas = await page.$$eval('#defect-rows tr', (rows) =>
      rows.map((r) => ({ cls: r.querySelector('td')?.textContent, area: Number(r.querySelectorAll('td')[1]?.textContent) })),
    );
    for (const row of areas.filter((a) => a.cls === '2')) expect(row.area).toBeGreaterThan(max);
    // Reset brings back the run's settings.
    await page.click('#reset-post');
    expect(await page.inputValue('#threshold-1')).toBe('0.5');
    expect(await page.inputValue('#min-area-2')).toBe('4');
  });

  test('uploads images of any size and downloads their masks as a competition CSV', async () => {
    await page.selectOption('#model-select', { label: 'probe (folder)' });
    await waitForModel('probe');
    // 64 x 5000: three tiles at the dataset's height. Background 100, a bright band (class 1) and a dark patch (class 2).
    const bright = (r: number, c: number) => r >= 10 && r < 30 && c >= 100 && c < 4900;
    const dark = (r: number, c: number) => r >= 40 && r < 50 && c >= 1990 && c < 2110;
    const level = (r: number, c: number) => (bright(r, c) ? 240 : dark(r, c) ? 10 : 100);
    await upload('strip.png', 'image/png', await greyPng(64, 5000, level));
    await waitForPrediction();
    expect(await page.textContent('#viewer-h')).toBe('Your image: strip.png');
    expect(await page.textContent('#truth-note')).toBe('No ground truth for this image.');
    // Twice the working height: resized to 64 rows, predicted, and the masks resized back to 128 x 400.
    const tall = (r: number, c: number) => (r >= 20 && r < 60 && c >= 40 && c < 360 ? 240 : 100);
    await upload('tall.png', 'image/png', await greyPng(128, 400, tall));
    await page.waitForFunction(() => document.querySelector('#viewer-h')?.textContent === 'Your image: tall.png');
    await waitForPrediction();
    expect(await page.textContent('#defect-summary')).toMatch(/class 1: 1, class 2: 0/);

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    const file = join(root, 'download.csv');
    await download.saveAs(file);
    const text = readFileSync(file, 'utf8');
    expect(text.split('\n')[0]).toBe('ImageId,EncodedPixels,ClassId');
    const { format, records } = parseCsv(text);
    expect(format).toBe('submission');
    // Every image predicted with this model: the open gallery image (re-predicted when the model changed) and the uploads.
    const ids = ['strip.png', 't000001.jpg', 'tall.png'];
    expect(records.map((r) => `${r.imageId}/${r.classId}`).sort().join(' ')).toEqual(ids.flatMap((id) => [1, 2, 3, 4].map((k) => `${id}/${k}`)).join(' '));
    // The strip is predicted at its own height, so its masks are exactly the pixels whose probability exceeds 0.5.
    const mask = (imageId: string, classId: number, height: number, width: number) =>
      decode(records.find((r) => r.imageId === imageId && r.classId === classId)!.rle, { height, width });
    for (const classId of [1, 2]) {
      const got = mask('strip.png', classId, 64, 5000);
      let wrong = 0;
      for (let r = 0; r < 64; r++) for (let c = 0; c < 5000; c++) {
        const expected = probeProbabilities(level(r, c))[classId - 1]! > 0.5 ? 1 : 0;
        if (got[r * 5000 + c] !== expected) wrong++;
      }
      expect(wrong, `class ${classId} pixels that differ from the expected mask`).toBe(0);
    }
    expect(mask('strip.png', 3, 64, 5000).includes(1)).toBe(false);
    // The resized image: the band comes back where it was, up to the blur of resizing its edges (the logits are resized
    // back before the sigmoid, so a steep edge may gain one pixel on each side: 40x320 in 42x322, IoU 0.946).
    const got = mask('tall.png', 1, 128, 400);
    let inter = 0;
    let union = 0;
    for (let r = 0; r < 128; r++) for (let c = 0; c < 400; c++) {
      const want = tall(r, c) === 240 ? 1 : 0;
      inter += want & got[r * 400 + c]!;
      union += want | got[r * 400 + c]!;
    }
    expect(inter / union).toBeGreaterThan(0.94);
  });

  test('runs each engine it offers (tfjs, ONNX Runtime Web) with the same probabilities, and shows the engine in the header', async () => {
    const current = () =>
      page.evaluate(() => {
        const { state } = (globalThis as unknown as { steelViewer: { state: { current: { key: string } | null; engine: { id: string } | null; engines: { id: string }[]; predictions: Map<string, { map: { probs: Float32Array } }> } } }).steelViewer;
        return { engine: state.engine?.id, engines: state.engines.map((e) => e.id), probs: Array.from(state.predictions.get(state.current!.key)!.map.probs) };
      });
    const levels = (r: number, c: number) => (r * 7 + c * 3) % 256;
    // The steel UNet of the fixture run, and the probe (a tf.sequential model, exported to ONNX as well).
    for (const model of ['fixture-run', 'probe (folder)']) {
      await page.selectOption('#model-select', { label: model });
      await waitForModel(model.replace(' (folder)', ''));
      const offered = await page.$$eval('#engine-select option', (options) => options.map((o) => (o as HTMLOptionElement).value));
      // Headless Chromium here has no GPU, so no WebGPU engine.
      expect(offered).toEqual(['tfjs', 'onnxruntime']);
      const results: Record<string, number[]> = {};
      for (const engine of offered) {
        await page.selectOption('#engine-select', engine);
        await upload(`levels-${engine}.png`, 'image/png', await greyPng(64, 300, levels));
        await waitForPrediction();
        const got = await current();
        expect(got.engine).toBe(engine);
        expect(await page.textContent('#image-summary')).toContain(engine === 'tfjs' ? 'on tfjs (' : 'on onnxruntime-web (wasm');
        results[engine] = got.probs;
      }
      const [a, b] = [results['tfjs']!, results['onnxruntime']!];
      let diff = 0;
      let scale = 0;
      for (let i = 0; i < a.length; i++) {
        diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
        scale = Math.max(scale, Math.abs(a[i]!));
      }
      expect(diff / scale, `${model}: max |tfjs - onnxruntime| / max |tfjs|`).toBeLessThan(1e-4);
    }
    // What the screenshot script times: every engine offered on one image of a given size, in this page load.
    const timed = await page.evaluate(() =>
      (globalThis as unknown as { steelViewer: { timeEngines: (h: number, w: number, r: number) => Promise<Record<string, { medianMs: number; runs: number[] }>> } }).steelViewer.timeEngines(64, 96, 1),
    );
    expect(Object.keys(timed)).toEqual([expect.stringMatching(/^tfjs \(/), expect.stringMatching(/^onnxruntime-web \(wasm, \d+ threads\)$/)]);
    for (const t of Object.values(timed)) expect(t.runs).toHaveLength(1);
  });

  test('bad input gets a visible message', async () => {
    await upload('notes.txt', 'text/plain', Buffer.from('not an image'));
    await expect.poll(messages).toContainEqual(expect.stringContaining('"notes.txt" is not an image'));
    await upload('broken.png', 'image/png', Buffer.from('this is not a PNG'));
    await expect.poll(messages).toContainEqual(expect.stringContaining('"broken.png" could not be decoded as an image'));
    await page.selectOption('#model-select', { label: 'broken (folder)' });
    await expect.poll(messages).toContainEqual(expect.stringContaining(`The model folder ${fx.brokenDir} does not hold a loadable TensorFlow.js layers model`));
    await page.selectOption('#model-select', { label: 'empty (folder)' });
    await expect.poll(messages).toContainEqual(expect.stringContaining(`The model folder ${fx.emptyDir} is not a model: it has no model.json`));
    await upload('strip.png', 'image/png', await greyPng(32, 64, () => 100));
    await expect.poll(messages).toContainEqual(expect.stringContaining('No model is loaded, so "strip.png" cannot be analysed.'));
    expect(await page.textContent('#pred-note')).toContain('No model is loaded');
  });

  test('the Data tab shows the dataset page, whose counts are the EDA of the dataset', async () => {
    const consoleErrors: string[] = [];
    const onConsole = (m: ConsoleMessage) => void (m.type() === 'error' && consoleErrors.push(m.text()));
    page.on('console', onConsole);
    try {
      await page.click('#tab-data');
      await expect.poll(() => page.isVisible('main')).toBe(false);
      const frame = page.frameLocator('#data-frame');
      const dataset = await openKaggleDataset(fx.dataDir);
      const eda = computeEda(dataset.images, { classes: dataset.classes });
      const shown = (key: string) => frame.locator(`[data-key="${key}"]`).textContent();
      await expect.poll(() => shown('images'), { timeout: 60_000 }).toBe(String(readdirSync(join(fx.dataDir, 'train_images')).length));
      expect(await shown('images')).toBe(String(eda.images));
      expect(await shown('withDefects')).toBe(String(eda.withDefects));
      for (const [k, c] of eda.perClass.entries()) expect(await shown(`perClass.${k}.masks`)).toBe(String(c.masks));
      // The count charts and one mask-area histogram per class, and every example image decoded.
      expect(await frame.locator('svg').count()).toBe(3 + dataset.classes);
      const decoded = () => frame.locator('img').evaluateAll((list) => list.length > 0 && list.every((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0));
      await expect.poll(decoded).toBe(true);
      await page.click('#tab-images');
      await expect.poll(() => page.isVisible('main')).toBe(true);
    } finally {
      page.off('console', onConsole);
    }
    expect(consoleErrors).toEqual([]);
  });

  test('everything comes from the viewer (works offline), and a screenshot for the README', async () => {
    await page.selectOption('#model-select', { label: 'fixture-run' });
    await waitForModel('fixture-run');
    await page.locator('.thumb[aria-label*="defect classes"]').first().click();
    await waitForPrediction();
    await page.click('#predict-page');
    await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('Predicted'), null, { timeout: 60_000 });
    const origin = new URL(server.url).origin;
    const foreign = requests.filter((u) => !u.startsWith(origin) && !u.startsWith('blob:') && !u.startsWith('data:'));
    expect(foreign).toEqual([]);
    const out = process.env['VIEWER_SCREENSHOT'] === '1' ? resolve(import.meta.dirname, '..', 'docs', 'screenshot.png') : join(root, 'screenshot.png');
    await mkdir(resolve(out, '..'), { recursive: true });
    await page.screenshot({ path: out, fullPage: false });
    expect(existsSync(out)).toBe(true);
    expect(pageErrors).toEqual([]);
  });
});
