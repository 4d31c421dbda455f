/**
 * The stopping tests of the OptNet interior-point method (see ipm.ts): the
 * residuals of the homogeneous embedding at an iterate, the per-row scaled optimality
 * error, and the test for a Farkas certificate of infeasibility.
 *
 * Every test is relative to the magnitudes of the terms it compares, row by row, so a
 * large number in one row (an inactive bound z ≤ 1e20, an input of 1e10) cannot loosen
 * the test of another (as OSQP / Clarabel scale their criteria, but per row instead of
 * per vector). The data are the equilibrated ones (rows divided by `rowScale`); the
 * optimality error is measured in the caller's original units.
 */
import type { QPData } from './qp_data.js';

/** A point of the homogeneous embedding: (z, ν, s, λ)/τ is the QP's candidate, κ the gap variable. */
export interface HomogeneousIterate {
  z: Float64Array;
  nu: Float64Array;
  s: Float64Array;
  lam: Float64Array;
  tau: number;
  kappa: number;
}

/**
 * The residuals of the homogeneous embedding at an iterate
 *
 *   rx = Qz + qτ + Gᵀλ + Aᵀν,   rz = Gz + s − hτ,   ry = Az − bτ,
 *   rt = κ + zᵀQz/τ + qᵀz + hᵀλ + bᵀν,
 *
 * and the two stopping measures, recomputed by {@link evaluate}.
 */
export class Residuals {
  readonly rx: Float64Array;
  readonly rz: Float64Array;
  readonly ry: Float64Array;
  /** Qz (the step needs it). */
  readonly Qz: Float64Array;
  rt = 0;
  /**
   * Optimality error of (z, ν, s, λ)/τ in original units, the largest of:
   * each dual component |(Qẑ + q + Gᵀλ̂ + Aᵀν̂)_k| / (1 + the largest of its four terms' sizes);
   * each primal row |G_iẑ + ŝ_i − h_i| / (r_i + max(|h_i|, Σ_k|G_ik ẑ_k|, ŝ_i)) with the row's
   * own magnitude r_i = max(‖G_i‖∞, |h_i|) in place of an absolute 1 (so scaling a row changes
   * nothing), likewise for Az = b;
   * each complementarity pair min(ŝ_i / that row's scale, λ̂_i·max_k |G_ik| / dual scale_k):
   * either the row is active to tolerance or its multiplier moves no dual component.
   */
  res = Infinity;
  /** The primal part of {@link res} (rows of Gz ≤ h and Az = b only). */
  primal = Infinity;
  /**
   * How far (λ, ν) is from a Farkas certificate of infeasibility: with c = −(hᵀλ + bᵀν),
   * ‖Gᵀλ + Aᵀν‖∞ / max_k (|G|ᵀλ + |A|ᵀ|ν|)_k divided by c / (|h|ᵀλ + |b|ᵀ|ν|)
   * (Infinity when c ≤ 0). At most ε, it proves that any z with Gz ≤ h, Az = b would need
   * |G||z| about 1/ε times |h| (see {@link evaluate}).
   */
  farkas = Infinity;
  /**
   * Per inequality row, 1 when the row looks active: its slack is relatively smaller than
   * its multiplier (ŝ_i / row scale < λ̂_i·max_k |G_ik| / dual scale_k), else 0.
   */
  readonly active: Uint8Array;
  private readonly aQz: Float64Array;
  private readonly gl: Float64Array;
  private readonly agl: Float64Array;
  private readonly an: Float64Array;
  private readonly aan: Float64Array;
  private readonly aGz: Float64Array;
  private readonly aAz: Float64Array;
  /** 1 / each dual component's scale. */
  private readonly dualScale: Float64Array;

  /** `qp` holds the equilibrated G, h, A, b; `rowScale` (length m + p) the factors the rows were divided by. */
  constructor(
    private readonly qp: QPData,
    private readonly rowScale: Float64Array,
  ) {
    const { n, m, p } = qp;
    this.rx = new Float64Array(n);
    this.rz = new Float64Array(m);
    this.ry = new Float64Array(p);
    this.Qz = new Float64Array(n);
    this.aQz = new Float64Array(n);
    this.gl = new Float64Array(n);
    this.agl = new Float64Array(n);
    this.an = new Float64Array(n);
    this.aan = new Float64Array(n);
    this.aGz = new Float64Array(m);
    this.aAz = new Float64Array(p);
    this.dualScale = new Float64Array(n);
    this.active = new Uint8Array(m);
  }

