/**
 * The one iteration loop of every fixed-point method on both engines, with the
 * one convergence rule (Neural Modules, DESIGN.md §1 "Stopping rule"):
 *
 *   row b has converged when ‖f(x)_b − x_b‖ ≤ tol·(‖x_b‖ + 1e-8),
 *
 * the true residual of the iterate f was last evaluated at, per batch row, so a
 * row's answer never depends on the other rows of its batch. The solve succeeds
 * when every row has converged; a row whose residual is not finite (NaN, Inf, or
 * norms that overflow float32) ends it as `'nonFinite'`.
 *
 * The method supplies `step / residuals / answer` (its `init` is the factory that
 * built it); this loop owns `maxIter`, `checkEvery`, the verdict and the stats.
 */
import type { FixedPointMethod, ResolvedSolverOptions, SolveResult, SolveStats } from './solver_types.js';

/** The floor added to ‖x_b‖ in the relative residual (rows near zero use an absolute test). */
export const RESIDUAL_FLOOR = 1e-8;

/**
 * The smallest relative residual a float32 solve can resolve: 8 ulps of 1
 * (8·2⁻²³ ≈ 9.5e-7). Evaluating f in float32 rounds every element and every sum,
 * so a row's residual stalls at a few ulps however long it iterates; a `tol` below
 * this floor acts as the floor (the stats still report the residual reached).
 */
export const FLOAT32_TOL_FLOOR = 8 * 2 ** -23;

/**
 * One row's relative residual from the squared norms of r = f(x) − x and of x.
 * NaN when either is not finite (a diverged row: its norm overflowed or is NaN).
 */
export function relativeResidual(r2: number, x2: number): number {
  if (!Number.isFinite(r2) || !Number.isFinite(x2)) return NaN;
  return Math.sqrt(r2) / (Math.sqrt(x2) + RESIDUAL_FLOOR);
}

/** The verdict over a batch of row residuals. */
export interface RowVerdict {
  /** Largest row residual (NaN when a row is not finite). */
  worst: number;
  /** The row with that residual (the first non-finite one, if any). */
  worstRow: number;
  /** Every row at or below tol. */
  converged: boolean;
  /** Some row is not finite. */
  nonFinite: boolean;
}

/** The shared `terminate`: the per-row rule over `res` (length batch), with `tol` no lower than {@link FLOAT32_TOL_FLOOR}. */
export function terminate(res: ArrayLike<number>, tol: number): RowVerdict {
  const limit = Math.max(tol, FLOAT32_TOL_FLOOR);
  let worst = 0;
  let worstRow = res.length > 0 ? 0 : -1;
  for (let b = 0; b < res.length; b++) {
    const v = res[b];
    if (!(v === v)) return { worst: NaN, worstRow: b, converged: false, nonFinite: true };
    if (v > worst) {
      worst = v;
      worstRow = b;
    }
  }
  return { worst, worstRow, converged: worst <= limit, nonFinite: false };
}

/** A solve's answer from the loop. */
export interface LoopSolution<T> {
  value: T;
  result: SolveResult;
  stats: SolveStats;
}

/**
 * Runs `method` until every row has converged, a row is not finite, or `maxIter`
 * iterations are done; the residual is checked every `checkEvery` iterations and
 * after the last one. Always disposes the method's state.
 */
export function solveFixedPoint<T>(method: FixedPointMethod<T>, options: ResolvedSolverOptions): LoopSolution<T> {
  const res = new Float64Array(method.batch);
  let verdict: RowVerdict = { worst: Infinity, worstRow: -1, converged: false, nonFinite: false };
  let iterations = 0;
  let result: SolveResult = 'maxIterationsReached';
  try {
    for (let t = 1; t <= options.maxIter; t++) {
      method.step(t);
      iterations = t;
      if (t % options.checkEvery !== 0 && t !== options.maxIter) continue;
      method.residuals(res);
      verdict = terminate(res, options.tol);
      if (verdict.nonFinite) {
        result = 'nonFinite';
        break;
      }
      if (verdict.converged) {
        result = 'successful';
        break;
      }
    }
    const value = method.answer();
    const stats: SolveStats = {
      iterations,
      residual: verdict.worst,
      worstRow: verdict.worstRow,
      converged: result === 'successful',
      fallbacks: method.fallbacks(),
    };
    return { value, result, stats };
  } finally {
    method.dispose();
  }
}
