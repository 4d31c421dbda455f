/**
 * Small dense linear algebra that tfjs lacks: an LU solve with partial pivoting in
 * float64 on the CPU (Newton's per-sample module systems, Anderson's Gram systems).
 */

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
