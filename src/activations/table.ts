/**
 * Node activations of the Neural Module layer (and the URN layer) with their
 * derivatives, which the closed-form backward pass needs (tfjs' own activations do
 * not expose f'). Names and formulas are tfjs-layers' (`activations.js`), so a
 * `Dense(…, {activation: X})` can be swapped for a layer with the same X; only the
 * pointwise ones are here (softmax / logSoftmax mix a whole row).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { SparseKernels } from '../kernels/index.js';
import { fastTanh, normalCdf, normalPdf, sigmoid, softplus } from './scalar.js';

export const NODE_ACTIVATIONS = [
  'tanh',
  'sigmoid',
  'relu',
  'softplus',
  'linear',
  'elu',
  'selu',
  'swish',
  'gelu',
  'gelu_new',
  'mish',
  'softsign',
  'relu6',
  'hardSigmoid',
  'leakyRelu',
] as const;
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
  /**
   * f'(x) on typed arrays, given x and f(x). `out` may alias either input. `kernels`: given
   * when `fx` and `out` are views of its arena (x need not be), so the activation may run
   * a kernel over them (tanh does); the result is the same bits either way.
   */
  hostDerivative(x: Float32Array, fx: Float32Array, out: Float32Array, kernels?: SparseKernels): void;
}

/** Negative slope of 'leakyRelu' (tf.leakyRelu's default). */
export const LEAKY_RELU_ALPHA = 0.2;
// tfjs-core's selu constants (ops/selu_util): scale λ and λ·α.
const SELU_SCALE = 1.0507009873554804934193349852946;
const SELU_SCALEALPHA = 1.7580993408473768599402175208123;
// gelu_new: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_K = 0.044715;
/** Beyond |x| = 20 gelu_new' is exactly 0 or 1 in float64; clamping keeps x² finite for huge x. */
const GELU_NEW_CLAMP = 20;

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
/** 0 for a number, NaN for NaN: `v === v ? c : v` keeps NaN flowing through piecewise constants. */
const keepNaN = (v: number, c: number) => (v === v ? c : v);

/** tanh(softplus(v)) = n/(n + 2) with n = e^v(e^v + 2), exact to rounding; 1 beyond v = 20. */
function tanhSoftplus(v: number): number {
  if (v > 20) return 1;
  const e = Math.exp(v);
  const n = e * (e + 2);
  return n / (n + 2);
}
function geluNewDerivative(v: number): number {
  if (v !== v) return v;
  const c = v > GELU_NEW_CLAMP ? GELU_NEW_CLAMP : v < -GELU_NEW_CLAMP ? -GELU_NEW_CLAMP : v;
  const t = Math.tanh(GELU_C * (c + GELU_K * c * c * c));
  return 0.5 * (1 + t) + 0.5 * c * (1 - t * t) * GELU_C * (1 + 3 * GELU_K * c * c);
}

