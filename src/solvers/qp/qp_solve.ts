/**
 * The OptNet layer's numerical core (Amos & Kolter 2017, "OptNet: Differentiable
 * optimization as a layer in neural networks"): a batch of convex QPs
 *
 *   minimize ½ zᵀQz + q_bᵀz   subject to   Az = b,  Gz ≤ h
 *
 * that share Q (positive definite), G, h, A, b and differ only in q_b, solved in
 * float64 on typed arrays by a primal-dual interior-point method on the QP's
 * homogeneous embedding (ipm.ts), which ends either with a solution or with a
 * Farkas certificate that the constraints are infeasible; and the backward pass of the
 * paper's eqs. 7–8 (qp_backward.ts; the solver is never unrolled).
 *
 * Before solving, the data are checked for NaN/Inf, and each row of [G h] and [A b] is
 * divided by its largest magnitude (row equilibration), so a row such as z ≤ 1e20 does
 * not dominate the start or the linear algebra; solutions are returned in the caller's
 * units. C·Q⁻¹·Cᵀ (C = [G; A]) and the starting system are shared by the batch.
 *
 * All arrays are row-major: Q (n×n), G (m×n), A (p×n), per-sample vectors packed
 * `[batch, ·]`.
 */
import { ReducedKKT, DualKKT } from './kkt.js';
import { addMatTVec } from './linalg.js';
import { HomogeneousIPM } from './ipm.js';
import { Residuals } from './stopping.js';
import type { QPData, QPFailure, QPOptions, QPSolution } from './qp_data.js';
export { qpBackward, type QPGradients } from './qp_backward.js';
export type { QPArray, QPData, QPFailure, QPOptions, QPSolution } from './qp_data.js';

const firstNonFinite = (v: Float64Array, off = 0, len = v.length - off): number => {
  for (let i = 0; i < len; i++) if (!Number.isFinite(v[off + i])) return i;
  return -1;
};

/** Divides each row of [M v] by max(‖M_i‖∞, |v_i|) (1 for a zero row); returns the scaled copies and the factors. */
function equilibrate(M: Float64Array, v: Float64Array, rows: number, n: number, scale: Float64Array, off: number) {
  const Ms = new Float64Array(M.length);
  const vs = new Float64Array(v.length);
  for (let i = 0; i < rows; i++) {
    let r = Math.abs(v[i]);
    for (let k = 0; k < n; k++) r = Math.max(r, Math.abs(M[i * n + k]));
    if (r === 0) r = 1;
    scale[off + i] = r;
    for (let k = 0; k < n; k++) Ms[i * n + k] = M[i * n + k] / r;
    vs[i] = v[i] / r;
  }
  return { Ms, vs };
}

/** The rows a certificate's multipliers weigh most (≥ 1e-3 of the largest), largest first, at most 8. */
function heaviest(y: Float64Array, off: number, len: number, top: number): number[] {
  const idx: number[] = [];
  for (let i = 0; i < len; i++) if (Math.abs(y[off + i]) >= 1e-3 * top && y[off + i] !== 0) idx.push(i);
  return idx.sort((a, b) => Math.abs(y[off + b]) - Math.abs(y[off + a])).slice(0, 8);
}

