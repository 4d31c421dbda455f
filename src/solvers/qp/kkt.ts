/**
 * The two KKT systems of the OptNet interior-point step (see qp_solve.ts): the dual
 * form M = C·Q⁻¹·Cᵀ + diag(s/λ) shared across the batch, and the primal reduced form
 * [Q + GᵀDG, Aᵀ; A, 0] it falls back to.
 */
import { cholesky, cholSolve } from './linalg.js';
import type { QPData } from './qp_data.js';

/** Relative diagonal shift of the dual-form system when it is singular to working precision. */
const DUAL_REGULARIZATION = 1e-12;

// The reduced KKT system [H, Aᵀ; A, 0] with H = Q + Gᵀ·diag(d)·G.

/** A factored reduced KKT system plus its workspaces. */
export class ReducedKKT {
  /** Cholesky factor of H (n×n). */
  readonly H: Float64Array;
  /** Y = H⁻¹Aᵀ, stored column by column: p vectors of length n. */
  private readonly Y: Float64Array;
  /** Cholesky factor of the Schur complement A·H⁻¹·Aᵀ (p×p). */
  private readonly S: Float64Array;
  private readonly t: Float64Array;
  private readonly w: Float64Array;

  constructor(private readonly qp: QPData) {
    const { n, m, p } = qp;
    this.H = new Float64Array(n * n);
    this.Y = new Float64Array(p * n);
    this.S = new Float64Array(p * p);
    this.t = new Float64Array(Math.max(p, 1));
    this.w = new Float64Array(m);
  }

  /** Forms and factors the system for the diagonal `d` (length m; `dOff` into a packed array). False when singular. */
  factor(d: Float64Array | null, dOff = 0): boolean {
    const { n, m, Q, G } = this.qp;
    const H = this.H;
    H.set(Q);
    for (let i = 0; i < m; i++) {
      const di = d == null ? 1 : d[dOff + i];
      if (di === 0) continue;
      const ri = i * n;
      for (let j = 0; j < n; j++) {
        const gij = di * G[ri + j];
        if (gij === 0) continue;
        const rj = j * n;
        for (let k = 0; k <= j; k++) H[rj + k] += gij * G[ri + k];
      }
    }
    if (!cholesky(H, n)) return false;
    return this.factorSchur();
  }

  /**
   * `factor` that survives the end of an interior-point run, where λ/s of active
   * constraints reaches 1e12 and more and H loses positive definiteness to rounding:
   * on failure, retries with d clamped to 1e8·(1 + max diag Q) (an inexact Newton
   * step; the limit still forces G_i·dz ≈ 0 on those rows).
   */
  factorSafe(d: Float64Array | null, dOff = 0): boolean {
    if (this.factor(d, dOff)) return true;
    if (d == null) return false;
    const { n, m, Q } = this.qp;
    let qmax = 0;
    for (let k = 0; k < n; k++) qmax = Math.max(qmax, Math.abs(Q[k * n + k]));
    const cap = 1e8 * (1 + qmax);
    const c = new Float64Array(m);
    for (let i = 0; i < m; i++) c[i] = Math.min(d[dOff + i], cap);
    return this.factor(c, 0);
  }

  /**
   * The interior-point direction in this primal form, factored for d = λ/s: solves
   * Q·dz + Gᵀdλ + Aᵀdν = −rx, G·dz + ds = −rz, A·dz = −ry, λ∘ds + s∘dλ = rc by
   * dλ = (rc + λ∘rz)/s + D·G·dz and (Q + GᵀDG)·dz + Aᵀdν = −rx − Gᵀ(rc + λ∘rz)/s.
   */
  direction(
    rx: Float64Array,
    rz: Float64Array,
    ry: Float64Array,
    rc: Float64Array,
    s: Float64Array,
    lam: Float64Array,
    d: Float64Array,
    dz: Float64Array,
    ds: Float64Array,
    dl: Float64Array,
    dnu: Float64Array,
  ): void {
    const { n, m, p, G } = this.qp;
    const w = this.w;
    for (let i = 0; i < m; i++) w[i] = (rc[i] + lam[i] * rz[i]) / s[i];
    for (let k = 0; k < n; k++) dz[k] = -rx[k];
    for (let i = 0; i < m; i++) {
      const wi = w[i];
      if (wi === 0) continue;
      const ri = i * n;
      for (let k = 0; k < n; k++) dz[k] -= G[ri + k] * wi;
    }
    for (let e = 0; e < p; e++) dnu[e] = -ry[e];
    this.solve(dz, 0, dnu);
    for (let i = 0; i < m; i++) {
      const ri = i * n;
      let g = 0;
      for (let k = 0; k < n; k++) g += G[ri + k] * dz[k];
      dl[i] = w[i] + d[i] * g;
      ds[i] = -rz[i] - g;
    }
  }

