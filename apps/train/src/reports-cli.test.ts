// One tiny run with a classification head: the head is saved with the model, tune searches its gates, evaluate shows
// "+ gating", and the pages of `evaluate --report` and `eda --report` load in Chromium offline, showing the JSON's numbers.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatNumber } from '@steel/data';
import { runCli, tempDir } from './test-helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const browser = existsSync(CHROMIUM);
if (!browser && !process.env['CI']) console.warn(`train: report pages not opened in a browser, ${CHROMIUM} is missing (apps/viewer/scripts/ensure-chromium.sh installs it).`);

let root: string;
let run: string;

describe('classification head, gating and report pages', () => {
  beforeAll(() => {
    root = tempDir();
    run = join(root, 'runs', 'head');
    const g = runCli(['generate', '--out', join(root, 'data'), '--count', '8', '--test-count', '2', '--size', '32x64']);
    expect(g.status, g.stderr).toBe(0);
    const t = runCli([
      'train', '--data', join(root, 'data'), '--runs-dir', join(root, 'runs'), '--name', 'head', '--epochs', '1', '--steps', '2',
      '--batch-size', '2', '--val-fraction', '0.25', '--crop', 'none', '--backend', 'wasm', '--classification-head',
      '--class-loss-weight', '0.5', '--tune',
    ]);
    expect(t.status, t.stderr).toBe(0);
  }, 600_000);

  it('saves the head, tunes its gates and scores a "+ gating" step', { timeout: 600_000 }, () => {
    const identity = (JSON.parse(readFileSync(join(run, 'best', 'weights.json'), 'utf8')) as { identity: Record<string, unknown> }).identity;
    expect(identity).toMatchObject({ classificationHead: true });
    // The training report links to the error analysis of the test images.
    expect(readFileSync(join(run, 'report.html'), 'utf8')).toContain('href="evaluation.html"');
    expect(JSON.parse(readFileSync(join(run, 'evaluation.json'), 'utf8'))).toMatchObject({ images: 2 });
    const tuned = JSON.parse(readFileSync(join(run, 'tuned.json'), 'utf8')) as { classes: unknown[]; gating: { perClass: boolean[]; plain: { classes: unknown[] } } };
    expect(tuned.gating.perClass).toHaveLength(4);
    expect(tuned.gating.plain.classes).toHaveLength(4);
    const out = join(root, 'tuned.json');
    const tune = runCli(['tune', '--models', run, '--out', out]);
    expect(tune.status, tune.stderr).toBe(0);
    expect(tune.stderr).toContain("classification head's gates");
    const evaluate = runCli(['evaluate', '--models', run, '--postprocess', out, '--split', 'all', '--report', join(root, 'evaluation.html'), '--worst', '3']);
    expect(evaluate.status, evaluate.stderr).toBe(0);
    expect(evaluate.stdout).toMatch(/\n\+ post-processing .*\n\+ gating /);
    const report = JSON.parse(readFileSync(join(root, 'evaluation.json'), 'utf8')) as { images: number; perImage: unknown[]; worst: unknown[]; histogram: number[] };
    expect(report.images).toBe(8);
    expect(report.perImage).toHaveLength(8);
    expect(report.worst).toHaveLength(3);
    expect(report.histogram.reduce((a, b) => a + b, 0)).toBe(8);
    const eda = runCli(['eda', '--data', join(root, 'data'), '--report', join(root, 'eda.html')]);
    expect(eda.status, eda.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(root, 'eda.json'), 'utf8'))).toMatchObject({ images: 8 });
  });

  it.skipIf(!browser && !process.env['CI'])('both pages load in Chromium with no network and no console errors, and show the JSON\'s numbers', { timeout: 120_000 }, async () => {
    const context: BrowserContext = await chromium.launchPersistentContext(join(root, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const blocked: string[] = [];
    const errors: string[] = [];
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:') || url.startsWith('data:')) return route.continue();
      blocked.push(url);
      return route.abort();
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(e.message));
      for (const name of ['evaluation', 'eda']) {
        const json = JSON.parse(readFileSync(join(root, `${name}.json`), 'utf8')) as Record<string, unknown>;
        await page.goto(`file://${join(root, `${name}.html`)}`);
        const shown = await page.$$eval('[data-key]', (cells) => cells.map((c) => [c.getAttribute('data-key') ?? '', c.textContent ?? '']));
        expect(shown.length, name).toBeGreaterThan(20);
        for (const [key, text] of shown) {
          const value = key!.split('.').reduce<unknown>((v: unknown, k: string) => (v as Record<string, unknown>)[k], json);
          expect(text, `${name} ${key}`).toBe(formatNumber(value as number));
        }
        expect(JSON.parse((await page.textContent('#report-data'))!)).toEqual(json);
        expect(await page.locator('svg').count(), name).toBeGreaterThanOrEqual(2);
        // Every image decoded (inline PNG data).
        const images = await page.$$eval('img', (list) => list.map((i) => (i as unknown as { complete: boolean; naturalWidth: number }).complete && (i as unknown as { naturalWidth: number }).naturalWidth > 0));
        expect(images.length, name).toBeGreaterThan(0);
        expect(images.every(Boolean), name).toBe(true);
      }
      expect(blocked).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
