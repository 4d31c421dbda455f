/**
 * What the tensor methods share: the per-row residual on the device (robust to
 * float32 overflow) and the bookkeeping of the tensors a method holds between
 * iterations.
 */
import * as tf from '@tensorflow/tfjs-core';
import { RESIDUAL_FLOOR } from './loop.js';

/**
 * Writes each row's ‖r_b‖ / (‖x_b‖ + 1e-8) into `out` (one device read of `batch`
 * floats). Both norms are taken after dividing the row by its largest magnitude,
 * so squares never overflow float32: a row of 1e19s has a finite residual, a row
 * with Inf or NaN a NaN one.
 */
export function tensorRowResiduals(r: tf.Tensor2D, x: tf.Tensor2D, out: Float64Array): void {
  const ratio = tf.tidy(() => {
    const m = tf.maximum(tf.max(tf.abs(r), 1, true), tf.max(tf.abs(x), 1, true));
    const safe = tf.where(tf.greater(m, 0), m, tf.onesLike(m));
    const rn = tf.sqrt(tf.sum(tf.square(tf.div(r, safe)), 1));
    const xn = tf.sqrt(tf.sum(tf.square(tf.div(x, safe)), 1));
    // A NaN anywhere in the row must reach the verdict (max() may drop it on some backends).
    const bad = tf.logicalNot(tf.all(tf.logicalAnd(tf.isFinite(r), tf.isFinite(x)), 1));
    const ratio = tf.div(rn, tf.add(xn, tf.div(RESIDUAL_FLOOR, tf.reshape(safe, [-1]))));
    return tf.where(bad, tf.fill(ratio.shape, NaN), ratio);
  });
  const d = ratio.dataSync();
  ratio.dispose();
  for (let b = 0; b < out.length; b++) out[b] = d[b];
}

/**
 * The tensors a method holds across iterations. `hold(next)` keeps the new set and
 * disposes every tensor of the previous set that is not in it (a tensor may sit in
 * several slots, e.g. x_{t+1} = f(x_t) for undamped Picard).
 */
export class HeldTensors {
  private held: tf.Tensor[] = [];

  hold(next: Array<tf.Tensor | null | undefined>): void {
    const keep = next.filter((t): t is tf.Tensor => t != null);
    for (const t of keep) if (!this.held.includes(t)) tf.keep(t);
    for (const t of this.held) if (!keep.includes(t) && !t.isDisposed) t.dispose();
    this.held = keep;
  }

  dispose(): void {
    this.hold([]);
  }
}
