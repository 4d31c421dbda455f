/**
 * Small dense float64 kernels of the OptNet QP solver (row-major): Cholesky, its
 * solve, and matrix-vector products.
 */
/** In-place Cholesky M = LLᵀ (lower triangle written, upper left alone). False if not positive definite. */
export function cholesky(M: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    let d = M[rj + j];
    for (let k = 0; k < j; k++) d -= M[rj + k] * M[rj + k];
    if (!(d > 0) || !Number.isFinite(d)) return false;
    d = Math.sqrt(d);
    M[rj + j] = d;
    const inv = 1 / d;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      let v = M[ri + j];
      for (let k = 0; k < j; k++) v -= M[ri + k] * M[rj + k];
      M[ri + j] = v * inv;
    }
  }
  return true;
}

/** Solves (LLᵀ)x = x in place with a factor from {@link cholesky}. */
export function cholSolve(L: Float64Array, n: number, x: Float64Array, off = 0): void {
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    let v = x[off + i];
    for (let k = 0; k < i; k++) v -= L[ri + k] * x[off + k];
    x[off + i] = v / L[ri + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let v = x[off + i];
    for (let k = i + 1; k < n; k++) v -= L[k * n + i] * x[off + k];
    x[off + i] = v / L[i * n + i];
  }
}

/** out = M·x (M rows×cols). */
export function matVec(M: Float64Array, rows: number, cols: number, x: Float64Array, xOff: number, out: Float64Array): void {
  for (let i = 0; i < rows; i++) {
    const ri = i * cols;
    let v = 0;
    for (let k = 0; k < cols; k++) v += M[ri + k] * x[xOff + k];
    out[i] = v;
  }
}

/** out += Mᵀ·x (M rows×cols, out length cols). */
export function addMatTVec(M: Float64Array, rows: number, cols: number, x: Float64Array, xOff: number, out: Float64Array): void {
  for (let i = 0; i < rows; i++) {
    const xi = x[xOff + i];
    if (xi === 0) continue;
    const ri = i * cols;
    for (let k = 0; k < cols; k++) out[k] += M[ri + k] * xi;
  }
}

export const maxAbs = (v: Float64Array, off = 0, len = v.length - off): number => {
  let m = 0;
  for (let i = 0; i < len; i++) {
    const a = Math.abs(v[off + i]);
    if (a > m || a !== a) m = a;
  }
  return m;
};
