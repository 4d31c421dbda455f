/**
 * The OptNet QP solver's iteration for one sample: a primal-dual interior-point method
 * with Mehrotra's predictor-corrector on the homogeneous embedding of the QP (as
 * Clarabel does for quadratic objectives; Goulart & Chen 2024):
 *
 *   Qz + Gᵀλ + Aᵀν + qτ = 0,   Gz + s = hτ,   Az = bτ,
 *   κ + zᵀQz/τ + qᵀz + hᵀλ + bᵀν = 0,          s, λ, τ, κ ≥ 0.
 *
 * Its solutions are either τ > 0, where (z, ν, s, λ)/τ solves the QP, or τ = 0 < κ,
 * where (λ, ν) is a Farkas certificate that Gz ≤ h, Az = b has no solution (Q is
 * positive definite, so the QP has no other way to fail). The iterates approach one or
 * the other, so both tests ({@link Residuals}) run at every iterate, whatever stops the
 * loop later.
 *
 * This file holds the loop and its decisions (start, stopping, polishing, the iterate
 * returned); each Newton step is a {@link NewtonStep}.
 */
import { ReducedKKT, DualKKT } from './kkt.js';
import { matVec } from './linalg.js';
import { Residuals, type HomogeneousIterate } from './stopping.js';
import { Polisher } from './polish.js';
import { NewtonStep } from './newton_step.js';
import type { QPData, QPOptions } from './qp_data.js';

/** How a sample's solve ended. */
export type SampleStatus = 'solved' | 'infeasible' | 'maxIter' | 'stalled';

/** A sample's outcome; the iterate itself stays in {@link HomogeneousIPM.it}. */
export interface SampleResult {
  status: SampleStatus;
  /** Newton steps taken (those of the returned iterate). */
  iterations: number;
  /** The optimality error of the returned iterate (see {@link Residuals.res}). */
  residual: number;
}

/** Extra iterations, past maxIter, that decide whether a capped solve with a primal residual left is infeasible. */
export const INFEASIBILITY_EXTRA = 50;

/** The start weighs the constraints by ‖q‖∞ / START_C once that exceeds 1 (see `start`). */
const START_C = 10;

/** Steps in a row with μ falling by less than 10% after which the solve counts as stalled. */
const STALL_STEPS = 5;

/** The optimality error below which the iterate's active set is tried directly ({@link Polisher}). */
const POLISH_FROM = 1e-2;

/** The per-sample solver; its workspaces are reused across the batch. */
export class HomogeneousIPM {
  /** The current iterate (equilibrated units; divide by τ for the QP's). */
  readonly it: HomogeneousIterate;
  /** The inequality rows the returned point holds active (1) or not (0): the polished set, or the iterate's ({@link Residuals.active}). */
  readonly active: Uint8Array;
  private readonly res: Residuals;
  private readonly newton: NewtonStep;
  private readonly polisher: Polisher;
  /** The weighted start's system [Q + wGᵀG, Aᵀ; A, 0] and its weight w (0: none factored). */
  private readonly startKKT: ReducedKKT;
  private readonly startD: Float64Array;
  private startW = 0;
  /** Snapshots: the best iterate up to maxIter and the best certificate seen. */
  private readonly bestIt: HomogeneousIterate;
  private readonly certIt: HomogeneousIterate;

  /**
   * `qp`: the equilibrated data; `rowScale` the row factors; `init` the factored
   * starting system [Q + GᵀG, Aᵀ; A, 0]; `Gth` = Gᵀh; `dual` the shared dual-form system.
   */
  constructor(
    private readonly qp: QPData,
    rowScale: Float64Array,
    private readonly init: ReducedKKT,
    private readonly Gth: Float64Array,
    private readonly dual: DualKKT,
  ) {
    const { n, m, p } = qp;
    this.it = { z: new Float64Array(n), nu: new Float64Array(p), s: new Float64Array(m), lam: new Float64Array(m), tau: 1, kappa: 1 };
    this.active = new Uint8Array(m);
    this.res = new Residuals(qp, rowScale);
    this.polisher = new Polisher(qp, rowScale, dual);
    this.newton = new NewtonStep(qp, dual);
    this.startKKT = new ReducedKKT(qp);
    this.startD = new Float64Array(m);
    this.bestIt = this.copy();
    this.certIt = this.copy();
  }

