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

/**
 * Anderson's per-sample least squares: for each sample b, solves
 * (G_b + λ·mean(diag G_b)·I) γ_b = c_b from `packed`, which holds per sample the
 * k×k Gram matrix G_b then the right-hand side c_b (k·k + k floats). Returns γ
 * `[batch, k]` and ok[b] = 0 where the system was singular or its answer not finite.
 */
export function solveGramSystems(packed: ArrayLike<number>, batch: number, k: number, lambda: number): { gamma: Float32Array; ok: Uint8Array } {
  const gamma = new Float32Array(batch * k);
  const ok = new Uint8Array(batch);
  const stride = k * k + k;
  const m = new Float64Array(k * k);
  const rhs = new Float64Array(k);
  for (let b = 0; b < batch; b++) {
    const base = b * stride;
    for (let i = 0; i < k * k; i++) m[i] = packed[base + i];
    for (let i = 0; i < k; i++) rhs[i] = packed[base + k * k + i];
    ok[b] = regularizedSolveInPlace(m, rhs, k, lambda) ? 1 : 0;
    if (ok[b]) for (let i = 0; i < k; i++) gamma[b * k + i] = rhs[i];
  }
  return { gamma, ok };
}

/**
 * Solves (M + λ·mean(diag M)·I) x = b in place (Tikhonov regularization relative to
 * the mean diagonal). False when singular or when the answer is not finite.
 */
export function regularizedSolveInPlace(m: Float64Array, b: Float64Array, k: number, lambda: number): boolean {
  let trace = 0;
  for (let i = 0; i < k; i++) trace += m[i * k + i];
  const reg = lambda * (trace / k) + 1e-20;
  for (let i = 0; i < k; i++) m[i * k + i] += reg;
  let good = luSolveInPlace(m, b, k);
  for (let i = 0; i < k && good; i++) if (!Number.isFinite(b[i])) good = false;
  return good;
}
