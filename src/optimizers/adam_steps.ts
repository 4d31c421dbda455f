/**
 * The per-variable Adam steps of {@link FusedAdamOptimizer} that work on tensors: tfjs'
 * op sequence (any backend), and the fused kernel over tfjs-backend-wasm's own memory.
 */
import * as tf from '@tensorflow/tfjs-core';
import { stepInHeap } from '../backend/wasm_heap.js';
import type { AdamCoefficients } from '../kernels/catalog.js';
import type { SparseExports } from '../kernels/wasm_kernels.js';
import type { Slot } from './fused_optimizer.js';

/**
 * tfjs AdamOptimizer's tensor ops, with the same f32 scalars (moments in `slot.vars`: m, v).
 *
 * @example
 * tensorAdamStep(slot, variable, gradient, coefficients);
 */
export function tensorAdamStep(slot: Slot, value: tf.Variable, grad: tf.Tensor, c: AdamCoefficients): void {
  tf.tidy(() => {
    const [mVar, vVar] = slot.vars as tf.Variable[];
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
 * place, the new weights into a fresh tensor ({@link stepInHeap}). Falls back to
 * {@link tensorAdamStep} when the backend's bookkeeping is unreadable.
 *
 * @example
 * heapAdamStep(heapKernels()!, slot, variable, gradient, coefficients);
 */
export function heapAdamStep(heap: SparseExports, slot: Slot, value: tf.Variable, grad: tf.Tensor, c: AdamCoefficients): void {
  const { beta1, oneMinusBeta1, beta2, oneMinusBeta2, biasCorrection1, biasCorrection2, epsilon, negLearningRate } = c;
  const done = stepInHeap(value, grad, slot.vars as tf.Variable[], (w, g, [m, v], o) =>
    heap.adamUpdate(w, g, m, v, slot.size, beta1, oneMinusBeta1, beta2, oneMinusBeta2, biasCorrection1, biasCorrection2, epsilon, negLearningRate, o),
  );
  if (!done) tensorAdamStep(slot, value, grad, c);
}
