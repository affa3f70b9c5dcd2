// torchvision ResNets of Bottleneck blocks (ResNet50): 1x1 reduce, 3x3 (carrying the stride, "ResNet v1.5"), 1x1 expand
// by 4, each followed by BN; the first block of every stage projects the identity with `downsample`. Layer names are
// torchvision's (`encoder.layer1.0.conv3`, `encoder.layer2.0.downsample.0`).
import { batchNorm, conv, relu, torchConv } from '../blocks.ts';
import { addRelu, type ResidualBlock, resnetEncoder, shortcut } from './resnet.ts';

/** Output channels over inner (3x3) channels. */
const EXPANSION = 4;

/** torchvision Bottleneck: relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + identity), stride on conv2. */
export const bottleneckBlock: ResidualBlock = (x, name, options) => {
  const o = { init: 'encoder', seed: options.seed } as const;
  const width = options.channels / EXPANSION;
  let y = relu(batchNorm(conv(x, `${name}.conv1`, width, 1, o), `${name}.bn1`), `${name}.relu1`);
  y = relu(batchNorm(torchConv(y, `${name}.conv2`, width, 3, options.stride, o), `${name}.bn2`), `${name}.relu2`);
  y = batchNorm(conv(y, `${name}.conv3`, options.channels, 1, o), `${name}.bn3`);
  return addRelu(y, shortcut(x, name, options), name, 'relu3');
};

/** torchvision ResNet50: Bottlenecks 3-4-6-3, 23.5 M parameters. */
export const resnet50 = resnetEncoder({
  description: 'torchvision ResNet50 (Bottleneck 3-4-6-3, stride on the 3x3), 23.5 M parameters',
  block: bottleneckBlock,
  blocks: [3, 4, 6, 3],
  channels: [64, 256, 512, 1024, 2048],
});