  private factorSchur(): boolean {
    const { n, p, A } = this.qp;
    const H = this.H;
    if (p === 0) return true;
    const Y = this.Y;
    for (let e = 0; e < p; e++) {
      for (let k = 0; k < n; k++) Y[e * n + k] = A[e * n + k];
      cholSolve(H, n, Y, e * n);
    }
    const S = this.S;
    for (let e = 0; e < p; e++) {
      for (let f = 0; f <= e; f++) {
        let v = 0;
        for (let k = 0; k < n; k++) v += A[e * n + k] * Y[f * n + k];
        S[e * p + f] = v;
      }
    }
    return cholesky(S, p);
  }

  /**
   * Solves [H, Aᵀ; A, 0][x; y] = [r1; r2] in place: r1 (length n, at `off1`) becomes x,
   * r2 (length p) becomes y.
   */
  solve(r1: Float64Array, off1: number, r2: Float64Array): void {
    const { n, p, A } = this.qp;
    cholSolve(this.H, n, r1, off1);
    if (p === 0) return;
    // y = S⁻¹(A·H⁻¹r1 − r2), x = H⁻¹r1 − Y·y
    const t = this.t;
    for (let e = 0; e < p; e++) {
      let v = 0;
      for (let k = 0; k < n; k++) v += A[e * n + k] * r1[off1 + k];
      t[e] = v - r2[e];
    }
    cholSolve(this.S, p, t);
    for (let e = 0; e < p; e++) {
      r2[e] = t[e];
      const ye = t[e];
      for (let k = 0; k < n; k++) r1[off1 + k] -= this.Y[e * n + k] * ye;
    }
  }
}

/**
 * The Newton system in its dual (multiplier) form, for the iterations: with
 * C = [G; A] and the shared K = C·Q⁻¹·Cᵀ ((m+p)×(m+p), factored data computed once
 * per batch), each step factors only M = K + diag(s/λ, 0) and solves
 *   M·[dλ; dν] = [rz + rc/λ − G·u; ry − A·u],  u = Q⁻¹·rx,
 *   dz = −(u + Q⁻¹Cᵀ·[dλ; dν]),  ds = (rc − s∘dλ)/λ,
 * which costs (m+p)³/6 per sample and iteration instead of the m·n²/2 + n³/6 of
 * forming and factoring Q + GᵀDG, and stays well conditioned as s/λ → 0 on active rows.
 * When M is not positive definite to working precision (more active rows than
 * variables, dependent rows) the caller falls back to the primal form.
 */
export class DualKKT {
  readonly ok: boolean;
  private readonly k: number;
  /** Cholesky factor of Q. */
  private readonly Lq: Float64Array;
  /** X = Q⁻¹Cᵀ, stored as k vectors of length n (column j = Q⁻¹c_j). */
  private readonly X: Float64Array;
  /** K = C·Q⁻¹·Cᵀ (lower triangle used). */
  private readonly K: Float64Array;
  private readonly M: Float64Array;
  private readonly t: Float64Array;
  private readonly u: Float64Array;
  private readonly base: Float64Array;

  constructor(private readonly qp: QPData) {
    const { n, m, p, Q, G, A } = qp;
    const k = m + p;
    this.k = k;
    this.Lq = Float64Array.from(Q);
    this.X = new Float64Array(k * n);
    this.K = new Float64Array(k * k);
    this.M = new Float64Array(k * k);
    this.t = new Float64Array(k);
    this.u = new Float64Array(n);
    this.base = new Float64Array(k);
    this.ok = cholesky(this.Lq, n);
    if (!this.ok) return;
    const row = (j: number) => (j < m ? G.subarray(j * n, (j + 1) * n) : A.subarray((j - m) * n, (j - m + 1) * n));
    for (let j = 0; j < k; j++) {
      this.X.set(row(j), j * n);
      cholSolve(this.Lq, n, this.X, j * n);
    }
    for (let i = 0; i < k; i++) {
      const ci = row(i);
      for (let j = 0; j <= i; j++) {
        let v = 0;
        for (let c = 0; c < n; c++) v += ci[c] * this.X[j * n + c];
        this.K[i * k + j] = v;
      }
    }
  }

