// segmentation_models' UNet decoder and head: five blocks from the deepest feature up, each nearest x2, concat with the
// skip feature, (conv3x3-BN-ReLU) x2; then a conv3x3 head with bias. Names: `decoder.blocks.<i>.conv<1|2>.<0|1|2>`.
import { layers, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import { apply, batchNorm, conv, relu, upNearest } from '../blocks.ts';
import type { ArchitectureSpec, DecoderContext } from '../model-spec.ts';

/** UNet decoder channels, deepest first (segmentation_models' default). */
export const UNET_DECODER_CHANNELS = [256, 128, 64, 32, 16] as const;

function buildUnet(features: readonly SymbolicTensor[], { classes, seed, headBias }: DecoderContext): SymbolicTensor {
  const o = { init: 'decoder', seed } as const;
  const skips = [features[3], features[2], features[1], features[0], undefined];
  let x = features[4]!;
  UNET_DECODER_CHANNELS.forEach((channels, i) => {
    const name = `decoder.blocks.${i}`;
    x = upNearest(x, `${name}.up`);
    const skip = skips[i];
    // Concat order is [upsampled, skip] on the channel axis.
    if (skip) x = apply(layers.concatenate({ name: `${name}.concat`, axis: -1 }), [x, skip]);
    for (const c of ['conv1', 'conv2']) {
      x = relu(batchNorm(conv(x, `${name}.${c}.0`, channels, 3, o), `${name}.${c}.1`), `${name}.${c}.2`);
    }
  });
  return conv(x, 'segmentation_head.0', classes, 3, { init: 'head', seed, useBias: true, bias: headBias });
}

/** UNet as an {@link ArchitectureSpec}. */
export const unet = {
  description: 'UNet: decoder 256-128-64-32-16, nearest x2, concat [upsampled, skip], (conv3x3-BN-ReLU) x2; head conv3x3',
  build: buildUnet,
} satisfies ArchitectureSpec;
