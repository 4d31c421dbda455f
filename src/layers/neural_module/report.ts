/**
 * What a Neural Module layer does with each solve's stats: keep them for
 * `solverStats()` and the callbacks' counters, throw a NonFiniteError for a
 * non-finite result, and apply the `onNonConvergence` policy, with advice that
 * fits the method in use. Warnings are shown once per `fit` call and once per
 * other kind of call between fits, forward and backward separately.
 */
import type { LayerSolveStats } from './engine/stats.js';
import type { ResolvedSolverOptions } from '../../solvers/solver_types.js';
import { NonConvergenceError, NonFiniteError } from '../../utils/errors.js';
import { currentPhase } from '../../tfjs_internals/call_phase.js';
import type { NonConvergenceMode } from '../../solvers/solver_types.js';

/** Running totals since the last `resetCounters()` (read by callbacks). */
export interface SolveCounters {
  forwardCalls: number;
  forwardIterations: number;
  backwardCalls: number;
  backwardIterations: number;
}

export const emptyCounters = (): SolveCounters => ({ forwardCalls: 0, forwardIterations: 0, backwardCalls: 0, backwardIterations: 0 });

const CONSTRAINT_HINT = 'or keep the graph contractive with graphConstraint: nm.constraints.contractive({ bound: 0.9 })';

/** Advice for a solve that missed its tolerance with `o`. */
export function convergenceAdvice(o: ResolvedSolverOptions): string {
  switch (o.method) {
    case 'picard':
      return `Use solver 'anderson' (faster on slowly contracting modules), raise maxIter (${o.maxIter}), ${CONSTRAINT_HINT}.`;
    case 'anderson':
    case 'auto':
      return `Raise maxIter (${o.maxIter}) or memory (${o.memory}), use 'newton' for small modules (engine 'tensor'), ${CONSTRAINT_HINT}.`;
    default:
      return `Raise maxIter (${o.maxIter}), lower the density or the learning rate, ${CONSTRAINT_HINT}.`;
  }
}

/**
 * What a solve that missed its tolerance did, in per-solve figures: the residual and the
 * iterations of the worst level's solve, which `maxIter` bounds. With several levels
 * solved iteratively, the level and the iterations summed over all levels follow.
 */
export function nonConvergenceDetail(stats: LayerSolveStats, o: ResolvedSolverOptions, batch: number): string {
  const solve =
    `residual ${stats.residual.toExponential(3)} > tol ${o.tol} at row ${stats.worstRow} of ${batch}, ` +
    `after ${stats.worstLevelIterations} iterations (method '${o.method}', maxIter ${o.maxIter})`;
  if (stats.iterativeLevels < 2) return solve;
  return (
    `${solve} in the solve of condensation level ${stats.worstLevel} (structure().levels[${stats.worstLevel}]); ` +
    `${stats.iterativeLevels} levels were solved iteratively, ${stats.iterations} iterations in all`
  );
}

/** The stats sink of one layer. */
export class SolveReport {
  forward: LayerSolveStats | null = null;
  backward: LayerSolveStats | null = null;
  counters: SolveCounters = emptyCounters();
  private warned = new Set<string>();

  constructor(
    private readonly where: () => string,
    private readonly policy: NonConvergenceMode,
    private readonly options: { forward: ResolvedSolverOptions; backward: ResolvedSolverOptions },
  ) {}

  /** Forgets which warnings were shown (they show again). */
  rearm(): void {
    this.warned.clear();
  }

  record(kind: 'forward' | 'backward', stats: LayerSolveStats, badRow: number, batch: number): void {
    if (kind === 'forward') {
      this.forward = stats;
      this.counters.forwardCalls++;
      this.counters.forwardIterations += stats.iterations;
    } else {
      this.backward = stats;
      this.counters.backwardCalls++;
      this.counters.backwardIterations += stats.iterations;
    }
    const o = kind === 'forward' ? this.options.forward : this.options.backward;
    const what = kind === 'forward' ? 'forward solution' : 'adjoint (gradient) solution';
    if (badRow >= 0 || Number.isNaN(stats.residual)) {
      const row = badRow >= 0 ? badRow : stats.worstRow;
      throw new NonFiniteError(
        `${this.where()}: the ${what} contains NaN/Inf or diverged (first at row ${row} of a batch of ${batch}, after ${stats.iterations} iterations of '${o.method}'); nothing was written back. ` +
          `The graph weights are probably non-finite or far from contractive: lower the learning rate, ${CONSTRAINT_HINT}.`,
      );
    }
    if (stats.converged) return;
    const message = `${this.where()}: the ${kind} solve did not converge: ${nonConvergenceDetail(stats, o, batch)}. ${convergenceAdvice(o)}`;
    if (this.policy === 'throw') throw new NonConvergenceError(message, stats.residual, stats.worstLevelIterations);
    if (this.policy !== 'warn') return;
    const { phase, fitGeneration } = currentPhase();
    const key = `${phase}:${fitGeneration}:${kind}`;
    if (this.warned.has(key)) return;
    this.warned.add(key);
    console.warn(`${message} (shown once per ${phase === 'fit' ? 'fit call' : `kind of call (${phase}) between fits`})`);
  }
}
