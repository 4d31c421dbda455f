/**
 * The URN update rule as a pure tensor function of (input, kernel, bias), shared by
 * the layer's `call()`, its activity penalty and the emergent-structure analysis.
 *
 * Row-vector convention (shared/DESIGN.md §3): `N⁽ˡ⁺¹⁾ = φ(N⁽ˡ⁾·W + b)`, so
 * `W[j, k]` is the synapse from neuron j to neuron k. The paper (Golkar, "Emergent
 * Structures and Lifetime Structure Evolution in Artificial Neural Networks", eq. 3)
 * writes `W_ij N_j` with columns as sources: its matrix is our `Wᵀ`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { NODE_ACTIVATIONS, nodeActivation, type NodeActivationName } from '../../activations/table.js';

/** The neuron activations φ: the Neural Module layer's set (pointwise tfjs-layers activations, plus 'leakyRelu'). */
export const URN_ACTIVATIONS = NODE_ACTIVATIONS;
export type URNActivation = NodeActivationName;

export const URN_RESIDUALS = ['none', 'output', 'input'] as const;
/** `'none'`: eq. 3; `'output'`: eq. 6 (the last d_out neurons accumulate); `'input'`: eq. 7 (the input is re-added to the first d_in neurons every step). */
export type URNResidual = (typeof URN_RESIDUALS)[number];

/** The structural hyper-parameters the update rule needs. */
export interface URNSpec {
  neurons: number;
  iterations: number;
  outputUnits: number;
  activation: URNActivation;
  residual: URNResidual;
}

/** What {@link urnForward} returns. Tensors belong to the caller (use inside `tf.tidy`). */
export interface URNForwardResult {
  /** The last `outputUnits` neurons after `iterations` updates, `[batch, d_out]`. */
  output: tf.Tensor2D;
  /** `Σ_{l=1..I} Σ_i |N_i⁽ˡ⁾|` averaged over the batch (no c_N factor), when requested. */
  activity: tf.Scalar | null;
  /** `N⁽⁰⁾ … N⁽ᴵ⁾`, each `[batch, S]`, when requested. */
  states: tf.Tensor2D[];
}

/** φ applied element-wise (tfjs ops; the URN differentiates through them by autodiff). */
export function urnActivate(name: URNActivation, x: tf.Tensor): tf.Tensor {
  return name === 'linear' ? x : nodeActivation(name).apply(x);
}

/**
 * Runs the URN on a batch. Uses only matMul, add, mul, pad, slice and element-wise
 * ops (all differentiable on the cpu and wasm backends; no gather).
 */
export function urnForward(
  x: tf.Tensor2D,
  kernel: tf.Tensor2D,
  bias: tf.Tensor1D,
  spec: URNSpec,
  opts: { activity?: boolean; states?: boolean } = {},
): URNForwardResult {
  const [batch, dIn] = x.shape;
  const S = spec.neurons;
  const dOut = spec.outputUnits;
  const n0 = tf.pad(x, [
    [0, 0],
    [0, S - dIn],
  ]) as tf.Tensor2D;
  let outputMask: tf.Tensor1D | null = null;
  if (spec.residual === 'output') {
    const m = new Float32Array(S);
    m.fill(1, S - dOut);
    outputMask = tf.tensor1d(m);
  }
  const states: tf.Tensor2D[] = opts.states ? [n0] : [];
  let activity: tf.Scalar | null = null;
  let n = n0;
  for (let l = 0; l < spec.iterations; l++) {
    const a = urnActivate(spec.activation, tf.add(tf.matMul(n, kernel), bias)) as tf.Tensor2D;
    let next: tf.Tensor2D;
    if (spec.residual === 'output') next = tf.add(a, tf.mul(n, outputMask!));
    else if (spec.residual === 'input') next = tf.add(a, n0);
    else next = a;
    if (opts.activity) {
      const s = tf.sum(tf.abs(next)) as tf.Scalar;
      activity = activity == null ? s : (tf.add(activity, s) as tf.Scalar);
    }
    if (opts.states) states.push(next);
    n = next;
  }
  if (activity != null) activity = tf.div(activity, batch) as tf.Scalar;
  const output = tf.slice(n, [0, S - dOut], [batch, dOut]) as tf.Tensor2D;
  return { output, activity, states };
}
