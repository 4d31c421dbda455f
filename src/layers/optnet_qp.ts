/**
 * The OptNet layer's numerical core (Amos & Kolter 2017, "OptNet: Differentiable
 * optimization as a layer in neural networks"): a batch of convex QPs
 *
 *   minimize ½ zᵀQz + q_bᵀz   subject to   Az = b,  Gz ≤ h
 *
 * that share Q (positive definite), G, h, A, b and differ only in q_b, solved in
 * float64 on typed arrays by a primal-dual interior-point method with Mehrotra's
 * predictor-corrector (as qpth / CVXOPT), and the backward pass of the paper's
 * eqs. 7–8 (the transposed KKT system at the solution; the solver is never unrolled).
 *
 * Each Newton step eliminates z and the slacks and solves for the multipliers with
 * M = C·Q⁻¹·Cᵀ + diag(s/λ, 0), C = [G; A] ({@link DualKKT}): C·Q⁻¹·Cᵀ is shared by
 * the batch and computed once, M is factored per sample and iteration. When M is not
 * positive definite to working precision, the step falls back to the primal reduced
 * system `[Q + GᵀDG, Aᵀ; A, 0]`, D = diag(λ/s) ({@link ReducedKKT}). The starting
 * point's system (D = I) is shared by the whole batch and factored once.
 *
 * All arrays are row-major: Q (n×n), G (m×n), A (p×n), per-sample vectors packed
 * `[batch, ·]`.
 */

/** The shared data of the batch's QPs (float64, row-major). */
export interface QPData {
  /** Variables n (the layer's units). */
  n: number;
  /** Inequalities m (rows of G). */
  m: number;
  /** Equalities p (rows of A). */
  p: number;
  Q: Float64Array;
  G: Float64Array;
  h: Float64Array;
  A: Float64Array;
  b: Float64Array;
}

/** Interior-point settings. */
export interface QPOptions {
  /** Tolerance on the scaled residual (see {@link QPSolution.residual}). */
  tol: number;
  /** Iteration cap per sample. */
  maxIter: number;
}

/** Why a sample's solve failed (beyond missing the tolerance). */
export type QPFailure = 'none' | 'infeasible' | 'singular' | 'nonFinite';

/** Solutions and statistics of one batch. */
export interface QPSolution {
  /** z* `[batch, n]`. */
  z: Float64Array;
  /** Inequality multipliers λ* `[batch, m]` (≥ 0). */
  lam: Float64Array;
  /** Slacks s = h − Gz* `[batch, m]` as the solver left them (> 0). */
  s: Float64Array;
  /** Equality multipliers ν* `[batch, p]`. */
  nu: Float64Array;
  /** Largest iteration count over the batch. */
  iterations: number;
  /**
   * Largest over the batch of max(‖Qz + q + Gᵀλ + Aᵀν‖∞, ‖Gz + s − h‖∞, ‖Az − b‖∞, sᵀλ/m)
   * divided by 1 + max(‖q‖∞, ‖h‖∞, ‖b‖∞): dual, primal residuals and duality gap.
   */
  residual: number;
  /** The row with that residual. */
  worstRow: number;
  /** Whether every row reached `tol`. */
  converged: boolean;
  /** The first failed row (−1 when none) and why. */
  failedRow: number;
  failure: QPFailure;
  /** Scaled primal residual max(‖Gz + s − h‖∞, ‖Az − b‖∞) of the failed row (for the message). */
  failedPrimal: number;
}

// ---------------------------------------------------------------------------
// Small dense kernels (row-major, float64).

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
function matVec(M: Float64Array, rows: number, cols: number, x: Float64Array, xOff: number, out: Float64Array): void {
  for (let i = 0; i < rows; i++) {
    const ri = i * cols;
    let v = 0;
    for (let k = 0; k < cols; k++) v += M[ri + k] * x[xOff + k];
    out[i] = v;
  }
}

/** out += Mᵀ·x (M rows×cols, out length cols). */
function addMatTVec(M: Float64Array, rows: number, cols: number, x: Float64Array, xOff: number, out: Float64Array): void {
  for (let i = 0; i < rows; i++) {
    const xi = x[xOff + i];
    if (xi === 0) continue;
    const ri = i * cols;
    for (let k = 0; k < cols; k++) out[k] += M[ri + k] * xi;
  }
}

const maxAbs = (v: Float64Array, off = 0, len = v.length - off): number => {
  let m = 0;
  for (let i = 0; i < len; i++) {
    const a = Math.abs(v[off + i]);
    if (a > m || a !== a) m = a;
  }
  return m;
};

