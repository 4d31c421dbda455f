/**
 * The per-variable Adam steps of {@link FusedAdamOptimizer} that work on tensors: tfjs'
 * op sequence (any backend), and the fused kernel over tfjs-backend-wasm's own memory.
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapOffset } from '../backend/host_view.js';
import { ownExclusively, uninitializedLike } from '../backend/wasm_heap.js';
import type { AdamCoefficients } from '../kernels/arena.js';
import type { SparseExports } from '../kernels/wasm_kernels.js';

/** The optimizer's state for the i-th variable of applyGradients (tfjs keys it by position too). */
export interface Slot {
  /** The variable's name when the slot was made; the saved weights are `${name}/m`, `${name}/v`. */
  name: string;
  shape: number[];
  size: number;
  /** Moments as typed arrays (fused storage; views of the kernels' memory once laid out), or null. */
  m: Float32Array | null;
  v: Float32Array | null;
  /** Moments as tensors (storage on the other backends), or null. */
  mVar: tf.Variable | null;
  vVar: tf.Variable | null;
}

/**
 * tfjs AdamOptimizer's tensor ops, with the same f32 scalars (moments in `slot.mVar`/`vVar`).
 *
 * @example
 * tensorAdamStep(slot, variable, gradient, coefficients);
 */
export function tensorAdamStep(slot: Slot, value: tf.Variable, grad: tf.Tensor, c: AdamCoefficients): void {
  tf.tidy(() => {
    const mVar = slot.mVar!,
      vVar = slot.vVar!;
    const m = tf.add(tf.mul(mVar, c.beta1), tf.mul(grad, c.oneMinusBeta1));
    const v = tf.add(tf.mul(vVar, c.beta2), tf.mul(tf.square(grad), c.oneMinusBeta2));
    const mHat = tf.div(m, c.biasCorrection1);
    const vHat = tf.div(v, c.biasCorrection2);
    mVar.assign(m);
    vVar.assign(v);
    value.assign(tf.add(tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), c.epsilon)), c.negLearningRate), value));
  });
}

/**
 * The update in the wasm backend's memory: one pass over w, g, m and v, the moments in
 * place. The new weights go to a fresh tensor, which the variable then takes:
 * tfjs-wasm caches XNNPACK operators with pre-packed weights per tensor, so a weight
 * tensor must never change under the same id. Falls back to {@link tensorAdamStep} when
 * the backend's bookkeeping is unreadable.
 *
 * @example
 * heapAdamStep(heapKernels()!, slot, variable, gradient, coefficients);
 */
export function heapAdamStep(heap: SparseExports, slot: Slot, value: tf.Variable, grad: tf.Tensor, c: AdamCoefficients): void {
  const mVar = slot.mVar!,
    vVar = slot.vVar!;
  if (!ownExclusively(mVar) || !ownExclusively(vVar)) return tensorAdamStep(slot, value, grad, c);
  const next = uninitializedLike(value);
  const [w, g, m, v, o] = [value, grad, mVar, vVar, next].map(heapOffset);
  if (w === null || g === null || m === null || v === null || o === null) {
    next.dispose();
    return tensorAdamStep(slot, value, grad, c);
  }
  const { beta1, oneMinusBeta1, beta2, oneMinusBeta2, biasCorrection1, biasCorrection2, epsilon, negLearningRate } = c;
  heap.adamUpdate(w, g, m, v, slot.size, beta1, oneMinusBeta1, beta2, oneMinusBeta2, biasCorrection1, biasCorrection2, epsilon, negLearningRate, o);
  value.assign(next);
  next.dispose();
}