  /**
   * Solves the sample with linear term q (at `qo`). Stops when the optimality error is
   * ≤ tol with κ ≤ τ ('solved', possibly after {@link Polisher} holds the active rows
   * exactly), when the Farkas measure is ≤ tol ('infeasible'), at maxIter ('maxIter';
   * when the iterate is not a near-solution, up to {@link INFEASIBILITY_EXTRA} more steps
   * look for a certificate), or when no Newton step can be taken or μ stops falling
   * ('stalled'). However it stops short of 'solved', the QP is infeasible if the best
   * certificate seen (at κ > τ) has a Farkas measure ≤ min(1e-4, √tol) (mature solvers likewise
   * accept an almost-certificate at their limits); otherwise the result is the iterate
   * with the smallest optimality error up to maxIter.
   */
  solve(q: Float64Array, qo: number, o: QPOptions): SampleResult {
    this.start(q, qo);
    const res = this.res;
    const it = this.it;
    const m = this.qp.m;
    let iters = 0;
    let cap = o.maxIter;
    const best = { res: Infinity, iters: 0 };
    let certFarkas = Infinity;
    let prevMu = Infinity;
    let slow = 0;
    let status: SampleStatus;
    for (;;) {
      res.evaluate(it, q, qo);
      // κ ≤ τ: the embedding leans to a solution (Clarabel's test). On an infeasible QP
      // τ → 0 and z/τ grows without bound, and residuals relative to z/τ's own size
      // would shrink with it.
      const leansSolved = it.kappa <= it.tau;
      const solvedHere = res.res <= o.tol && leansSolved;
      if (iters > o.maxIter) {
        // Past maxIter only a certificate is looked for; a solution means the QP is feasible.
        if (solvedHere) {
          status = 'maxIter';
          break;
        }
      } else {
        if (solvedHere) {
          status = 'solved';
          break;
        }
        if (res.res <= POLISH_FROM && leansSolved && this.polisher.attempt(res.active, q, qo, o.tol)) {
          this.assign(this.polisher.it);
          this.active.set(res.active);
          return { status: 'solved', iterations: iters, residual: this.polisher.res.res };
        }
        if (res.res < best.res) {
          best.res = res.res;
          best.iters = iters;
          this.copy(this.bestIt);
        }
      }
      if (res.farkas <= o.tol) {
        status = 'infeasible';
        break;
      }
      if (res.farkas < certFarkas && !leansSolved) {
        certFarkas = res.farkas;
        this.copy(this.certIt);
      }
      if (iters >= cap) {
        status = 'maxIter';
        if (cap > o.maxIter || (res.primal <= o.tol && leansSolved)) break;
        cap += INFEASIBILITY_EXTRA;
      }
      let mu = it.tau * it.kappa;
      for (let i = 0; i < m; i++) mu += it.s[i] * it.lam[i];
      slow = mu > 0.9 * prevMu ? slow + 1 : 0;
      prevMu = mu;
      if (slow >= STALL_STEPS || !this.newton.take(it, res, q, qo)) {
        status = iters >= o.maxIter ? 'maxIter' : 'stalled';
        break;
      }
      iters++;
    }
    if (status !== 'solved' && status !== 'infeasible' && certFarkas <= Math.max(o.tol, Math.min(1e-4, Math.sqrt(o.tol)))) {
      status = 'infeasible';
      this.assign(this.certIt);
    }
    if (status === 'maxIter' || status === 'stalled') {
      // The best iterate up to maxIter; none is finite when the data overflow float64's arithmetic.
      if (!(best.res < Infinity)) return { status, iterations: iters, residual: NaN };
      this.assign(this.bestIt);
      res.evaluate(it, q, qo);
      this.active.set(res.active);
      return { status, iterations: best.iters, residual: best.res };
    }
    this.active.set(res.active);
    return { status, iterations: iters, residual: res.res };
  }

  /** A copy of the iterate (into `into` when given). */
  private copy(into: HomogeneousIterate | null = null): HomogeneousIterate {
    const { z, nu, s, lam, tau, kappa } = this.it;
    if (into == null) return { z: z.slice(), nu: nu.slice(), s: s.slice(), lam: lam.slice(), tau, kappa };
    into.z.set(z);
    into.nu.set(nu);
    into.s.set(s);
    into.lam.set(lam);
    into.tau = tau;
    into.kappa = kappa;
    return into;
  }

  private assign(from: HomogeneousIterate): void {
    const it = this.it;
    it.z.set(from.z);
    it.nu.set(from.nu);
    it.s.set(from.s);
    it.lam.set(from.lam);
    it.tau = from.tau;
    it.kappa = from.kappa;
  }

  /**
   * CVXOPT's / Clarabel's start, weighted: z, ν minimize ½zᵀQz + qᵀz + ½w‖Gz − h‖²
   * subject to Az = b, i.e. [Q + wGᵀG, Aᵀ; A, 0][z; ν] = [−q + wGᵀh; b]; then s = h − Gz and
   * λ = −w·s (that problem's multipliers), each shifted to be positive; τ = κ = 1. The
   * weight w = max(1, ‖q‖∞ / {@link START_C}) keeps a large q (an input of 1e10) from
   * pulling z far outside the constraints and giving every row a multiplier of that size
   * (Clarabel scales the cost for the same reason); the rows are equilibrated, so a large
   * bound cannot pull it either.
   */
  private start(q: Float64Array, qo: number): void {
    const { n, m, G, h, b } = this.qp;
    const { z, nu, s, lam } = this.it;
    let w = 1;
    for (let k = 0; k < n; k++) w = Math.max(w, Math.abs(q[qo + k]) / START_C);
    let kkt = this.init;
    if (w > 1) {
      // The weighted system is refactored only when w leaves a factor of 10 of the last one.
      if (!(w <= 10 * this.startW && w >= 0.1 * this.startW)) {
        this.startD.fill(w);
        this.startW = this.startKKT.factor(this.startD) ? w : 0;
      }
      if (this.startW > 0) kkt = this.startKKT;
      w = this.startW > 0 ? this.startW : 1;
    }
    for (let k = 0; k < n; k++) z[k] = -q[qo + k] + w * this.Gth[k];
    nu.set(b);
    kkt.solve(z, 0, nu);
    matVec(G, m, n, z, 0, s);
    let minS = Infinity;
    let maxS = -Infinity;
    for (let i = 0; i < m; i++) {
      s[i] = h[i] - s[i];
      lam[i] = -w * s[i];
      minS = Math.min(minS, s[i]);
      maxS = Math.max(maxS, s[i]);
    }
    const shiftS = minS <= 0 ? 1 - minS : 0;
    const shiftL = -maxS <= 0 ? 1 + w * maxS : 0;
    for (let i = 0; i < m; i++) {
      s[i] += shiftS;
      lam[i] += shiftL;
    }
    this.it.tau = 1;
    this.it.kappa = 1;
    this.newton.prepare(q, qo);
  }
}