const TABLE: Record<NodeActivationName, NodeActivation> = {
  tanh: {
    name: 'tanh',
    apply: tf.tanh,
    derivative: (_x, fx) => tf.sub(1, tf.square(fx)),
    lipschitz: 1,
    hostApply: (x, out, kernels) => kernels.tanh(x, out),
    hostDerivative: (_x, fx, out, kernels) => {
      if (kernels !== undefined) return kernels.tanhDerivative(fx, out);
      for (let i = 0; i < fx.length; i++) out[i] = 1 - fx[i] * fx[i];
    },
  },
  sigmoid: {
    name: 'sigmoid',
    apply: tf.sigmoid,
    derivative: (_x, fx) => tf.mul(fx, tf.sub(1, fx)),
    lipschitz: 0.25,
    hostApply: map1((v) => 0.5 + 0.5 * fastTanh(0.5 * v)),
    hostDerivative: map2((_v, fv) => fv * (1 - fv)),
  },
  relu: {
    name: 'relu',
    apply: tf.relu,
    derivative: (x) => tf.step(x),
    lipschitz: 1,
    hostApply: map1((v) => (v > 0 ? v : keepNaN(v, 0))),
    hostDerivative: map2((v) => (v > 0 ? 1 : keepNaN(v, 0))),
  },
  softplus: {
    name: 'softplus',
    apply: tf.softplus,
    derivative: (x) => tf.sigmoid(x),
    lipschitz: 1,
    hostApply: map1(softplus),
    hostDerivative: map2(sigmoid),
  },
  linear: {
    name: 'linear',
    apply: (x) => tf.clone(x),
    derivative: (x) => tf.onesLike(x),
    lipschitz: 1,
    hostApply: map1((v) => v),
    hostDerivative: map2((v) => keepNaN(v, 1)),
  },
  // x > 0 ? x : e^x − 1;  f' = 1 or e^x = f + 1.
  elu: {
    name: 'elu',
    apply: tf.elu,
    lipschitz: 1,
    derivative: (x, fx) => tf.where(tf.greater(x, 0), tf.onesLike(x), tf.add(fx, 1)),
    hostApply: map1((v) => (v > 0 ? v : Math.expm1(v))),
    hostDerivative: map2((v, fv) => (v > 0 ? 1 : fv + 1)),
  },
  // λ·(x > 0 ? x : α(e^x − 1));  f' = λ or λα·e^x = f + λα;  sup|f'| = λα at 0⁻.
  selu: {
    name: 'selu',
    apply: tf.selu,
    lipschitz: SELU_SCALEALPHA,
    derivative: (x, fx) => tf.where(tf.greater(x, 0), tf.fill(x.shape, SELU_SCALE), tf.add(fx, SELU_SCALEALPHA)),
    hostApply: map1((v) => (v > 0 ? SELU_SCALE * v : SELU_SCALEALPHA * Math.expm1(v))),
    hostDerivative: map2((v, fv) => (v > 0 ? SELU_SCALE : fv + SELU_SCALEALPHA)),
  },
  // x·σ(x);  f' = σ + f·(1 − σ);  sup|f'| = 1.0998393 at x ≈ ±2.39936 (f' ranges over [−0.0998, 1.0998]).
  swish: {
    name: 'swish',
    apply: (x) => tf.mul(tf.sigmoid(x), x),
    lipschitz: 1.09984,
    derivative: (x, fx) => {
      const s = tf.sigmoid(x);
      return tf.add(s, tf.mul(fx, tf.sub(1, s)));
    },
    hostApply: map1((v) => v * sigmoid(v)),
    hostDerivative: map2((v, fv) => {
      const s = sigmoid(v);
      return s + fv * (1 - s);
    }),
  },
  // x·Φ(x) with Φ(x) = (1 + erf(x/√2))/2;  f' = Φ(x) + x·φ(x);  sup|f'| = 1.1289041 at x = √2 (f' ranges over [−0.1289, 1.1289]).
  gelu: {
    name: 'gelu',
    lipschitz: 1.12891,
    apply: (x) => tf.mul(x, tf.mul(0.5, tf.add(1, tf.erf(tf.div(x, Math.SQRT2))))),
    derivative: (x) => tf.add(tf.mul(0.5, tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))), tf.mul(x, tf.mul(normalPdf(0), tf.exp(tf.mul(-0.5, tf.square(x)))))),
    hostApply: map1((v) => v * normalCdf(v)),
    hostDerivative: map2((v) => normalCdf(v) + v * normalPdf(v)),
  },
  // 0.5·x·(1 + tanh(u)), u = c·(x + k·x³);  f' = (1 + t)/2 + x·(1 − t²)·c·(1 + 3k·x²)/2;  sup|f'| = 1.1289931 at x ≈ ±1.4185.
  gelu_new: {
    name: 'gelu_new',
    lipschitz: 1.129,
    apply: (x) => tf.mul(0.5, tf.mul(x, tf.add(1, tf.tanh(tf.mul(GELU_C, tf.add(x, tf.mul(GELU_K, tf.pow(x, 3)))))))),
    derivative: (x) => {
      const c = tf.clipByValue(x, -GELU_NEW_CLAMP, GELU_NEW_CLAMP);
      const c2 = tf.square(c);
      const t = tf.tanh(tf.mul(GELU_C, tf.mul(c, tf.add(1, tf.mul(GELU_K, c2)))));
      const inner = tf.mul(tf.mul(c, tf.sub(1, tf.square(t))), tf.mul(GELU_C, tf.add(1, tf.mul(3 * GELU_K, c2))));
      return tf.mul(0.5, tf.add(tf.add(1, t), inner));
    },
    hostApply: map1((v) => 0.5 * v * (1 + Math.tanh(GELU_C * (v + GELU_K * v * v * v)))),
    hostDerivative: map2(geluNewDerivative),
  },
  // x·tanh(softplus(x));  f' = t + x·(1 − t²)·σ(x) with t = tanh(softplus(x));  sup|f'| = 1.0884982 at x ≈ 1.4906.
  mish: {
    name: 'mish',
    lipschitz: 1.0885,
    apply: (x) => tf.mul(x, tf.tanh(tf.softplus(x))),
    derivative: (x) => {
      const t = tf.tanh(tf.softplus(x));
      return tf.add(t, tf.mul(tf.mul(x, tf.sub(1, tf.square(t))), tf.sigmoid(x)));
    },
    hostApply: map1((v) => v * tanhSoftplus(v)),
    hostDerivative: map2((v) => {
      const t = tanhSoftplus(v);
      return t + v * (1 - t * t) * sigmoid(v);
    }),
  },
  // x / (1 + |x|);  f' = 1/(1 + |x|)².
  softsign: {
    name: 'softsign',
    lipschitz: 1,
    apply: (x) => tf.div(x, tf.add(tf.abs(x), 1)),
    derivative: (x) => tf.reciprocal(tf.square(tf.add(tf.abs(x), 1))),
    hostApply: map1((v) => v / (Math.abs(v) + 1)),
    hostDerivative: map2((v) => {
      const d = Math.abs(v) + 1;
      return 1 / (d * d);
    }),
  },
  // min(max(x, 0), 6);  f' = 1 on (0, 6). (NaN first: tfjs-wasm's min/max/clip/relu6 return the other operand for NaN in second place.)
  relu6: {
    name: 'relu6',
    lipschitz: 1,
    apply: (x) => tf.minimum(tf.relu(x), 6),
    derivative: (x) => tf.mul(tf.step(x), tf.step(tf.sub(6, x))),
    hostApply: map1((v) => (v > 6 ? 6 : v > 0 ? v : keepNaN(v, 0))),
    hostDerivative: map2((v) => (v > 0 && v < 6 ? 1 : keepNaN(v, 0))),
  },
  // clip(0.2·x + 0.5, 0, 1);  f' = 0.2 on (−2.5, 2.5).
  hardSigmoid: {
    name: 'hardSigmoid',
    lipschitz: 0.2,
    apply: (x) => tf.minimum(tf.maximum(tf.add(tf.mul(x, 0.2), 0.5), 0), 1),
    derivative: (x) => tf.mul(0.2, tf.mul(tf.step(tf.add(x, 2.5)), tf.step(tf.sub(2.5, x)))),
    hostApply: map1((v) => {
      const y = 0.5 + 0.2 * v;
      return y > 1 ? 1 : y < 0 ? 0 : y;
    }),
    hostDerivative: map2((v) => (v > -2.5 && v < 2.5 ? 0.2 : keepNaN(v, 0))),
  },
  // x > 0 ? x : α·x;  f' = 1 or α (tf.step(x, α) is exactly that, NaN → NaN).
  leakyRelu: {
    name: 'leakyRelu',
    lipschitz: 1,
    apply: (x) => tf.leakyRelu(x, LEAKY_RELU_ALPHA),
    derivative: (x) => tf.step(x, LEAKY_RELU_ALPHA),
    hostApply: map1((v) => (v < 0 ? LEAKY_RELU_ALPHA * v : v)),
    hostDerivative: map2((v) => (v > 0 ? 1 : keepNaN(v, LEAKY_RELU_ALPHA))),
  },
};

/** Looks up a node activation by name (validated by the caller). */
export function nodeActivation(name: NodeActivationName): NodeActivation {
  return TABLE[name];
}