  /**
   * Recomputes the residuals and both measures at `it` for the linear term q (at `qo`).
   *
   * Why a small {@link farkas} means infeasible: for any z with Gz ≤ h and Az = b,
   * (Gᵀλ + Aᵀν)ᵀz ≤ hᵀλ + bᵀν = −c since λ ≥ 0, so c ≤ ‖Gᵀλ + Aᵀν‖∞·‖z‖₁; with
   * farkas ≤ ε that gives ‖z‖₁ · max_k(|G|ᵀλ + |A|ᵀ|ν|)_k ≥ (|h|ᵀλ + |b|ᵀ|ν|)/ε:
   * only points 1/ε times beyond the scale the constraints set could be feasible.
   */
  evaluate(it: HomogeneousIterate, q: Float64Array, qo: number): void {
    const { n, m, p, Q, G, h, A, b } = this.qp;
    const { z, s, lam, nu, tau, kappa } = it;
    const { rx, rz, ry, Qz, aQz, gl, agl, an, aan, aGz, aAz, dualScale } = this;
    const sc = this.rowScale;
    const t = 1 / tau;
    let zQz = 0;
    let qz = 0;
    for (let k = 0; k < n; k++) {
      const rk = k * n;
      let v = 0;
      let a = 0;
      for (let j = 0; j < n; j++) {
        const x = Q[rk + j] * z[j];
        v += x;
        a += Math.abs(x);
      }
      Qz[k] = v;
      aQz[k] = a;
      zQz += z[k] * v;
      qz += q[qo + k] * z[k];
    }
    gl.fill(0);
    agl.fill(0);
    let hl = 0;
    let cScale = 0;
    for (let i = 0; i < m; i++) {
      const ri = i * n;
      const li = lam[i];
      let v = 0;
      let a = 0;
      for (let k = 0; k < n; k++) {
        const g = G[ri + k];
        const x = g * z[k];
        v += x;
        a += Math.abs(x);
        gl[k] += g * li;
        agl[k] += Math.abs(g) * li;
      }
      rz[i] = v + s[i] - h[i] * tau;
      aGz[i] = a;
      hl += h[i] * li;
      cScale += Math.abs(h[i]) * li;
    }
    an.fill(0);
    aan.fill(0);
    let bn = 0;
    for (let e = 0; e < p; e++) {
      const re = e * n;
      const ne = nu[e];
      let v = 0;
      let a = 0;
      for (let k = 0; k < n; k++) {
        const g = A[re + k];
        const x = g * z[k];
        v += x;
        a += Math.abs(x);
        an[k] += g * ne;
        aan[k] += Math.abs(g * ne);
      }
      ry[e] = v - b[e] * tau;
      aAz[e] = a;
      bn += b[e] * ne;
      cScale += Math.abs(b[e] * ne);
    }
    this.rt = kappa + zQz * t + qz + hl + bn;

    // Optimality, in original units: ẑ = z/τ, λ̂_i = λ_i/(τ·scale_i), ŝ_i = s_i·scale_i/τ.
    let dual = 0;
    let rmax = 0;
    let tmax = 0;
    for (let k = 0; k < n; k++) {
      rx[k] = Qz[k] + q[qo + k] * tau + gl[k] + an[k];
      const d = 1 + Math.max(t * aQz[k], Math.abs(q[qo + k]), t * agl[k], t * aan[k]);
      dualScale[k] = 1 / d;
      dual = Math.max(dual, (t * Math.abs(rx[k])) / d);
      rmax = Math.max(rmax, Math.abs(gl[k] + an[k]));
      tmax = Math.max(tmax, agl[k] + aan[k]);
    }
    let primal = 0;
    let compl = 0;
    for (let i = 0; i < m; i++) {
      const r = sc[i];
      const P = r * (1 + Math.max(Math.abs(h[i]), t * aGz[i], t * s[i]));
      primal = Math.max(primal, (r * t * Math.abs(rz[i])) / P);
      const ri = i * n;
      let g = 0;
      for (let k = 0; k < n; k++) g = Math.max(g, Math.abs(G[ri + k]) * dualScale[k]);
      const slack = (r * t * s[i]) / P;
      const mult = t * lam[i] * g;
      this.active[i] = slack < mult ? 1 : 0;
      compl = Math.max(compl, Math.min(slack, mult));
    }
    for (let e = 0; e < p; e++) {
      const r = sc[m + e];
      const E = r * (1 + Math.max(Math.abs(b[e]), t * aAz[e]));
      primal = Math.max(primal, (r * t * Math.abs(ry[e])) / E);
    }
    this.primal = primal;
    this.res = Math.max(dual, primal, compl);
    if (!Number.isFinite(this.res)) this.res = NaN;

    // Infeasibility: the certificate's own terms set its scale (invariant to the scale of λ, ν).
    const c = -(hl + bn);
    this.farkas = !(c > 0) ? Infinity : rmax === 0 ? 0 : (rmax * cScale) / (c * tmax);
  }
}