// ---------------------------------------------------------------------------
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

  constructor(private readonly qp: QPData) {
    const { n, p } = qp;
    this.H = new Float64Array(n * n);
    this.Y = new Float64Array(p * n);
    this.S = new Float64Array(p * p);
    this.t = new Float64Array(Math.max(p, 1));
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
class DualKKT {
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

  /** Factors M for the current slacks and multipliers. False when not positive definite. */
  factor(s: Float64Array, lam: Float64Array): boolean {
    const { m } = this.qp;
    const k = this.k;
    this.M.set(this.K);
    for (let i = 0; i < m; i++) this.M[i * k + i] += s[i] / lam[i];
    return cholesky(this.M, k);
  }

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
    const { n, m, p, G, A } = this.qp;
    const { k, u, t, X } = this;
    u.set(rx);
    cholSolve(this.Lq, n, u);
    for (let i = 0; i < m; i++) {
      let v = 0;
      for (let c = 0; c < n; c++) v += G[i * n + c] * u[c];
      t[i] = rz[i] + rc[i] / lam[i] - v;
    }
    for (let e = 0; e < p; e++) {
      let v = 0;
      for (let c = 0; c < n; c++) v += A[e * n + c] * u[c];
      t[m + e] = ry[e] - v;
    }
    cholSolve(this.M, k, t);
    for (let c = 0; c < n; c++) dz[c] = -u[c];
    for (let j = 0; j < k; j++) {
      const y = t[j];
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

/** Extra iterations of the infeasibility check (see `solveQPBatch`). */
const PHASE1_EXTRA = 50;

const allFinite = (v: Float64Array, off = 0, len = v.length - off): boolean => {
  for (let i = 0; i < len; i++) if (!Number.isFinite(v[off + i])) return false;
  return true;
};

/** Largest α ∈ (0, 1] with v + α·dv ≥ 0 (v > 0), over `len` entries. */
function maxStep(v: Float64Array, dv: Float64Array, len: number): number {
  let a = 1;
  for (let i = 0; i < len; i++) if (dv[i] < 0) a = Math.min(a, -v[i] / dv[i]);
  return a;
}

/** Solves the batch's QPs; `q` is `[batch, n]`. Never throws: failures are reported in the result. */
export function solveQPBatch(qp: QPData, q: Float64Array, batch: number, o: QPOptions): QPSolution {
  const { n, m, p, G, h, A, b } = qp;
  const out: QPSolution = {
    z: new Float64Array(batch * n),
    lam: new Float64Array(batch * m),
    s: new Float64Array(batch * m),
    nu: new Float64Array(batch * p),
    iterations: 0,
    residual: 0,
    worstRow: -1,
    converged: true,
    failedRow: -1,
    failure: 'none',
    failedPrimal: 0,
  };
  const fail = (row: number, why: QPFailure, primal = 0) => {
    out.converged = false;
    if (out.failedRow < 0) {
      out.failedRow = row;
      out.failure = why;
      out.failedPrimal = primal;
    }
  };
  // Starting point (D = I, shared): [Q + GᵀG, Aᵀ; A, 0][z; ν] = [−q + Gᵀh; b].
  const init = new ReducedKKT(qp);
  if (!init.factor(null)) {
    for (let r = 0; r < batch; r++) fail(r, 'singular');
    out.residual = NaN;
    return out;
  }
  const kkt = new ReducedKKT(qp);
  const dataFinite = allFinite(qp.Q) && allFinite(G) && allFinite(h) && allFinite(A) && allFinite(b);
  const Gth = new Float64Array(n);
  addMatTVec(G, m, n, h, 0, Gth);
  const hb = Math.max(maxAbs(h), maxAbs(b));
  // Per-sample workspaces.
  const z = new Float64Array(n);
  const nu = new Float64Array(p);
  const s = new Float64Array(m);
  const lam = new Float64Array(m);
  const rx = new Float64Array(n);
  const rz = new Float64Array(m);
  const ry = new Float64Array(p);
  const d = new Float64Array(m);
  const w = new Float64Array(m);
  const dz = new Float64Array(n);
  const dnu = new Float64Array(p);
  const ds = new Float64Array(m);
  const dl = new Float64Array(m);
  const dsAff = new Float64Array(m);
  const dlAff = new Float64Array(m);
  const Gdz = new Float64Array(m);
  const tmpM = new Float64Array(m);

  /** Newton direction for the complementarity right-hand side `rc` (length m): fills dz, dnu, ds, dl. */
  const dual = new DualKKT(qp);
  let useDual = false;
  const direction = (rc: Float64Array) => {
    if (useDual) {
      dual.direction(rx, rz, ry, rc, s, lam, dz, ds, dl, dnu);
      return;
    }
    // dλ = (rc + λ∘rz)/s + D·G·dz;  (H) dz + Aᵀdν = −rx − Gᵀ(rc + λ∘rz)/s;  A dz = −ry.
    for (let i = 0; i < m; i++) w[i] = (rc[i] + lam[i] * rz[i]) / s[i];
    for (let k = 0; k < n; k++) dz[k] = -rx[k];
    for (let i = 0; i < m; i++) {
      const wi = w[i];
      if (wi === 0) continue;
      const ri = i * n;
      for (let k = 0; k < n; k++) dz[k] -= G[ri + k] * wi;
    }
    for (let e = 0; e < p; e++) dnu[e] = -ry[e];
    kkt.solve(dz, 0, dnu);
    matVec(G, m, n, dz, 0, Gdz);
    for (let i = 0; i < m; i++) {
      dl[i] = w[i] + d[i] * Gdz[i];
      ds[i] = -rz[i] - Gdz[i];
    }
  };

  for (let r = 0; r < batch; r++) {
    const qo = r * n;
    const scale = 1 + Math.max(hb, maxAbs(q, qo, n));
    for (let k = 0; k < n; k++) z[k] = -q[qo + k] + Gth[k];
    for (let e = 0; e < p; e++) nu[e] = b[e];
    init.solve(z, 0, nu);
    let iters = 0;
    let res = Infinity;
    let primal = Infinity;
    let failed = false;
    if (m > 0) {
      // s = h − Gz, λ = −s, each shifted to be positive (CVXOPT's / qpth's start).
      matVec(G, m, n, z, 0, s);
      let minS = Infinity;
      for (let i = 0; i < m; i++) {
        s[i] = h[i] - s[i];
        lam[i] = -s[i];
        if (s[i] < minS) minS = s[i];
      }
      const minL = -(Math.max(...s) as number);
      const shiftS = minS <= 0 ? 1 - minS : 0;
      const shiftL = minL <= 0 ? 1 - minL : 0;
      for (let i = 0; i < m; i++) {
        s[i] += shiftS;
        lam[i] += shiftL;
      }
    }
    // The iteration cap; raised once by PHASE1_EXTRA when the cap is hit with a primal
    // residual left, to tell a slow solve from an infeasible QP (whose primal residual
    // never vanishes). The state at maxIter is what the row returns either way.
    let cap = o.maxIter;
    let snap: { z: Float64Array; nu: Float64Array; s: Float64Array; lam: Float64Array; res: number; primal: number; iters: number } | null = null;
    for (;;) {
      // Residuals.
      matVec(qp.Q, n, n, z, 0, rx);
      for (let k = 0; k < n; k++) rx[k] += q[qo + k];
      addMatTVec(G, m, n, lam, 0, rx);
      addMatTVec(A, p, n, nu, 0, rx);
      matVec(G, m, n, z, 0, rz);
      for (let i = 0; i < m; i++) rz[i] += s[i] - h[i];
      matVec(A, p, n, z, 0, ry);
      for (let e = 0; e < p; e++) ry[e] -= b[e];
      let gap = 0;
      for (let i = 0; i < m; i++) gap += s[i] * lam[i];
      const mu = m > 0 ? gap / m : 0;
      primal = Math.max(maxAbs(rz), maxAbs(ry)) / scale;
      res = Math.max(maxAbs(rx) / scale, primal, mu / scale);
      if (!Number.isFinite(res)) {
        // With finite data, diverging iterates mean there is no feasible point (Q is positive definite).
        const bad = !dataFinite || !allFinite(q, qo, n);
        fail(r, bad ? 'nonFinite' : 'infeasible', bad ? 0 : Infinity);
        failed = true;
        res = NaN;
        break;
      }
      if (res <= o.tol) break;
      if (iters >= cap) {
        if (snap != null || primal <= o.tol || m === 0) break;
        snap = { z: z.slice(), nu: nu.slice(), s: s.slice(), lam: lam.slice(), res, primal, iters };
        cap += PHASE1_EXTRA;
      }
      iters++;
      if (m === 0) {
        // Equality-constrained only: one Newton step is exact.
        if (!kkt.factor(null)) {
          fail(r, 'singular');
          failed = true;
          break;
        }
        direction(tmpM);
        for (let k = 0; k < n; k++) z[k] += dz[k];
        for (let e = 0; e < p; e++) nu[e] += dnu[e];
        continue;
      }
      for (let i = 0; i < m; i++) d[i] = lam[i] / s[i];
      useDual = dual.ok && dual.factor(s, lam);
      if (!useDual && !kkt.factor(d)) {
        // Late in a run, λ/s of the active rows overwhelms rounding: stop at the current
        // (best) iterate, which then counts as not converged. A failure at the start is a singular system.
        iters--;
        if (iters === 0) {
          fail(r, 'singular');
          failed = true;
        }
        break;
      }
      // Predictor (affine scaling).
      for (let i = 0; i < m; i++) tmpM[i] = -s[i] * lam[i];
      direction(tmpM);
      const aAff = Math.min(maxStep(s, ds, m), maxStep(lam, dl, m));
      let gapAff = 0;
      for (let i = 0; i < m; i++) gapAff += (s[i] + aAff * ds[i]) * (lam[i] + aAff * dl[i]);
      const sigma = Math.pow(gapAff / gap, 3);
      dsAff.set(ds);
      dlAff.set(dl);
      // Corrector (centering + second-order term).
      for (let i = 0; i < m; i++) tmpM[i] = -s[i] * lam[i] + sigma * mu - dsAff[i] * dlAff[i];
      direction(tmpM);
      const alpha = Math.min(1, 0.99 * Math.min(maxStep(s, ds, m), maxStep(lam, dl, m)));
      for (let k = 0; k < n; k++) z[k] += alpha * dz[k];
      for (let e = 0; e < p; e++) nu[e] += alpha * dnu[e];
      for (let i = 0; i < m; i++) {
        s[i] += alpha * ds[i];
        lam[i] += alpha * dl[i];
      }
    }
    if (snap != null) {
      // Phase-1 verdict: PHASE1_EXTRA more iterations left a primal residual: the constraints have no solution.
      if (!failed && primal > Math.max(1e-6, Math.sqrt(o.tol))) {
        fail(r, 'infeasible', primal);
        failed = true;
      }
      z.set(snap.z);
      nu.set(snap.nu);
      s.set(snap.s);
      lam.set(snap.lam);
      res = snap.res;
      iters = snap.iters;
      if (!failed) out.converged = false;
    } else if (!failed && res > o.tol) out.converged = false;
    if (iters > out.iterations) out.iterations = iters;
    if (!(res <= out.residual)) {
      out.residual = res;
      out.worstRow = r;
    }
    out.z.set(z, qo);
    out.nu.set(nu, r * p);
    out.s.set(s, r * m);
    out.lam.set(lam, r * m);
  }
  if (out.worstRow < 0 && batch > 0) out.worstRow = 0;
  return out;
}

/** Gradients of a batch's loss wrt the QP data (float64). */
export interface QPGradients {
  /** dℓ/dq `[batch, n]`. */
  dq: Float64Array;
  /** dℓ/dQ (n×n, symmetric), summed over the batch. */
  dQ: Float64Array;
  dG: Float64Array;
  dh: Float64Array;
  dA: Float64Array;
  db: Float64Array;
  /** False when a KKT system at the solution was singular. */
  ok: boolean;
}

/**
 * The backward pass (Amos & Kolter, eqs. 7–8): per sample, solves the transposed KKT
 * system at the solution, [Q + GᵀDG, Aᵀ; A, 0][d_z; d_ν] = [−g; 0] with D = diag(λ/s),
 * d̃_λ = D·G·d_z (= D(λ*)·d_λ of the paper), then
 * dq = d_z, dQ = ½(d_z zᵀ + z d_zᵀ), dG = d̃_λ zᵀ + λ d_zᵀ, dh = −d̃_λ,
 * dA = d_ν zᵀ + ν d_zᵀ, db = −d_ν (shared data: summed over the batch).
 */
export function qpBackward(qp: QPData, sol: QPSolution, g: Float64Array, batch: number): QPGradients {
  const { n, m, p, G } = qp;
  const res: QPGradients = {
    dq: new Float64Array(batch * n),
    dQ: new Float64Array(n * n),
    dG: new Float64Array(m * n),
    dh: new Float64Array(m),
    dA: new Float64Array(p * n),
    db: new Float64Array(p),
    ok: true,
  };
  const kkt = new ReducedKKT(qp);
  const d = new Float64Array(m);
  const dz = new Float64Array(n);
  const dnu = new Float64Array(p);
  const dl = new Float64Array(m);
  const { dQ, dG, dh, dA, db } = res;
  for (let r = 0; r < batch; r++) {
    const zo = r * n;
    const mo = r * m;
    const po = r * p;
    for (let i = 0; i < m; i++) d[i] = sol.lam[mo + i] / sol.s[mo + i];
    for (let k = 0; k < n; k++) dz[k] = -g[zo + k];
    dnu.fill(0);
    if (!activeSetAdjoint(qp, d, dz, dnu, dl)) {
      // Degenerate active set (more active rows than freedom): the interior-point system itself.
      if (!kkt.factorSafe(m > 0 ? d : null)) {
        res.ok = false;
        continue;
      }
      for (let k = 0; k < n; k++) dz[k] = -g[zo + k];
      dnu.fill(0);
      kkt.solve(dz, 0, dnu);
      matVec(G, m, n, dz, 0, dl);
      for (let i = 0; i < m; i++) dl[i] *= d[i];
    }
    res.dq.set(dz, zo);
    const z = sol.z;
    for (let j = 0; j < n; j++) {
      const a = 0.5 * dz[j];
      const c = 0.5 * z[zo + j];
      const rj = j * n;
      for (let k = 0; k < n; k++) dQ[rj + k] += a * z[zo + k] + c * dz[k];
    }
    for (let i = 0; i < m; i++) {
      const li = sol.lam[mo + i];
      const di = dl[i];
      const ri = i * n;
      for (let k = 0; k < n; k++) dG[ri + k] += di * z[zo + k] + li * dz[k];
      dh[i] -= di;
    }
    for (let e = 0; e < p; e++) {
      const ne = sol.nu[po + e];
      const de = dnu[e];
      const re = e * n;
      for (let k = 0; k < n; k++) dA[re + k] += de * z[zo + k] + ne * dz[k];
      db[e] -= de;
    }
  }
  return res;
}

/**
 * The adjoint system in its limit at the solution: the rows with λ/s > 1 (active)
 * become equality constraints G_i·d_z = 0 whose multipliers are d̃_λ,i, the others keep
 * their (vanishing) λ/s weight in H. This is the paper's system without the
 * conditioning of λ/s ~ 1/μ that the last interior-point iterate has (1e10 and more:
 * a Cholesky factor of Q + GᵀDG then loses ~10 digits).
 *
 * In: `d` = λ/s (length m), `dz` = the right-hand side −g. Out: d_z in `dz`, d_ν in
 * `dnu`, d̃_λ in `dl`. False (outputs undefined) when [A; G_active] is rank-deficient.
 */
function activeSetAdjoint(qp: QPData, d: Float64Array, dz: Float64Array, dnu: Float64Array, dl: Float64Array): boolean {
  const { n, m, p, G, A } = qp;
  const active: number[] = [];
  const inactive: number[] = [];
  for (let i = 0; i < m; i++) (d[i] > 1 ? active : inactive).push(i);
  const pa = p + active.length;
  if (pa > n) return false;
  const Gi = new Float64Array(inactive.length * n);
  const di = new Float64Array(inactive.length);
  inactive.forEach((i, t) => {
    Gi.set(G.subarray(i * n, (i + 1) * n), t * n);
    di[t] = d[i];
  });
  const Aa = new Float64Array(pa * n);
  Aa.set(A.subarray(0, p * n));
  active.forEach((i, t) => Aa.set(G.subarray(i * n, (i + 1) * n), (p + t) * n));
  const sys: QPData = { n, m: inactive.length, p: pa, Q: qp.Q, G: Gi, h: new Float64Array(0), A: Aa, b: new Float64Array(0) };
  const kkt = new ReducedKKT(sys);
  if (!kkt.factor(di)) return false;
  const mult = new Float64Array(pa);
  kkt.solve(dz, 0, mult);
  for (let e = 0; e < p; e++) dnu[e] = mult[e];
  dl.fill(0);
  active.forEach((i, t) => (dl[i] = mult[p + t]));
  inactive.forEach((i) => {
    let v = 0;
    for (let k = 0; k < n; k++) v += G[i * n + k] * dz[k];
    dl[i] = d[i] * v;
  });
  for (let k = 0; k < n; k++) if (!Number.isFinite(dz[k])) return false;
  return true;
}
