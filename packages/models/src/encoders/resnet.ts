// torchvision ResNet encoders without the classifier (`avgpool`, `fc`): the stem and the four stages, shared by every
// block type, and the BasicBlock family (ResNet18, ResNet34). Layer names are torchvision's module paths under
// `encoder.` (`encoder.layer2.0.conv1`, `encoder.layer2.0.downsample.0`).
import { layers, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import { apply, batchNorm, conv, pad, relu, torchConv } from '../blocks.ts';
import type { EncoderSpec } from '../model-spec.ts';

/** What a residual block builder receives besides its input. */
export interface ResidualBlockOptions {
  /** Output channels of the block. */
  readonly channels: number;
  /** 2 on the first block of layer2..layer4, else 1. */
  readonly stride: number;
  /** Whether the identity path needs a 1x1 convolution + BN (`downsample.0`, `downsample.1`). */
  readonly downsample: boolean;
  readonly seed: number;
}

/** Builds one residual block named `name` (`encoder.layer<stage>.<index>`). */
export type ResidualBlock = (x: SymbolicTensor, name: string, options: ResidualBlockOptions) => SymbolicTensor;

/** The identity path: `x`, or torchvision's `downsample` (1x1 convolution with the block's stride, then BN). */
export function shortcut(x: SymbolicTensor, name: string, { channels, stride, downsample, seed }: ResidualBlockOptions): SymbolicTensor {
  if (!downsample) return x;
  const projected = conv(x, `${name}.downsample.0`, channels, 1, { init: 'encoder', seed, strides: stride, padding: 'valid' });
  return batchNorm(projected, `${name}.downsample.1`);
}

/** `relu(residual + identity)`, as the last step of every torchvision block. */
export function addRelu(residual: SymbolicTensor, identity: SymbolicTensor, name: string, reluName: string): SymbolicTensor {
  return relu(apply(layers.add({ name: `${name}.add` }), [residual, identity]), `${name}.${reluName}`);
}

/** torchvision BasicBlock: relu(bn2(conv2(relu(bn1(conv1(x))))) + identity), stride on conv1. */
export const basicBlock: ResidualBlock = (x, name, options) => {
  const o = { init: 'encoder', seed: options.seed } as const;
  let y = torchConv(x, `${name}.conv1`, options.channels, 3, options.stride, o);
  y = relu(batchNorm(y, `${name}.bn1`), `${name}.relu1`);
  y = batchNorm(conv(y, `${name}.conv2`, options.channels, 3, o), `${name}.bn2`);
  return addRelu(y, shortcut(x, name, options), name, 'relu2');
};

/** What {@link resnetEncoder} needs to know about one torchvision ResNet. */
export interface ResnetDefinition {
  readonly description: string;
  /** The residual block of every stage. */
  readonly block: ResidualBlock;
  /** Blocks in layer1..layer4. */
  readonly blocks: readonly [number, number, number, number];
  /** Channels of f1..f5: the stem's 64, then each stage's output channels. */
  readonly channels: EncoderSpec['channels'];
}

/**
 * A torchvision ResNet as an {@link EncoderSpec}: f1 = relu(bn1(conv1(x))) at 1/2 (before the max-pool), f2..f5 =
 * layer1..layer4. The first block of layer2..layer4 has stride 2; a first block whose stride or channels change gets a
 * `downsample` path.
 */
export function resnetEncoder({ description, block, blocks, channels }: ResnetDefinition): EncoderSpec {
  return {
    description,
    channels,
    build(x, { seed }) {
      const f1 = relu(batchNorm(torchConv(x, 'encoder.conv1', 64, 7, 2, { init: 'encoder', seed }), 'encoder.bn1'), 'encoder.relu');
      // Zero padding equals torch's -inf padding here only because the input is post-ReLU (>= 0).
      let y = apply(layers.maxPooling2d({ name: 'encoder.maxpool', poolSize: 3, strides: 2, padding: 'valid' }), pad(f1, 'encoder.maxpool.pad', 1));
      const features = [f1];
      let inChannels = 64;
      blocks.forEach((count, stage) => {
        const out = channels[stage + 1]!;
        for (let i = 0; i < count; i++) {
          const stride = i === 0 && stage > 0 ? 2 : 1;
          const downsample = i === 0 && (stride !== 1 || inChannels !== out);
          y = block(y, `encoder.layer${stage + 1}.${i}`, { channels: out, stride, downsample, seed });
          inChannels = out;
        }
        features.push(y);
      });
      return features;
    },
  };
}

/** torchvision ResNet18: BasicBlocks 2-2-2-2, 11.2 M parameters. */
export const resnet18 = resnetEncoder({
  description: 'torchvision ResNet18 (BasicBlock 2-2-2-2), 11.2 M parameters',
  block: basicBlock,
  blocks: [2, 2, 2, 2],
  channels: [64, 64, 128, 256, 512],
});

/** torchvision ResNet34: BasicBlocks 3-4-6-3, 21.3 M parameters. */
export const resnet34 = resnetEncoder({
  description: 'torchvision ResNet34 (BasicBlock 3-4-6-3), 21.3 M parameters',
  block: basicBlock,
  blocks: [3, 4, 6, 3],
  channels: [64, 64, 128, 256, 512],
});
