/** Aggregation of per-level solve stats into a whole forward or adjoint solve of the layer. */
import type { SolveStats } from '../../../solvers/solver_types.js';

/**
 * The stats of one forward or adjoint solve of a Neural Module layer, which runs one
 * fixed-point solve per condensation level that has modules of ≥ 2 nodes (DESIGN.md §1).
 * `iterations` sums the levels' iterations (the work done); `residual` and `worstRow`
 * are the worst over the levels. The per-solve figures, comparable with `maxIter`, are
 * those of the worst level.
 */
export interface LayerSolveStats extends SolveStats {
  /** Condensation level (an index into `structure().levels`) of the level solve with the worst residual; −1 when no level iterated. */
  worstLevel: number;
  /** Iterations of that level's solve (at most `maxIter`); 0 when no level iterated. */
  worstLevelIterations: number;
  /** Level solves that iterated (at most the number of levels). */
  iterativeLevels: number;
}

/** Stats of a solve that needed no iteration. */
export function emptyStats(): LayerSolveStats {
  return { iterations: 0, residual: 0, worstRow: -1, converged: true, fallbacks: 0, worstLevel: -1, worstLevelIterations: 0, iterativeLevels: 0 };
}

/** Whether residual `r` is worse than `than` (NaN is worst). */
const worse = (r: number, than: number) => (Number.isNaN(r) ? !Number.isNaN(than) : r > than);

/** Adds the solve of condensation level `level` to a running total: iterations summed, the worst residual (NaN wins) with its row and level kept. */
export function addStats(acc: LayerSolveStats, s: SolveStats, level: number): void {
  acc.iterations += s.iterations;
  acc.iterativeLevels++;
  if (acc.worstLevel < 0 || worse(s.residual, acc.residual)) {
    acc.residual = s.residual;
    acc.worstRow = s.worstRow;
    acc.worstLevel = level;
    acc.worstLevelIterations = s.iterations;
  }
  acc.converged = acc.converged && s.converged;
  acc.fallbacks += s.fallbacks;
}

/**
 * Merges the stats of a whole solve of the batch rows from `b0` (row chunks solved one
 * after the other): the iterations and levels of the longest chunk, the worst residual
 * with its row (in batch numbering) and level.
 */
export function mergeRowChunk(acc: LayerSolveStats, s: LayerSolveStats, b0: number): void {
  acc.iterations = Math.max(acc.iterations, s.iterations);
  acc.iterativeLevels = Math.max(acc.iterativeLevels, s.iterativeLevels);
  if (s.worstLevel >= 0 && (acc.worstLevel < 0 || worse(s.residual, acc.residual))) {
    acc.residual = s.residual;
    acc.worstRow = s.worstRow < 0 ? -1 : b0 + s.worstRow;
    acc.worstLevel = s.worstLevel;
    acc.worstLevelIterations = s.worstLevelIterations;
  }
  acc.converged = acc.converged && s.converged;
  acc.fallbacks += s.fallbacks;
}