  /**
   * The equality-constrained QP on the rows `rows` of C (indices into [G; A]) held as
   * equalities C_S·z = d_S: z = u − (Q⁻¹C_Sᵀ)·y with (C_S·Q⁻¹·C_Sᵀ)·y = C_S·u − d_S and
   * u = −Q⁻¹q, from the shared factors (a principal submatrix of K). Writes z and the
   * multipliers y (length rows.length); false when that submatrix is not positive definite.
   */
  solveSubset(rows: readonly number[], q: Float64Array, qo: number, d: Float64Array, z: Float64Array, y: Float64Array): boolean {
    const { n, m, G, A } = this.qp;
    const k = this.k;
    const ks = rows.length;
    const S = this.M;
    for (let a = 0; a < ks; a++) {
      for (let c = 0; c <= a; c++) {
        const ra = rows[a];
        const rc = rows[c];
        S[a * ks + c] = ra >= rc ? this.K[ra * k + rc] : this.K[rc * k + ra];
      }
    }
    if (!cholesky(S, ks)) return false;
    const u = this.u;
    for (let c = 0; c < n; c++) u[c] = -q[qo + c];
    cholSolve(this.Lq, n, u);
    for (let a = 0; a < ks; a++) {
      const r = rows[a];
      const row = r < m ? G : A;
      const o = (r < m ? r : r - m) * n;
      let v = 0;
      for (let c = 0; c < n; c++) v += row[o + c] * u[c];
      y[a] = v - d[a];
    }
    cholSolve(S, ks, y);
    z.set(u);
    for (let a = 0; a < ks; a++) {
      const o = rows[a] * n;
      const ya = y[a];
      for (let c = 0; c < n; c++) z[c] -= this.X[o + c] * ya;
    }
    return true;
  }

  /**
   * Factors M for the current slacks and multipliers. When M is not positive definite
   * to working precision (dependent active rows, such as an equality written as two
   * opposite inequalities, whose s/λ → 0), retries with each diagonal entry raised by
   * {@link DUAL_REGULARIZATION} of K's (an inexact Newton step, as interior-point codes
   * regularize their KKT systems). False when that fails too.
   */
  factor(s: Float64Array, lam: Float64Array): boolean {
    const { m } = this.qp;
    const k = this.k;
    for (let pass = 0; pass < 2; pass++) {
      this.M.set(this.K);
      for (let i = 0; i < k; i++) this.M[i * k + i] += (i < m ? s[i] / lam[i] : 0) + pass * DUAL_REGULARIZATION * this.K[i * k + i];
      if (cholesky(this.M, k)) return true;
    }
    return false;
  }

  /** Solves for the direction of {@link DualKKT} (see the class comment) with the factor from {@link factor}. */
  direction(
    rx: Float64Array,
    rz: Float64Array,
    ry: Float64Array,
    rc: Float64Array,
    s: Float64Array,
    lam: Float64Array,
    dz: Float64Array,
    ds: Float64Array,
    dl: Float64Array,
    dnu: Float64Array,
  ): void {
    this.reduce(rx, rz, ry, this.u, this.base);
    this.finish(this.u, this.base, 1, rc, s, lam, dz, ds, dl, dnu);
  }

  /**
   * The part of {@link direction} that does not depend on rc or M: u = Q⁻¹·rx and
   * base = [rz − G·u; ry − A·u] (length m + p). Directions are linear in the residuals,
   * so one reduction serves every rc and scaling of the same residuals.
   */
  reduce(rx: Float64Array, rz: Float64Array, ry: Float64Array, u: Float64Array, base: Float64Array): void {
    const { n, m, p, G, A } = this.qp;
    u.set(rx);
    cholSolve(this.Lq, n, u);
    for (let i = 0; i < m; i++) {
      let v = 0;
      for (let c = 0; c < n; c++) v += G[i * n + c] * u[c];
      base[i] = rz[i] - v;
    }
    for (let e = 0; e < p; e++) {
      let v = 0;
      for (let c = 0; c < n; c++) v += A[e * n + c] * u[c];
      base[m + e] = ry[e] - v;
    }
  }

  /** The direction for the residuals scaled by `eta` (u, base from {@link reduce}) and the complementarity right-hand side rc. */
  finish(
    u: Float64Array,
    base: Float64Array,
    eta: number,
    rc: Float64Array,
    s: Float64Array,
    lam: Float64Array,
    dz: Float64Array,
    ds: Float64Array,
    dl: Float64Array,
    dnu: Float64Array,
  ): void {
    const { n, m, p } = this.qp;
    const { k, t, X } = this;
    for (let i = 0; i < m; i++) t[i] = eta * base[i] + rc[i] / lam[i];
    for (let e = 0; e < p; e++) t[m + e] = eta * base[m + e];
    cholSolve(this.M, k, t);
    for (let c = 0; c < n; c++) dz[c] = -eta * u[c];
    for (let j = 0; j < k; j++) {
      const y = t[j];
      if (y === 0) continue;
      const o = j * n;
      for (let c = 0; c < n; c++) dz[c] -= X[o + c] * y;
    }
    for (let i = 0; i < m; i++) {
      dl[i] = t[i];
      ds[i] = (rc[i] - s[i] * t[i]) / lam[i];
    }
    for (let e = 0; e < p; e++) dnu[e] = t[m + e];
  }
}
