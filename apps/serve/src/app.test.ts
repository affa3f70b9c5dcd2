import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, loadFixturePredictor } from '../test/helpers.ts';
import { buildApp, checkBinding, createGate, type AppOptions } from './app.ts';
import { postprocessImage } from './defects.ts';
import { createMetrics } from './metrics.ts';
import { decodeImage, type Predictor } from './model.ts';

let predictor: Predictor;
let image: Buffer;

beforeAll(async () => {
  predictor = await loadFixturePredictor();
  const dir = fixture().small;
  image = readFileSync(join(dir, readdirSync(dir).sort()[0]!));
}, 120_000);
afterAll(() => predictor?.dispose());

async function listen(options: Partial<AppOptions> = {}): Promise<{ app: FastifyInstance; url: string }> {
  const app = buildApp({ predictor, metrics: createMetrics({ defaults: false }), ...options });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url: address };
}

const post = (url: string, body: Uint8Array | string, type = 'image/jpeg', headers: Record<string, string> = {}) =>
  fetch(`${url}/v1/predict`, { method: 'POST', body, headers: { 'content-type': type, ...headers } });

describe('POST /v1/predict', () => {
  it('answers the defects of an image: the RLE of each class equals the post-processed prediction', async () => {
    const { app, url } = await listen();
    try {
      const res = await post(url, image);
      expect(res.status).toBe(200);
      const json = (await res.json()) as { image: { height: number; width: number }; classes: { classId: number; rle: string; area: number; box: unknown }[]; timings: { totalMs: number } };
      const decoded = await decodeImage(image, 1);
      const { rles } = postprocessImage(await predictor.predict(decoded), decoded, predictor.info.postprocess);
      expect(json.image).toEqual({ height: 64, width: 128 });
      expect(json.classes.map((c) => c.rle)).toEqual(rles);
      expect(json.classes.some((c) => c.area > 0)).toBe(true);
      for (const c of json.classes) expect(c.box === null).toBe(c.area === 0);
      expect(json.timings.totalMs).toBeGreaterThan(0);

      const overlay = await fetch(`${url}/v1/predict?overlay=1`, { method: 'POST', body: image, headers: { 'content-type': 'image/jpeg' } });
      expect(overlay.headers.get('content-type')).toBe('image/png');
      const meta = await sharp(Buffer.from(await overlay.arrayBuffer())).metadata();
      expect([meta.height, meta.width, meta.format]).toEqual([64, 128, 'png']);
    } finally {
      await app.close();
    }
  });

  it('answers bad input with 4xx JSON naming the problem', async () => {
    const { app, url } = await listen({ bodyLimit: 1000 });
    try {
      const cases = [
        { res: await post(url, 'hello', 'text/plain'), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
        { res: await post(url, new Uint8Array(0)), status: 400, code: 'EMPTY_BODY' },
        { res: await post(url, new Uint8Array(5000)), status: 413, code: 'BODY_TOO_LARGE' },
        { res: await post(url, new TextEncoder().encode('these are not image bytes')), status: 422, code: 'BAD_IMAGE' },
        { res: await post(url, image.subarray(0, 400)), status: 422, code: 'BAD_IMAGE' },
        { res: await fetch(`${url}/v1/nothing`), status: 404, code: 'NOT_FOUND' },
        { res: await fetch(`${url}/v1/predict`, { method: 'POST' }), status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
      ];
      for (const { res, status, code } of cases) {
        expect(res.status, code).toBe(status);
        expect(res.headers.get('content-type')).toMatch(/^application\/json/);
        const body = (await res.json()) as { error: { code: string; message: string } };
        expect(body.error.code).toBe(code);
        expect(body.error.message.length).toBeGreaterThan(10);
      }
    } finally {
      await app.close();
    }
  });

  it('200 concurrent requests on loopback all succeed (no 5xx)', async () => {
    const { app, url } = await listen();
    // A small image keeps the 200 predictions short; the point is the concurrency.
    const small = await sharp(image).extract({ left: 0, top: 0, width: 64, height: 32 }).png().toBuffer();
    try {
      const statuses = await Promise.all(Array.from({ length: 200 }, () => post(url, small, 'image/png').then(async (r) => (await r.arrayBuffer(), r.status))));
      expect(statuses.filter((s) => s !== 200)).toEqual([]);
    } finally {
      await app.close();
    }
  });
});

describe('createGate', () => {
  it('runs one task at a time and refuses beyond maxQueue waiting with OVERLOADED', async () => {
    const gate = createGate(2);
    const order: string[] = [];
    let release!: () => void;
    const first = gate.run(() => new Promise<void>((r) => (release = r)).then(() => order.push('a')));
    const second = gate.run(async () => order.push('b'));
    const third = gate.run(async () => order.push('c'));
    await expect(gate.run(async () => order.push('d'))).rejects.toMatchObject({ code: 'OVERLOADED', status: 503 });
    expect(gate.pending).toBe(3);
    release();
    await Promise.all([first, second, third]);
    expect(order).toEqual(['a', 'b', 'c']);
    expect(gate.pending).toBe(0);
  });
});

describe('service routes', () => {
  it('health, readiness (with Redis down: 503), models and Prometheus metrics', async () => {
    const { app, url } = await listen({ redisPing: async () => Promise.reject(new Error('connect ECONNREFUSED')) });
    try {
      expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { checks: { redis: string } }).checks.redis).toMatch(/unreachable/);
      const models = (await (await fetch(`${url}/v1/models`)).json()) as { classes: number; fingerprint: string; members: { architecture: string }[] };
      expect(models.classes).toBe(4);
      expect(models.fingerprint).toMatch(/^[0-9a-f]{64}$/);
      expect(models.members[0]!.architecture).toBe('unet');
      await post(url, image);
      await post(url, 'x', 'text/plain');
      const text = await (await fetch(`${url}/metrics`)).text();
      expect(text).toMatch(/steel_http_request_duration_seconds_bucket\{.*route="\/v1\/predict".*status="200"/);
      expect(text).toMatch(/steel_images_processed_total\{source="http"\} 1/);
      expect(text).toMatch(/steel_failures_total\{source="http",code="UNSUPPORTED_MEDIA_TYPE"\} 1/);
      expect(text).toMatch(/steel_inference_duration_seconds_count\{source="http"\} 1/);
    } finally {
      await app.close();
    }
  });

  it('a bearer token guards /v1 and /metrics but not the probes; binding beyond loopback needs one', async () => {
    const { app, url } = await listen({ token: 's3cret' });
    try {
      const denied = await post(url, image);
      expect(denied.status).toBe(401);
      expect(((await denied.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
      expect((await post(url, image, 'image/jpeg', { authorization: 'Bearer wrong!' })).status).toBe(401);
      expect((await fetch(`${url}/metrics`)).status).toBe(401);
      expect((await post(url, image, 'image/jpeg', { authorization: 'Bearer s3cret' })).status).toBe(200);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      await app.close();
    }
    expect(() => checkBinding('0.0.0.0', undefined)).toThrow(/STEEL_SERVE_TOKEN/);
    expect(() => checkBinding('0.0.0.0', 'token')).not.toThrow();
    expect(() => checkBinding('127.0.0.1', undefined)).not.toThrow();
  });
});
