// Convolution layers whose gradient computes only what the step needs. tfjs-layers runs every Conv2D through
// `tf.fused.conv2d`, whose gradient (a custom gradient) computes the input's gradient whether or not anything needs it:
// for a model's first convolution (the stem, on the image) that is a whole transposed convolution thrown away each step
// (about 13 ms of a UNet-ResNet18 step at 2x128x256). The plain `tf.conv2d` gradient is computed per input, only for
// inputs that lead back to a trained weight.
import * as tf from '@tensorflow/tfjs-core';
import { layers, type LayerVariable } from '@tensorflow/tfjs-layers';

type ConvLayer = InstanceType<typeof layers.Layer>;
type LayerArgs = NonNullable<Parameters<typeof layers.conv2d>[0]>;
type Kwargs = Parameters<ConvLayer['call']>[1];

/** What tfjs-layers' Conv2D keeps (private in its typings). */
interface ConvState {
  kernel: LayerVariable;
  bias: LayerVariable | null;
  strides: number[];
  padding: 'same' | 'valid' | 'causal';
  dilationRate: number | number[];
  dataFormat: string;
  activation: { getClassName(): string } | null;
}

let convClass: (new (args: LayerArgs) => ConvLayer) | undefined;

/**
 * tfjs-layers' `Conv2D` (same class name, weights and serialised form: saved models load as the stock layer) whose
 * channels-last call without bias or activation runs `tf.conv2d` instead of `tf.fused.conv2d`: the same result and
 * kernels, with the input's gradient left out where no trained weight is behind the input.
 */
function plainConv2D(): new (args: LayerArgs) => ConvLayer {
  if (convClass) return convClass;
  const Stock = Object.getPrototypeOf(layers.conv2d({ name: 'steel_conv_probe', filters: 1, kernelSize: 1 })).constructor as new (args: LayerArgs) => ConvLayer;
  convClass = class extends Stock {
    override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
      const state = this as unknown as ConvState;
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const linear = state.activation === null || state.activation.getClassName() === 'linear';
      if (state.bias !== null || !linear || state.dataFormat !== 'channelsLast' || state.padding === 'causal' || x.rank !== 4) {
        return super.call(inputs, kwargs);
      }
      const [sh, sw] = state.strides as [number, number];
      const dilation = (Array.isArray(state.dilationRate) ? state.dilationRate : [state.dilationRate, state.dilationRate]) as [number, number];
      return tf.conv2d(x as tf.Tensor4D, state.kernel.read() as tf.Tensor4D, [sh, sw], state.padding, 'NHWC', dilation);
    }
  };
  return convClass;
}

/** A Conv2D layer whose gradient leaves out the input's where nothing trained is behind it (see {@link plainConv2D}). */
export function conv2d(args: LayerArgs): ConvLayer {
  return new (plainConv2D())(args);
}
