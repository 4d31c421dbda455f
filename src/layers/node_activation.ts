/**
 * Node activations of the Neural Module layer with their derivatives, which the
 * closed-form backward pass needs (tfjs' own activations do not expose f').
 */
import * as tf from '@tensorflow/tfjs-core';

export const NODE_ACTIVATIONS = ['tanh', 'sigmoid', 'relu', 'softplus', 'linear'] as const;
export type NodeActivationName = (typeof NODE_ACTIVATIONS)[number];

/** f, f' and sup|f'| of a node activation. */
export interface NodeActivation {
  name: NodeActivationName;
  apply(x: tf.Tensor): tf.Tensor;
  /** f'(x), given x and f(x). */
  derivative(x: tf.Tensor, fx: tf.Tensor): tf.Tensor;
  /** Lipschitz constant sup|f'|, used in the contraction bound ‖A‖·sup|f'| < 1. */
  lipschitz: number;
}

const TABLE: Record<NodeActivationName, NodeActivation> = {
  tanh: { name: 'tanh', apply: tf.tanh, derivative: (_x, fx) => tf.sub(1, tf.square(fx)), lipschitz: 1 },
  sigmoid: { name: 'sigmoid', apply: tf.sigmoid, derivative: (_x, fx) => tf.mul(fx, tf.sub(1, fx)), lipschitz: 0.25 },
  relu: { name: 'relu', apply: tf.relu, derivative: (x) => tf.step(x), lipschitz: 1 },
  softplus: { name: 'softplus', apply: tf.softplus, derivative: (x) => tf.sigmoid(x), lipschitz: 1 },
  linear: { name: 'linear', apply: (x) => tf.clone(x), derivative: (x) => tf.onesLike(x), lipschitz: 1 },
};

/** Looks up a node activation by name (validated by the caller). */
export function nodeActivation(name: NodeActivationName): NodeActivation {
  return TABLE[name];
}
