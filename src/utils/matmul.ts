/**
 * Matrix products with explicit transposes. tfjs-backend-wasm (4.22) runs
 * `tf.matMul(a, b, transposeA, transposeB)` on a slow path whenever a transpose flag
 * is set: 10–12× slower than transposing first (measured here: [3000,128]ᵀ·[128,3000]
 * 1150 ms with the flag, 94 ms with `tf.transpose` first). Materializing the
 * transpose costs one pass over the operand, which is small next to the product.
 */
import * as tf from '@tensorflow/tfjs-core';

/** `op(a)·op(b)` for 2-D tensors, op = transpose when the flag is set. */
export function matMulT(a: tf.Tensor2D, b: tf.Tensor2D, transposeA = false, transposeB = false): tf.Tensor2D {
  return tf.tidy(() => tf.matMul(transposeA ? tf.transpose(a) : a, transposeB ? tf.transpose(b) : b));
}
