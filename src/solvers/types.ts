/**
 * The shared contract of the fixed-point solvers (in the style of optimistix):
 * `solve(f, x0, options) → { value, result, stats }`, where `f` maps a batch of row
 * vectors `[batch, n]` to `[batch, n]` and the solution satisfies `x = f(x)`.
 * `stats` always has the same keys, whatever the method.
 */
import type * as tf from '@tensorflow/tfjs-core';

/** Names of the built-in solvers. */
export const SOLVER_NAMES = ['picard', 'anderson', 'broyden', 'newton'] as const;
export type SolverName = (typeof SOLVER_NAMES)[number];

/**
 * A fixed-point map `x ↦ f(x)` on `[batch, n]` tensors. Newton also needs its
 * Jacobian: `jacobian(x)[b][j][k] = ∂f(x)_k / ∂x_j` for sample b, and may use
 * `blocks`, ranges of a block-diagonal Jacobian, to solve smaller systems.
 */
export interface FixedPointMap {
  (x: tf.Tensor2D): tf.Tensor2D;
  jacobian?: (x: tf.Tensor2D) => tf.Tensor3D;
  blocks?: ReadonlyArray<readonly [number, number]>;
}

/** Solver options as users write them; every field is optional except `method`. */
export interface SolverConfig {
  /** Solver name. Default: `'anderson'`. */
  method?: SolverName;
  /** Relative tolerance on the step, ‖x_{t+1} − x_t‖ ≤ tol·(‖x_t‖ + 1e-8). Default: 1e-4. */
  tol?: number;
  /** Iteration cap; every loop stops here. Default: 50. */
  maxIter?: number;
  /** Check convergence every this many iterations (each check is one device sync). Default: 1. */
  checkEvery?: number;
  /** Picard damping τ in (0, 1]: x ← (1−τ)x + τ f(x). Default: 1. */
  damping?: number;
  /** History length for Anderson and Broyden. Default: 5. */
  memory?: number;
  /** Anderson mixing β in (0, 1]. Default: 1. */
  beta?: number;
  /** Anderson's Tikhonov regularization, relative to the Gram matrix's mean diagonal. Default: 1e-4. */
  lambda?: number;
}

/** Fully resolved solver options: no field is undefined. */
export type ResolvedSolverOptions = Required<SolverConfig>;

/** How a solve ended. */
export type SolveResult = 'successful' | 'maxIterationsReached' | 'nonFinite';

/** Per-solve statistics; the keys are the same for every method. */
export interface SolveStats {
  /** Iterations performed (0 for an explicit computation). */
  iterations: number;
  /** Relative step at the last check (0 when no iteration was needed). */
  residual: number;
  /** Whether the tolerance was reached. */
  converged: boolean;
  /** Times the method fell back to a plain Picard step (singular or non-finite update). */
  fallbacks: number;
}

/** A solver's answer. The caller owns (and disposes) `value`. */
export interface Solution {
  value: tf.Tensor2D;
  result: SolveResult;
  stats: SolveStats;
}

/** The solver signature. */
export type FixedPointSolver = (f: FixedPointMap, x0: tf.Tensor2D, options: ResolvedSolverOptions) => Solution;