/** Solves the batch's QPs; `q` is `[batch, n]`. Never throws: failures are reported in the result. */
export function solveQPBatch(qp: QPData, q: Float64Array, batch: number, o: QPOptions): QPSolution {
  const { n, m, p } = qp;
  const out: QPSolution = {
    z: new Float64Array(batch * n),
    lam: new Float64Array(batch * m),
    s: new Float64Array(batch * m),
    active: new Uint8Array(batch * m),
    nu: new Float64Array(batch * p),
    iterations: 0,
    residual: 0,
    worstRow: -1,
    worstIterations: 0,
    converged: true,
    failedRow: -1,
    failure: 'none',
    nonFiniteArray: null,
    conflict: { inequalities: [], equalities: [] },
  };
  const failAll = (why: QPFailure, row = 0) => {
    out.converged = false;
    out.failedRow = row;
    out.failure = why;
    out.residual = NaN;
    return out;
  };
  if (batch === 0) return out;
  for (const [name, v] of [
    ['Q', qp.Q],
    ['G', qp.G],
    ['h', qp.h],
    ['A', qp.A],
    ['b', qp.b],
  ] as const) {
    if (firstNonFinite(v) >= 0) {
      out.nonFiniteArray = name;
      return failAll('nonFinite');
    }
  }
  for (let r = 0; r < batch; r++) {
    if (firstNonFinite(q, r * n, n) >= 0) {
      out.nonFiniteArray = 'q';
      return failAll('nonFinite', r);
    }
  }
  const rowScale = new Float64Array(m + p);
  const { Ms: G, vs: h } = equilibrate(qp.G, qp.h, m, n, rowScale, 0);
  const { Ms: A, vs: b } = equilibrate(qp.A, qp.b, p, n, rowScale, m);
  const eq: QPData = { n, m, p, Q: qp.Q, G, h, A, b };
  const dual = new DualKKT(eq);
  if (!dual.ok) return failAll('notPositiveDefinite');
  // The starting system [Q + GᵀG, Aᵀ; A, 0] (D = I), shared by the batch.
  const init = new ReducedKKT(eq);
  if (!init.factor(null)) return failAll('singular');

  const record = (r: number, iterations: number, residual: number, converged: boolean) => {
    if (!converged) out.converged = false;
    out.iterations = Math.max(out.iterations, iterations);
    if (!(residual <= out.residual)) {
      out.residual = residual;
      out.worstRow = r;
      out.worstIterations = iterations;
    }
  };

  if (m === 0) {
    // Equality constraints only: the KKT system's solution, refined by Newton steps on its residual.
    const it = { z: new Float64Array(n), nu: new Float64Array(p), s: new Float64Array(0), lam: new Float64Array(0), tau: 1, kappa: 0 };
    const res = new Residuals(eq, rowScale);
    for (let r = 0; r < batch; r++) {
      const qo = r * n;
      for (let k = 0; k < n; k++) it.z[k] = -q[qo + k];
      it.nu.set(b);
      init.solve(it.z, 0, it.nu);
      let iters = 0;
      for (;;) {
        res.evaluate(it, q, qo);
        if (!(res.res > o.tol) || iters >= o.maxIter) break;
        const dz = Float64Array.from(res.rx, (v) => -v);
        const dnu = Float64Array.from(res.ry, (v) => -v);
        init.solve(dz, 0, dnu);
        for (let k = 0; k < n; k++) it.z[k] += dz[k];
        for (let e = 0; e < p; e++) it.nu[e] += dnu[e];
        iters++;
      }
      if (!Number.isFinite(res.res) && out.failedRow < 0) {
        out.failedRow = r;
        out.failure = 'nonFinite';
      }
      record(r, iters, res.res, res.res <= o.tol);
      out.z.set(it.z, qo);
      for (let e = 0; e < p; e++) out.nu[r * p + e] = it.nu[e] / rowScale[e];
    }
    return out;
  }

  const Gth = new Float64Array(n);
  addMatTVec(G, m, n, h, 0, Gth);
  const ipm = new HomogeneousIPM(eq, rowScale, init, Gth, dual);
  const { it } = ipm;
  for (let r = 0; r < batch; r++) {
    const qo = r * n;
    const result = ipm.solve(q, qo, o);
    if (result.status === 'infeasible') {
      if (out.failedRow < 0) {
        out.failedRow = r;
        out.failure = 'infeasible';
        let top = 0;
        for (let i = 0; i < m; i++) top = Math.max(top, it.lam[i]);
        for (let e = 0; e < p; e++) top = Math.max(top, Math.abs(it.nu[e]));
        out.conflict = { inequalities: heaviest(it.lam, 0, m, top), equalities: heaviest(it.nu, 0, p, top) };
      }
      record(r, result.iterations, NaN, false);
      continue;
    }
    if (!Number.isFinite(result.residual)) {
      // No finite iterate: the data's magnitudes overflow the float64 arithmetic.
      if (out.failedRow < 0) {
        out.failedRow = r;
        out.failure = 'nonFinite';
      }
      record(r, result.iterations, NaN, false);
      continue;
    }
    record(r, result.iterations, result.residual, result.status === 'solved');
    const t = 1 / it.tau;
    for (let k = 0; k < n; k++) out.z[qo + k] = it.z[k] * t;
    for (let i = 0; i < m; i++) {
      out.lam[r * m + i] = (it.lam[i] * t) / rowScale[i];
      out.s[r * m + i] = it.s[i] * t * rowScale[i];
    }
    for (let e = 0; e < p; e++) out.nu[r * p + e] = (it.nu[e] * t) / rowScale[m + e];
    out.active.set(ipm.active, r * m);
  }
  return out;
}
