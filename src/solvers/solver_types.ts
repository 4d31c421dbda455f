/**
 * The shared contract of the fixed-point solvers (in the style of optimistix):
 * `solve(f, x0, options) → { value, result, stats }`, where `f` maps a batch of row
 * vectors `[batch, n]` to `[batch, n]` and the solution satisfies `x = f(x)`.
 * `stats` always has the same keys, whatever the method.
 */
import type * as tf from '@tensorflow/tfjs-core';

/** What a layer does when a solve stops before its tolerance: warn once per fit or call, throw, or nothing. */
export const NON_CONVERGENCE_MODES = ['warn', 'throw', 'ignore'] as const;
/** The `onNonConvergence` option of the layers that solve (Neural Module, OptNet). */
export type NonConvergenceMode = (typeof NON_CONVERGENCE_MODES)[number];

/** Names of the built-in solvers. */
export const SOLVER_NAMES = ['picard', 'anderson', 'broyden', 'newton', 'auto'] as const;
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
  /**
   * Solver name: `'picard'`, `'anderson'`, `'broyden'`, `'newton'`, or `'auto'` (Picard
   * while the residual falls fast, then Anderson; see `switchRatio`). Default: `'auto'`.
   */
  method?: SolverName;
  /**
   * Relative tolerance on the true residual, decided per batch row: every row b
   * must satisfy ‖f(x)_b − x_b‖ ≤ tol·(‖x_b‖ + 1e-8). Values below 9.5e-7 (8 float32
   * ulps, the smallest residual a float32 solve resolves) act as 9.5e-7. Default: 1e-4.
   */
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
  /**
   * `'auto'` only: switch from Picard to Anderson at the first check where the worst
   * row's residual fell by less than this factor since the previous check (in (0, 1];
   * 1 switches only when the residual grows). Default: 0.5.
   */
  switchRatio?: number;
}

/** Fully resolved solver options: no field is undefined. */
export type ResolvedSolverOptions = Required<SolverConfig>;

/** How a solve ended. */
export type SolveResult = 'successful' | 'maxIterationsReached' | 'nonFinite';

/** Per-solve statistics; the keys are the same for every method. */
export interface SolveStats {
  /** Iterations performed (0 for an explicit computation). */
  iterations: number;
  /**
   * The worst row's relative true residual ‖f(x)_b − x_b‖ / (‖x_b‖ + 1e-8) at the
   * last check (0 when no iteration was needed; NaN when a row diverged).
   */
  residual: number;
  /** The batch row with that residual (−1 when no iteration was needed). */
  worstRow: number;
  /** Whether every row reached the tolerance. */
  converged: boolean;
  /** Times the method fell back to a plain Picard step (singular or non-finite update). */
  fallbacks: number;
}

/**
 * A fixed-point method in the optimistix style, created by its `init` (a factory
 * taking f, x0, the options and, on the host, a workspace) and driven by the one
 * shared loop ({@link solveFixedPoint}), which owns `maxIter`, `checkEvery` and the
 * per-row convergence rule (`terminate`).
 *
 * `T` is the array type: `tf.Tensor2D` `[batch, n]` on the tensor engine,
 * `Float32Array` node-major `[n, batch]` on the host engine.
 */
export interface FixedPointMethod<T> {
  /** Rows in the batch (the per-row rule needs one residual per row). */
  readonly batch: number;
  /** One iteration: evaluates f at the current iterate x_t (that evaluation is what `residuals` and `answer` read) and moves to x_{t+1}. */
  step(t: number): void;
  /** Writes each row's relative true residual of the last evaluated iterate into `out` (length batch); NaN for a row that is not finite. */
  residuals(out: Float64Array): void;
  /** f(x_t) for the last evaluated iterate x_t: the solution handed back (a new tensor the caller owns, or a workspace view to copy). */
  answer(): T;
  /** Plain-Picard fallbacks so far (singular or non-finite updates). */
  fallbacks(): number;
  /** Frees the method's state (tensors); the answer already handed out stays valid. */
  dispose(): void;
}

/** A solver's answer. The caller owns (and disposes) `value`. */
export interface Solution {
  value: tf.Tensor2D;
  result: SolveResult;
  stats: SolveStats;
}

/** The solver signature: `init`, then the shared loop. */
export type FixedPointSolver = (f: FixedPointMap, x0: tf.Tensor2D, options: ResolvedSolverOptions) => Solution;

/** A tensor method's `init`. */
export type TensorMethodInit = (f: FixedPointMap, x0: tf.Tensor2D, options: ResolvedSolverOptions) => FixedPointMethod<tf.Tensor2D>;
