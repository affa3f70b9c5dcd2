// The models the page runs on ONNX Runtime Web: each tfjs layers model exported to ONNX here, in Node, once per server
// (protobufjs generates its encoders with `new Function`, which the page's Content-Security-Policy rightly forbids).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadLayersModel } from '@tensorflow/tfjs-layers';
import { registerSteelLayers } from '@steel/models';
import { exportOnnx } from '@steel/onnx';

const cache = new Map<string, Promise<Uint8Array>>();

/** Reads a layers model folder (model.json and the weight files it lists). */
function folderHandler(dir: string): tf.io.IOHandler {
  return {
    async load() {
      const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as {
        modelTopology: object;
        weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
      };
      const buffers = json.weightsManifest.flatMap((group) => group.paths.map((p) => new Uint8Array(readFileSync(join(dir, p)))));
      const weightData = tf.io.concatenateArrayBuffers(buffers.map((b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));
      return { modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g) => g.weights), weightData };
    },
  };
}

/**
 * The ONNX bytes of the layers model in `dir` (input `image` NCHW float32, output `logits`), exported once and cached.
 * @throws whatever loading or exporting throws; the server answers 500 with the message.
 */
export function onnxOf(dir: string): Promise<Uint8Array> {
  let bytes = cache.get(dir);
  if (bytes === undefined) {
    bytes = (async () => {
      registerSteelLayers();
      const model = await loadLayersModel(folderHandler(dir));
      try {
        return exportOnnx(model);
      } finally {
        model.dispose();
      }
    })();
    bytes.catch(() => cache.delete(dir));
    cache.set(dir, bytes);
  }
  return bytes;
}
