import * as tf from '@tensorflow/tfjs-core';
import { ADAM_UPDATE, type AdamUpdateAttrs } from './kernels/adam-update.ts';

/** The private state of tfjs' AdamOptimizer that its own applyGradients keeps (and checkpoints save). */
interface AdamState {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
}

type Gradients = Parameters<tf.AdamOptimizer['applyGradients']>[0];

/** tfjs' AdamOptimizer, updating each float32 variable with one `SteelAdamUpdate` kernel where the backend has it. */
class FusedAdamOptimizer extends tf.AdamOptimizer {
  override applyGradients(variableGradients: Gradients): void {
    const backend = tf.getBackend();
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    const gradientOf = (name: string, i: number) => (Array.isArray(variableGradients) ? variableGradients[i]?.tensor : variableGradients[name]);
    const fused =
      tf.getKernel(ADAM_UPDATE, backend) !== undefined &&
      names.every((name, i) => tf.engine().registeredVariables[name]?.dtype === 'float32' && (gradientOf(name, i)?.dtype ?? 'float32') === 'float32');
    if (!fused) {
      super.applyGradients(variableGradients);
      return;
    }
    const state = this as unknown as AdamState;
    const attrs: AdamUpdateAttrs = {
      learningRate: this.learningRate,
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: this.epsilon,
      accBeta1: state.accBeta1.dataSync()[0]!,
      accBeta2: state.accBeta2.dataSync()[0]!,
    };
    tf.tidy(() => {
      names.forEach((name, i) => {
        const value = tf.engine().registeredVariables[name]!;
        // The moments are created as tfjs creates them (same names, so saved optimizer weights stay compatible).
        state.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        state.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        const gradient = gradientOf(name, i);
        if (gradient == null) return;
        const m = state.accumulatedFirstMoment[i]!.variable;
        const v = state.accumulatedSecondMoment[i]!.variable;
        const [newValue, newM, newV] = tf.engine().runKernel(ADAM_UPDATE, { value, gradient, m, v }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
        m.assign(newM!);
        v.assign(newV!);
        value.assign(newValue!);
      });
      state.accBeta1.assign(tf.mul(state.accBeta1, this.beta1));
      state.accBeta2.assign(tf.mul(state.accBeta2, this.beta2));
    });
    this.incrementIterations();
  }
}

/**
 * Returns an Adam optimizer that is tfjs' `tf.train.adam` (same class, configuration, saved weights and results to the
 * last bit) but updates each variable in one pass where `setupBackend` registered the `SteelAdamUpdate` kernel (wasm,
 * cpu): about thirteen full-size element-wise kernels per variable become one. Elsewhere (webgpu, tensorflow) it runs
 * tfjs' own update.
 * @example
 * const optimizer = createAdam(1e-3);
 * optimizer.minimize(() => loss(), false, variables);
 */
export function createAdam(learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon?: number): tf.AdamOptimizer {
  return new FusedAdamOptimizer(learningRate, beta1, beta2, epsilon);
}
