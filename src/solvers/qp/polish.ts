/**
 * Active-set polishing of an interior-point iterate (as OSQP polishes its ADMM
 * iterates): once the iterate is close, the rows that look active are held as
 * equalities and the equality-constrained QP is solved directly (one Cholesky factor of
 * a principal submatrix of the shared C·Q⁻¹·Cᵀ). The result is kept only when it passes
 * the same per-row optimality test as the iterates ({@link Residuals}); it then meets
 * its active rows exactly instead of to the interior-point method's tolerance, in fewer
 * iterations.
 */
import type { DualKKT } from './kkt.js';
import type { QPData } from './qp_data.js';
import { Residuals, type HomogeneousIterate } from './stopping.js';

/** Polishes iterates of one batch's QPs (equilibrated data); workspaces reused. */
export class Polisher {
  /** The last polished point (τ = 1, κ = 0). */
  readonly it: HomogeneousIterate;
  /** Its residuals and optimality error. */
  readonly res: Residuals;
  private readonly rows: number[] = [];
  private readonly d: Float64Array;
  private readonly y: Float64Array;
  /** The active set of the last failed attempt (a repeat would fail again), and its q. */
  private readonly tried: Uint8Array;
  private triedQ = -1;

  constructor(
    private readonly qp: QPData,
    rowScale: Float64Array,
    private readonly dual: DualKKT,
  ) {
    const { n, m, p } = qp;
    this.it = { z: new Float64Array(n), nu: new Float64Array(p), s: new Float64Array(m), lam: new Float64Array(m), tau: 1, kappa: 0 };
    this.res = new Residuals(qp, rowScale);
    this.d = new Float64Array(m + p);
    this.y = new Float64Array(m + p);
    this.tried = new Uint8Array(m);
  }

  /**
   * Solves with the rows flagged in `active` (length m) held as equalities, for the
   * linear term q (at `qo`). True when the result's optimality error is ≤ tol; false
   * when the active rows and A are dependent (more rows than variables, or a singular
   * submatrix) or the result fails the test (a wrong guess of the active set).
   */
  attempt(active: Uint8Array, q: Float64Array, qo: number, tol: number): boolean {
    const { n, m, p, G, h, b } = this.qp;
    const { rows, d, y, tried } = this;
    const it = this.it;
    if (this.triedQ === qo && tried.every((v, i) => v === active[i])) return false;
    rows.length = 0;
    for (let i = 0; i < m; i++) {
      if (active[i]) {
        d[rows.length] = h[i];
        rows.push(i);
      }
    }
    const act = rows.length;
    for (let e = 0; e < p; e++) {
      d[rows.length] = b[e];
      rows.push(m + e);
    }
    if (rows.length > n || !this.dual.solveSubset(rows, q, qo, d, it.z, y)) {
      tried.set(active);
      this.triedQ = qo;
      return false;
    }
    it.lam.fill(0);
    it.s.fill(0);
    for (let a = 0; a < act; a++) it.lam[rows[a]] = Math.max(0, y[a]);
    for (let e = 0; e < p; e++) it.nu[e] = y[act + e];
    for (let i = 0; i < m; i++) {
      if (active[i]) continue;
      let v = h[i];
      for (let k = 0; k < n; k++) v -= G[i * n + k] * it.z[k];
      it.s[i] = Math.max(0, v);
    }
    it.tau = 1;
    it.kappa = 0;
    this.res.evaluate(it, q, qo);
    if (this.res.res <= tol) return true;
    tried.set(active);
    this.triedQ = qo;
    return false;
  }
}
