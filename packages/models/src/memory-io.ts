import type * as tf from '@tensorflow/tfjs-core';
import { ModelsError } from './errors.ts';

/** An IOHandler that keeps the saved model in memory; `artifacts` holds the last save. */
export interface MemoryIOHandler extends tf.io.IOHandler {
  /** The last saved model (topology, weight specs and one contiguous weight buffer), or null before any save. */
  readonly artifacts: tf.io.ModelArtifacts | null;
  save: NonNullable<tf.io.IOHandler['save']>;
  load: NonNullable<tf.io.IOHandler['load']>;
}

/** Concatenates tfjs weight data (one buffer or several) into one ArrayBuffer. */
export function joinWeightData(data: tf.io.WeightData | undefined): ArrayBuffer {
  if (data === undefined) return new ArrayBuffer(0);
  const parts = Array.isArray(data) ? data : [data];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(new Uint8Array(p), at);
    at += p.byteLength;
  }
  return out.buffer;
}

function copyArtifacts(a: tf.io.ModelArtifacts): tf.io.ModelArtifacts {
  const copy: tf.io.ModelArtifacts = { ...a, weightData: joinWeightData(a.weightData) };
  if (a.weightSpecs) copy.weightSpecs = a.weightSpecs.map((s) => ({ ...s }));
  if (a.modelTopology && !(a.modelTopology instanceof ArrayBuffer)) copy.modelTopology = structuredClone(a.modelTopology);
  return copy;
}

/**
 * An in-memory IOHandler for `model.save(handler)` and `tf.loadLayersModel(handler)`: saves copy the topology and
 * weights, loads return a copy, so the stored model never changes behind your back. Pass `artifacts` to load a model
 * held elsewhere (e.g. fetched model.json plus weights).
 * @throws {ModelsError} `IO_ERROR` when loading before anything was saved.
 * @example const memory = createMemoryIOHandler(); await model.save(memory); const copy = await tf.loadLayersModel(memory);
 */
export function createMemoryIOHandler(artifacts?: tf.io.ModelArtifacts): MemoryIOHandler {
  let stored: tf.io.ModelArtifacts | null = artifacts ? copyArtifacts(artifacts) : null;
  return {
    get artifacts() {
      return stored;
    },
    async save(modelArtifacts) {
      stored = copyArtifacts(modelArtifacts);
      const topology = stored.modelTopology;
      const topologyBytes =
        topology == null ? 0 : topology instanceof ArrayBuffer ? topology.byteLength : new TextEncoder().encode(JSON.stringify(topology)).byteLength;
      const weightSpecsBytes = new TextEncoder().encode(JSON.stringify(stored.weightSpecs ?? [])).byteLength;
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: topology instanceof ArrayBuffer ? 'GraphDef' : 'JSON',
          modelTopologyBytes: topologyBytes,
          weightSpecsBytes,
          weightDataBytes: (stored.weightData as ArrayBuffer).byteLength,
        },
      };
    },
    async load() {
      if (stored === null) throw new ModelsError('IO_ERROR', 'Nothing to load: this memory IOHandler holds no model yet; save one first.');
      return copyArtifacts(stored);
    },
  };
}
