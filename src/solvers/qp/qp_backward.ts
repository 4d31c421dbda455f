/**
 * The OptNet backward pass (Amos & Kolter 2017, eqs. 7–8): the transposed KKT system
 * at the solution, in its active-set limit where it is well conditioned; the solver is
 * never unrolled.
 */
import { matVec } from './linalg.js';
import { ReducedKKT } from './kkt.js';
import type { QPData, QPSolution } from './qp_data.js';

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
  const active = new Uint8Array(m);
  let qmax = 0;
  for (let k = 0; k < n; k++) qmax = Math.max(qmax, Math.abs(qp.Q[k * n + k]));
  const cap = 1e8 * (1 + qmax);
  for (let r = 0; r < batch; r++) {
    const zo = r * n;
    const mo = r * m;
    const po = r * p;
    for (let i = 0; i < m; i++) {
      // λ/s, with the limits of a polished solution: s = 0 on its active rows, λ = s = 0 on a degenerate inactive one.
      const li = sol.lam[mo + i];
      const si = sol.s[mo + i];
      d[i] = si > 0 ? li / si : li > 0 ? Infinity : 0;
      active[i] = sol.active[mo + i];
    }
    for (let k = 0; k < n; k++) dz[k] = -g[zo + k];
    dnu.fill(0);
    if (!activeSetAdjoint(qp, active, d, dz, dnu, dl)) {
      // Degenerate active set (more active rows than freedom): the interior-point system
      // itself, with λ/s capped where it defeats the factorization (and d̃_λ = D·G·d_z
      // taken with the same capped D, so the two stay consistent).
      if (!kkt.factor(m > 0 ? d : null)) {
        for (let i = 0; i < m; i++) d[i] = Math.min(d[i], cap);
        if (m === 0 || !kkt.factor(d)) {
          res.ok = false;
          continue;
        }
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
 * The adjoint system in its limit at the solution: the rows the solver holds active
 * (`isActive`, decided relative to each row's scale, see QPSolution.active) become
 * equality constraints G_i·d_z = 0 whose multipliers are d̃_λ,i, the others keep their
 * (vanishing) λ/s weight in H. This is the paper's system without the conditioning of
 * λ/s ~ 1/μ that the last interior-point iterate has (1e10 and more: a Cholesky factor
 * of Q + GᵀDG then loses ~10 digits).
 *
 * In: `d` = λ/s (length m), `dz` = the right-hand side −g. Out: d_z in `dz`, d_ν in
 * `dnu`, d̃_λ in `dl`. False (outputs undefined) when [A; G_active] is rank-deficient.
 */
function activeSetAdjoint(qp: QPData, isActive: Uint8Array, d: Float64Array, dz: Float64Array, dnu: Float64Array, dl: Float64Array): boolean {
  const { n, m, p, G, A } = qp;
  const active: number[] = [];
  const inactive: number[] = [];
  for (let i = 0; i < m; i++) (isActive[i] ? active : inactive).push(i);
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
