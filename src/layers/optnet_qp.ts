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
import { matVec, addMatTVec, maxAbs } from './optnet_linalg.js';
import { ReducedKKT, DualKKT } from './optnet_kkt.js';
export { qpBackward, type QPGradients } from './optnet_backward.js';

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
