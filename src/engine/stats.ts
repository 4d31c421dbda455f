/** Aggregation of per-step solve stats into a whole forward or adjoint solve. */
import type { SolveStats } from '../solvers/types.js';

/** Stats of a solve that needed no iteration. */
export function emptyStats(): SolveStats {
  return { iterations: 0, residual: 0, worstRow: -1, converged: true, fallbacks: 0 };
}

/** Adds one step's stats to a running total: iterations summed, the worst residual (NaN wins) and its row kept. */
export function addStats(acc: SolveStats, s: SolveStats): void {
  acc.iterations += s.iterations;
  const worse = Number.isNaN(s.residual) ? !Number.isNaN(acc.residual) : s.residual > acc.residual;
  if (worse) {
    acc.residual = s.residual;
    acc.worstRow = s.worstRow;
  }
  acc.converged = acc.converged && s.converged;
  acc.fallbacks += s.fallbacks;
}
