/**
 * Node activations of the Neural Module layer with their derivatives, which the
 * closed-form backward pass needs (tfjs' own activations do not expose f').
 */
import * as tf from '@tensorflow/tfjs-core';
import type { SparseKernels } from '../kernels/index.js';

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
  /** f on typed arrays (the host engine): `out[i] = f(x[i])` for i in [0, x.length). `out` may be `x`; both are arena views of `kernels`. */
  hostApply(x: Float32Array, out: Float32Array, kernels: SparseKernels): void;
  /** f'(x) on typed arrays, given x and f(x). `out` may alias either input. */
  hostDerivative(x: Float32Array, fx: Float32Array, out: Float32Array): void;
}

// Rational approximation of tanh on [−7.9988, 7.9988] (the float32 tanh of Eigen);
// absolute error below 2.2e-7 everywhere, about 4× faster than Math.tanh in V8.
// The host tanh itself runs in the kernels (kernels.tanh, same formula in f32).
const T = 7.99881172180175781;
const [A1, A3, A5, A7, A9, A11, A13] = [4.89352455891786e-3, 6.37261928875436e-4, 1.48572235717979e-5, 5.12229709037114e-8, -8.60467152213735e-11, 2.00018790482477e-13, -2.76076847742355e-16];
const [B0, B2, B4, B6] = [4.89352518554385e-3, 2.268434632439e-3, 1.18534705686654e-4, 1.19825839466702e-6];

/** tanh(v) by the rational approximation (NaN stays NaN). */
export function fastTanh(v: number): number {
  const c = v > T ? T : v < -T ? -T : v;
  const c2 = c * c;
  return (c * (A1 + c2 * (A3 + c2 * (A5 + c2 * (A7 + c2 * (A9 + c2 * (A11 + c2 * A13))))))) / (B0 + c2 * (B2 + c2 * (B4 + c2 * B6)));
}

function map1(fn: (v: number) => number) {
  return (x: Float32Array, out: Float32Array) => {
    for (let i = 0; i < x.length; i++) out[i] = fn(x[i]);
  };
}
function map2(fn: (v: number, fv: number) => number) {
  return (x: Float32Array, fx: Float32Array, out: Float32Array) => {
    for (let i = 0; i < x.length; i++) out[i] = fn(x[i], fx[i]);
  };
}
const softplus = (v: number) => (v > 0 ? v + Math.log1p(Math.exp(-v)) : Math.log1p(Math.exp(v)));

const TABLE: Record<NodeActivationName, NodeActivation> = {
  tanh: {
    name: 'tanh', apply: tf.tanh, derivative: (_x, fx) => tf.sub(1, tf.square(fx)), lipschitz: 1,
    hostApply: (x, out, kernels) => kernels.tanh(x, out),
    hostDerivative: (_x, fx, out) => {
      for (let i = 0; i < fx.length; i++) out[i] = 1 - fx[i] * fx[i];
    },
  },
  sigmoid: {
    name: 'sigmoid', apply: tf.sigmoid, derivative: (_x, fx) => tf.mul(fx, tf.sub(1, fx)), lipschitz: 0.25,
    hostApply: map1((v) => 0.5 + 0.5 * fastTanh(0.5 * v)), hostDerivative: map2((_v, fv) => fv * (1 - fv)),
  },
  relu: {
    name: 'relu', apply: tf.relu, derivative: (x) => tf.step(x), lipschitz: 1,
    hostApply: map1((v) => (v > 0 ? v : v === v ? 0 : v)), hostDerivative: map2((v) => (v > 0 ? 1 : v === v ? 0 : v)),
  },
  softplus: {
    name: 'softplus', apply: tf.softplus, derivative: (x) => tf.sigmoid(x), lipschitz: 1,
    hostApply: map1(softplus), hostDerivative: map2((v) => 1 / (1 + Math.exp(-v))),
  },
  linear: {
    name: 'linear', apply: (x) => tf.clone(x), derivative: (x) => tf.onesLike(x), lipschitz: 1,
    hostApply: map1((v) => v), hostDerivative: map2((v) => (v === v ? 1 : v)),
  },
};

/** Looks up a node activation by name (validated by the caller). */
export function nodeActivation(name: NodeActivationName): NodeActivation {
  return TABLE[name];
}
