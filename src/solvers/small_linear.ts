/**
 * Small dense linear algebra that tfjs lacks: a batched symmetric positive definite
 * solve in tensor ops (any backend, no device sync), and an LU solve with partial
 * pivoting in float64 on the CPU.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * Solves `A·x = b` for a batch of small SPD matrices `A: [B, k, k]`, `b: [B, k]` by
 * Gaussian elimination without pivoting (stable for SPD), unrolled in tensor ops.
 * Cost O(k²) small ops; meant for k ≤ ~10 (Anderson's Gram systems).
 */
export function batchedSpdSolve(a: tf.Tensor3D, b: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const k = a.shape[1];
    const rows = tf.unstack(a, 1) as tf.Tensor2D[]; // k × [B, k]
    const rhs = tf.unstack(b, 1) as tf.Tensor1D[]; // k × [B]
    for (let i = 0; i < k; i++) {
      const pivotRow = rows[i];
      const pivot = tf.squeeze(tf.slice(pivotRow, [0, i], [-1, 1]), [1]);
      for (let j = i + 1; j < k; j++) {
        const factor = tf.div(tf.squeeze(tf.slice(rows[j], [0, i], [-1, 1]), [1]), pivot);
        rows[j] = tf.sub(rows[j], tf.mul(tf.expandDims(factor, 1), pivotRow));
        rhs[j] = tf.sub(rhs[j], tf.mul(factor, rhs[i]));
      }
    }
    const x: tf.Tensor1D[] = new Array(k);
    for (let i = k - 1; i >= 0; i--) {
      let acc = rhs[i];
      for (let j = i + 1; j < k; j++) acc = tf.sub(acc, tf.mul(tf.squeeze(tf.slice(rows[i], [0, j], [-1, 1]), [1]), x[j]));
      x[i] = tf.div(acc, tf.squeeze(tf.slice(rows[i], [0, i], [-1, 1]), [1]));
    }
    return tf.stack(x, 1) as tf.Tensor2D;
  });
}

/**
 * Solves `M·x = b` in place for one dense n×n row-major matrix (float64), LU with
 * partial pivoting. Returns false when M is singular to working precision.
 */
export function luSolveInPlace(m: Float64Array, b: Float64Array, n: number): boolean {
  for (let c = 0; c < n; c++) {
    let piv = c;
    let best = Math.abs(m[c * n + c]);
    for (let r = c + 1; r < n; r++) {
      const v = Math.abs(m[r * n + c]);
      if (v > best) {
        best = v;
        piv = r;
      }
    }
    if (!(best > 1e-300)) return false;
    if (piv !== c) {
      for (let k = 0; k < n; k++) {
        const t = m[c * n + k];
        m[c * n + k] = m[piv * n + k];
        m[piv * n + k] = t;
      }
      const t = b[c];
      b[c] = b[piv];
      b[piv] = t;
    }
    const d = m[c * n + c];
    for (let r = c + 1; r < n; r++) {
      const f = m[r * n + c] / d;
      if (f === 0) continue;
      m[r * n + c] = f;
      for (let k = c + 1; k < n; k++) m[r * n + k] -= f * m[c * n + k];
      b[r] -= f * b[c];
    }
  }
  for (let r = n - 1; r >= 0; r--) {
    let acc = b[r];
    for (let k = r + 1; k < n; k++) acc -= m[r * n + k] * b[k];
    b[r] = acc / m[r * n + r];
  }
  return true;
}
