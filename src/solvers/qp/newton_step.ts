/**
 * One Newton step of the OptNet interior-point method on the QP's homogeneous embedding
 * (see ipm.ts): Mehrotra's predictor-corrector, each direction a solve of the QP's
 * KKT system ({@link DualKKT}, or {@link ReducedKKT} when that is not positive definite)
 * plus a multiple of the response to a unit change of τ, which one scalar equation fixes.
 * Directions are linear in their right-hand sides, so in the dual form the residuals are
 * reduced once per step and the unit-τ right-hand side once per sample.
 */
import type { DualKKT } from './kkt.js';
import { ReducedKKT } from './kkt.js';
import { matVec } from './linalg.js';
import type { HomogeneousIterate, Residuals } from './stopping.js';
import type { QPData } from './qp_data.js';

/** A Newton direction. */
interface Step {
  z: Float64Array;
  s: Float64Array;
  l: Float64Array;
  nu: Float64Array;
  tau: number;
  kappa: number;
}

const newStep = (n: number, m: number, p: number): Step => ({
  z: new Float64Array(n),
  s: new Float64Array(m),
  l: new Float64Array(m),
  nu: new Float64Array(p),
  tau: 0,
  kappa: 0,
});

const finite = (v: Float64Array): boolean => {
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) return false;
  return true;
};

/** Largest α ∈ (0, 1] with v + α·dv ≥ 0 (v > 0). */
function maxStep(v: Float64Array, dv: Float64Array, a: number): number {
  for (let i = 0; i < v.length; i++) if (dv[i] < 0) a = Math.min(a, -v[i] / dv[i]);
  return a;
}

/** The Newton steps of one batch's samples (equilibrated data); workspaces reused. */
export class NewtonStep {
  private readonly kkt: ReducedKKT;
  private useDual = false;
  /** λ/s, the weights of the primal form. */
  private readonly d: Float64Array;
  private readonly one: Step;
  private readonly aff: Step;
  private readonly dir: Step;
  private readonly tx: Float64Array;
  private readonly tz: Float64Array;
  private readonly ty: Float64Array;
  private readonly tc: Float64Array;
  private readonly diff: Float64Array;
  private readonly Qdiff: Float64Array;
  /** The dual form's reductions (see {@link DualKKT.reduce}) of the unit-τ right-hand side (per sample) and of the residuals (per step). */
  private readonly u1: Float64Array;
  private readonly base1: Float64Array;
  private readonly ur: Float64Array;
  private readonly baseR: Float64Array;
  private readonly zeroM: Float64Array;
  private denom = -1;
  /** The iterate and residuals of the current step. */
  private it!: HomogeneousIterate;
  private res!: Residuals;

  constructor(
    private readonly qp: QPData,
    private readonly dual: DualKKT,
  ) {
    const { n, m, p } = qp;
    this.kkt = new ReducedKKT(qp);
    this.d = new Float64Array(m);
    this.one = newStep(n, m, p);
    this.aff = newStep(n, m, p);
    this.dir = newStep(n, m, p);
    this.tx = new Float64Array(n);
    this.tz = new Float64Array(m);
    this.ty = new Float64Array(p);
    this.tc = new Float64Array(m);
    this.diff = new Float64Array(n);
    this.Qdiff = new Float64Array(n);
    this.u1 = new Float64Array(n);
    this.base1 = new Float64Array(m + p);
    this.ur = new Float64Array(n);
    this.baseR = new Float64Array(m + p);
    this.zeroM = new Float64Array(m);
  }

  /** Per sample: reduces the unit-τ right-hand side (q, −h, −b), fixed for the sample. */
  prepare(q: Float64Array, qo: number): void {
    const { n, m, p, h, b } = this.qp;
    for (let k = 0; k < n; k++) this.tx[k] = q[qo + k];
    for (let i = 0; i < m; i++) this.tz[i] = -h[i];
    for (let e = 0; e < p; e++) this.ty[e] = -b[e];
    if (this.dual.ok) this.dual.reduce(this.tx, this.tz, this.ty, this.u1, this.base1);
  }

  /**
   * One predictor-corrector step of `it` in place, from its residuals `res` (current).
   * False when no step can be taken (the KKT system cannot be factored, or the direction is not finite).
   */
  take(it: HomogeneousIterate, res: Residuals, q: Float64Array, qo: number): boolean {
    this.it = it;
    this.res = res;
    return this.step(q, qo);
  }

