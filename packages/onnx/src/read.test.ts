import { input, layers, model as buildModel } from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { describeOnnxModel, exportOnnx, isOnnxError, readOnnxMetadata } from './index.ts';

function exportTiny(metadata: Record<string, string>): Uint8Array {
  const x = input({ shape: [null, null, 3] as unknown as number[] });
  const y = layers.conv2d({ filters: 4, kernelSize: 1, name: 'head' }).apply(x);
  const model = buildModel({ inputs: x, outputs: y as never, name: 'tiny' });
  try {
    return exportOnnx(model, { metadata });
  } finally {
    model.dispose();
  }
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (isOnnxError(error)) return error.code;
    throw error;
  }
  return 'no error';
}

describe('readOnnxMetadata and describeOnnxModel', () => {
  const metadata = { classes: '4', scale: '0.5', 'tuned.json': '{"rules":[]}' };
  const bytes = exportTiny(metadata);

  it('read what exportOnnx wrote', () => {
    expect(readOnnxMetadata(bytes)).toEqual(metadata);
    expect(describeOnnxModel(bytes)).toEqual({
      inputs: [{ name: 'image', shape: ['N', 3, 'H', 'W'] }],
      outputs: [{ name: 'logits', shape: ['N', 4, 'H', 'W'] }],
      metadata,
    });
  });

  it('refuse the file truncated at every length with INVALID_MODEL', () => {
    const codes = new Set<string>();
    for (let n = 0; n < bytes.length; n++) codes.add(codeOf(() => readOnnxMetadata(bytes.subarray(0, n))));
    expect([...codes]).toEqual(['INVALID_MODEL']);
    expect(codeOf(() => describeOnnxModel(bytes.subarray(0, bytes.length - 1)))).toBe('INVALID_MODEL');
  });

  it('refuse bytes that are not ONNX: text, an image header, random bytes, a non-Uint8Array', () => {
    const random = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (Math.imul(i + seed, 2654435761) >>> 24) & 255);
    const inputs = [
      new TextEncoder().encode('{"modelTopology": {}}'),
      Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13),
      ...[1, 2, 3, 4, 5].map((seed) => random(4096, seed)),
    ];
    for (const b of inputs) expect(codeOf(() => readOnnxMetadata(b))).toBe('INVALID_MODEL');
    expect(codeOf(() => readOnnxMetadata('model.onnx' as unknown as Uint8Array))).toBe('INVALID_MODEL');
    try {
      readOnnxMetadata(bytes.subarray(0, 100));
    } catch (error) {
      expect((error as Error).message).toMatch(/^Expected .*100 bytes.*truncated/);
    }
  });
});
