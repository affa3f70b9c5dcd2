import { createServer, type Server } from 'node:http';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadLayersModel, type LayersModel } from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModel, createMemoryIOHandler, isModelsError, registerSteelLayers } from './index.ts';
import { createFileIOHandler } from './node/index.ts';

registerSteelLayers();

/** Predictions of `model` on a fixed input, as plain arrays. */
function outputsOf(model: LayersModel): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.randomUniform([2, 32, 64, 1], -1, 1, 'float32', 11);
    const y = model.predict(x);
    return (Array.isArray(y) ? y : [y]).map((t) => t.dataSync() as Float32Array);
  });
}

async function codeOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return isModelsError(error) ? error.code : error;
  }
  return 'no error';
}

describe('save and load', () => {
  let fpn: LayersModel; // custom layers (GroupNorm, bilinear) and a classification head
  let expected: Float32Array[];
  let dir: string;
  beforeAll(async () => {
    fpn = createModel({ architecture: 'fpn', encoder: 'resnet18', inChannels: 1, classes: 4, seed: 4, classificationHead: true });
    expected = outputsOf(fpn);
    dir = await mkdtemp(join(tmpdir(), 'steel-models-io-'));
  });
  afterAll(async () => {
    fpn.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips through memory with identical outputs', async () => {
    const memory = createMemoryIOHandler();
    await expect(codeOf(memory.load())).resolves.toBe('IO_ERROR');
    const result = await fpn.save(memory);
    expect(result.modelArtifactsInfo.weightDataBytes).toBeGreaterThan(40_000_000);
    const loaded = await loadLayersModel(memory);
    try {
      expect(outputsOf(loaded)).toEqual(expected);
      expect(loaded.outputs.map((o) => o.shape)).toEqual([[null, null, null, 4], [null, 4]]);
    } finally {
      loaded.dispose();
    }
  });

  it('writes model.json + weights.bin atomically and loads them back from files', async () => {
    const target = join(dir, 'nested', 'fpn');
    await fpn.save(createFileIOHandler(target));
    expect((await readdir(target)).sort()).toEqual(['model.json', 'weights.bin']);
    expect((await readdir(join(dir, 'nested'))).sort()).toEqual(['fpn']); // no temporary leftovers
    const json = JSON.parse(await readFile(join(target, 'model.json'), 'utf8')) as { format: string; weightsManifest: { paths: string[] }[] };
    expect(json.format).toBe('layers-model');
    expect(json.weightsManifest[0]!.paths).toEqual(['./weights.bin']);
    const loaded = await loadLayersModel(createFileIOHandler(target));
    try {
      expect(outputsOf(loaded)).toEqual(expected);
    } finally {
      loaded.dispose();
    }
  });

  it('loads with plain tf.loadLayersModel over HTTP, as a browser would', async () => {
    const target = join(dir, 'served');
    await fpn.save(createFileIOHandler(target));
    const server: Server = createServer(async (req, res) => {
      const path = normalize(join(target, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)));
      try {
        const body = await readFile(path);
        res.writeHead(200, { 'content-type': extname(path) === '.json' ? 'application/json' : 'application/octet-stream' });
        res.end(body);
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const loaded = await loadLayersModel(`http://127.0.0.1:${port}/model.json`);
      try {
        expect(outputsOf(loaded)).toEqual(expected);
      } finally {
        loaded.dispose();
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('replaces a saved model whole, and a crashed save (temporary directory left behind) never touches it', async () => {
    const target = join(dir, 'replace');
    const small = createModel({ architecture: 'unet', encoder: 'resnet18', inChannels: 1, classes: 1, seed: 1 });
    try {
      await small.save(createFileIOHandler(target));
      const firstSize = (await stat(join(target, 'weights.bin'))).size;
      // A save that died mid-write leaves only a hidden temporary sibling with partial files.
      const crashed = join(dir, '.replace.tmp-99999-deadbeef');
      await mkdir(crashed);
      await writeFile(join(crashed, 'weights.bin'), new Uint8Array(10));
      const survivor = await loadLayersModel(createFileIOHandler(target));
      expect(survivor.outputs[0]!.shape).toEqual([null, null, null, 1]);
      survivor.dispose();
      await fpn.save(createFileIOHandler(target));
      expect((await stat(join(target, 'weights.bin'))).size).not.toBe(firstSize);
      const loaded = await loadLayersModel(createFileIOHandler(target));
      expect(outputsOf(loaded)).toEqual(expected);
      loaded.dispose();
    } finally {
      small.dispose();
    }
  });

  it('refuses to replace a directory holding other files, and reports unreadable models', async () => {
    const target = join(dir, 'foreign');
    await mkdir(target);
    await writeFile(join(target, 'notes.txt'), 'keep me');
    await expect(codeOf(fpn.save(createFileIOHandler(target)))).resolves.toBe('IO_ERROR');
    expect(await readFile(join(target, 'notes.txt'), 'utf8')).toBe('keep me');
    await expect(codeOf(createFileIOHandler(join(dir, 'absent')).load())).resolves.toBe('IO_ERROR');
  });
});
