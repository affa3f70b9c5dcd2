// segmentation_models' FPN decoder and head: a 256-channel pyramid p5..p2 (nearest x2 plus 1x1 skip convolutions),
// segmentation blocks conv3x3-GroupNorm(32)-ReLU with bilinear x2 up to 1/4, sum, dropout; head conv1x1 + bilinear x4.
import { layers, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import { apply, conv, relu, upNearest } from '../blocks.ts';
import { BilinearUpsampling, GroupNormalization } from '../layers.ts';
import type { ArchitectureSpec, DecoderContext } from '../model-spec.ts';

/** FPN pyramid and segmentation channels (segmentation_models' defaults). */
export const FPN_CHANNELS = { pyramid: 256, segmentation: 128, dropout: 0.2 } as const;

function conv3x3GnRelu(x: SymbolicTensor, name: string, channels: number, upsample: boolean, seed: number): SymbolicTensor {
  let y = conv(x, `${name}.block.0`, channels, 3, { init: 'decoder', seed });
  y = apply(new GroupNormalization({ name: `${name}.block.1`, groups: 32, epsilon: 1e-5 }), y);
  y = relu(y, `${name}.block.2`);
  return upsample ? apply(new BilinearUpsampling({ name: `${name}.up`, scale: 2 }), y) : y;
}

function buildFpn(features: readonly SymbolicTensor[], { classes, seed, headBias }: DecoderContext): SymbolicTensor {
  const { pyramid, segmentation, dropout } = FPN_CHANNELS;
  const o = { init: 'decoder', seed, useBias: true, padding: 'valid' } as const;
  const p5 = conv(features[4]!, 'decoder.p5', pyramid, 1, o);
  const topDown = (previous: SymbolicTensor, skip: SymbolicTensor, name: string) =>
    apply(layers.add({ name: `${name}.add` }), [upNearest(previous, `${name}.up`), conv(skip, `${name}.skip_conv`, pyramid, 1, o)]);
  const p4 = topDown(p5, features[3]!, 'decoder.p4');
  const p3 = topDown(p4, features[2]!, 'decoder.p3');
  const p2 = topDown(p3, features[1]!, 'decoder.p2');
  const segmented = [p5, p4, p3, p2].map((p, i) => {
    const upsamples = 3 - i;
    let y = conv3x3GnRelu(p, `decoder.seg_blocks.${i}.block.0`, segmentation, upsamples > 0, seed);
    for (let j = 1; j < upsamples; j++) y = conv3x3GnRelu(y, `decoder.seg_blocks.${i}.block.${j}`, segmentation, true, seed);
    return y;
  });
  let x = apply(layers.add({ name: 'decoder.merge' }), segmented);
  // nn.Dropout2d: one keep/drop decision per sample and channel.
  x = apply(layers.dropout({ name: 'decoder.dropout', rate: dropout, noiseShape: [null, 1, 1, null] as unknown as number[] }), x);
  x = conv(x, 'segmentation_head.0', classes, 1, { init: 'head', seed, useBias: true, bias: headBias, padding: 'valid' });
  return apply(new BilinearUpsampling({ name: 'segmentation_head.1', scale: 4 }), x);
}

/** FPN as an {@link ArchitectureSpec}. */
export const fpn = {
  description: 'FPN: pyramid 256, segmentation 128, conv3x3-GroupNorm(32)-ReLU, bilinear x2, sum, dropout 0.2; head conv1x1 + bilinear x4',
  build: buildFpn,
} satisfies ArchitectureSpec;
