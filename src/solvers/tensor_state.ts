/**
 * What the tensor methods share: the per-row residual (squared norms on the device)
 * and the bookkeeping of the tensors a method holds between iterations.
 */
import * as tf from '@tensorflow/tfjs-core';
import { relativeResidual } from './loop.js';

/**
 * Writes each row's ‖r_b‖ / (‖x_b‖ + 1e-8) into `out`: the two squared norms per
 * row on the device (five ops, one read of 2·batch floats), the ratio on the CPU by
 * the shared {@link relativeResidual}. A NaN anywhere in a row, or a squared norm
 * beyond float32 range (|values| ≳ 1.8e19, a diverged row), gives NaN: non-finite.
 */
export function tensorRowResiduals(r: tf.Tensor2D, x: tf.Tensor2D, out: Float64Array): void {
  const sums = tf.tidy(() => tf.stack([tf.sum(tf.square(r), 1), tf.sum(tf.square(x), 1)]));
  const d = sums.dataSync();
  sums.dispose();
  const B = out.length;
  for (let b = 0; b < B; b++) out[b] = relativeResidual(d[b], d[B + b]);
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