  private step(q: Float64Array, qo: number): boolean {
    const { n, m, p, Q, h, b } = this.qp;
    const it = this.it;
    const { s, lam } = it;
    for (let i = 0; i < m; i++) this.d[i] = lam[i] / s[i];
    this.useDual = this.dual.ok && this.dual.factor(s, lam);
    if (!this.useDual && !this.kkt.factor(this.d) && !this.kkt.factorSafe(this.d)) return false;

    // The response to a unit Δτ, and the scalar equation's coefficient: by the KKT
    // system it equals −κ/τ − (Δz¹ − z/τ)ᵀQ(Δz¹ − z/τ) − Σ (Δλ¹)²·s/λ < 0.
    const one = this.one;
    if (this.useDual) {
      this.dual.finish(this.u1, this.base1, 1, this.zeroM, s, lam, one.z, one.s, one.l, one.nu);
      const { rx, rz, ry } = this.res;
      this.dual.reduce(rx, rz, ry, this.ur, this.baseR);
    } else {
      for (let k = 0; k < n; k++) this.tx[k] = q[qo + k];
      for (let i = 0; i < m; i++) this.tz[i] = -h[i];
      for (let e = 0; e < p; e++) this.ty[e] = -b[e];
      this.direction(this.tx, this.tz, this.ty, this.zeroM, one);
    }
    const t = 1 / it.tau;
    for (let k = 0; k < n; k++) this.diff[k] = one.z[k] - it.z[k] * t;
    matVec(Q, n, n, this.diff, 0, this.Qdiff);
    let quad = 0;
    for (let k = 0; k < n; k++) quad += this.diff[k] * this.Qdiff[k];
    let sum = 0;
    for (let i = 0; i < m; i++) sum += (one.l[i] * one.l[i] * s[i]) / lam[i];
    this.denom = -it.kappa * t - quad - sum;

    // Predictor (affine scaling).
    const aff = this.aff;
    for (let i = 0; i < m; i++) this.tc[i] = -s[i] * lam[i];
    this.combine(1, this.tc, -it.tau * it.kappa, q, qo, aff);
    const aAff = this.stepLength(aff);
    let gap = it.tau * it.kappa;
    for (let i = 0; i < m; i++) gap += s[i] * lam[i];
    const mu = gap / (m + 1);
    const sigma = Math.pow(1 - aAff, 3);

    // Corrector (centering + second-order term); the residuals shrink by 1 − σ.
    const dir = this.dir;
    for (let i = 0; i < m; i++) this.tc[i] = -s[i] * lam[i] + sigma * mu - aff.s[i] * aff.l[i];
    this.combine(1 - sigma, this.tc, -it.tau * it.kappa + sigma * mu - aff.tau * aff.kappa, q, qo, dir);
    if (!finite(dir.z) || !finite(dir.s) || !finite(dir.l) || !finite(dir.nu) || !Number.isFinite(dir.tau + dir.kappa)) return false;
    const alpha = Math.min(1, 0.99 * this.stepLength(dir));
    for (let k = 0; k < n; k++) it.z[k] += alpha * dir.z[k];
    for (let e = 0; e < p; e++) it.nu[e] += alpha * dir.nu[e];
    for (let i = 0; i < m; i++) {
      s[i] += alpha * dir.s[i];
      lam[i] += alpha * dir.l[i];
    }
    it.tau += alpha * dir.tau;
    it.kappa += alpha * dir.kappa;
    return true;
  }

  /**
   * The Newton direction for residuals scaled by `eta`, complementarity right-hand sides
   * `rc` (s∘λ rows) and `rk` (τκ): the KKT solve for Δτ = 0 plus Δτ times the unit response.
   */
  private combine(eta: number, rc: Float64Array, rk: number, q: Float64Array, qo: number, out: Step): void {
    const { n, m, p, h, b } = this.qp;
    const { rx, rz, ry, Qz, rt } = this.res;
    const it = this.it;
    const t = 1 / it.tau;
    if (this.useDual) {
      this.dual.finish(this.ur, this.baseR, eta, rc, it.s, it.lam, out.z, out.s, out.l, out.nu);
    } else {
      for (let k = 0; k < n; k++) this.tx[k] = eta * rx[k];
      for (let i = 0; i < m; i++) this.tz[i] = eta * rz[i];
      for (let e = 0; e < p; e++) this.ty[e] = eta * ry[e];
      this.direction(this.tx, this.tz, this.ty, rc, out);
    }
    let lin = 0;
    for (let k = 0; k < n; k++) lin += (2 * Qz[k] * t + q[qo + k]) * out.z[k];
    for (let i = 0; i < m; i++) lin += h[i] * out.l[i];
    for (let e = 0; e < p; e++) lin += b[e] * out.nu[e];
    const dtau = (-eta * rt - rk * t - lin) / this.denom;
    const one = this.one;
    for (let k = 0; k < n; k++) out.z[k] += dtau * one.z[k];
    for (let i = 0; i < m; i++) {
      out.s[i] += dtau * one.s[i];
      out.l[i] += dtau * one.l[i];
    }
    for (let e = 0; e < p; e++) out.nu[e] += dtau * one.nu[e];
    out.tau = dtau;
    out.kappa = (rk - it.kappa * dtau) * t;
  }

  /** Largest α ∈ (0, 1] keeping s, λ, τ, κ nonnegative along `d`. */
  private stepLength(d: Step): number {
    const it = this.it;
    let a = maxStep(it.s, d.s, 1);
    a = maxStep(it.lam, d.l, a);
    if (d.tau < 0) a = Math.min(a, -it.tau / d.tau);
    if (d.kappa < 0) a = Math.min(a, -it.kappa / d.kappa);
    return a;
  }

  /**
   * Solves Q·dz + Gᵀdλ + Aᵀdν = −rx, G·dz + ds = −rz, A·dz = −ry, λ∘ds + s∘dλ = rc
   * with the system factored by {@link take}.
   */
  private direction(rx: Float64Array, rz: Float64Array, ry: Float64Array, rc: Float64Array, out: Step): void {
    const { s, lam } = this.it;
    if (this.useDual) this.dual.direction(rx, rz, ry, rc, s, lam, out.z, out.s, out.l, out.nu);
    else this.kkt.direction(rx, rz, ry, rc, s, lam, this.d, out.z, out.s, out.l, out.nu);
  }
}
