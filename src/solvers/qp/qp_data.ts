/**
 * The data, options and results of a batch of OptNet QPs (qp_solve.ts), shared by every
 * file of the solver: the interior-point method, the KKT systems, the stopping test,
 * the polish step and the backward pass.
 */
/** The shared data of the batch's QPs (float64, row-major). */
export interface QPData {
  /** Variables n (the layer's units). */
  n: number;
  /** Inequalities m (rows of G). */
  m: number;
  /** Equalities p (rows of A). */
  p: number;
  Q: Float64Array;
  G: Float64Array;
  h: Float64Array;
  A: Float64Array;
  b: Float64Array;
}

/** Interior-point settings. */
export interface QPOptions {
  /** Tolerance on the scaled optimality error (see {@link QPSolution.residual}) and on the certificate test. */
  tol: number;
  /** Iteration cap per sample. */
  maxIter: number;
}

/**
 * Why a sample's solve failed (beyond missing the tolerance): NaN/Inf data, Q not
 * positive definite to working precision, linearly dependent equality rows, or
 * constraints without a solution.
 */
export type QPFailure = 'none' | 'nonFinite' | 'notPositiveDefinite' | 'singular' | 'infeasible';

/** The arrays a NaN/Inf can be found in. */
export type QPArray = 'q' | 'Q' | 'G' | 'h' | 'A' | 'b';

/** Solutions and statistics of one batch. */
export interface QPSolution {
  /** z* `[batch, n]`. */
  z: Float64Array;
  /** Inequality multipliers λ* `[batch, m]` (≥ 0). */
  lam: Float64Array;
  /** Slacks s = h − Gz* `[batch, m]` as the solver left them (≥ 0; 0 on the active rows of a polished solution). */
  s: Float64Array;
  /**
   * Per sample and inequality row `[batch, m]`, 1 when the solution holds the row active
   * (relatively smaller slack than multiplier, see `Residuals.active` in stopping.ts), else 0.
   */
  active: Uint8Array;
  /** Equality multipliers ν* `[batch, p]`. */
  nu: Float64Array;
  /** Largest iteration count over the batch. */
  iterations: number;
  /**
   * Largest over the batch of the per-row scaled optimality error: each dual component,
   * primal row and complementarity pair relative to the magnitudes of its own terms
   * (see `Residuals.res` in stopping.ts).
   */
  residual: number;
  /** The row with that residual. */
  worstRow: number;
  /** The iteration count of that row. */
  worstIterations: number;
  /** Whether every row reached `tol`. */
  converged: boolean;
  /** The first failed row (−1 when none) and why. */
  failedRow: number;
  failure: QPFailure;
  /** For 'nonFinite': the array holding the first NaN/Inf (null when the data are finite but the iterates overflowed). */
  nonFiniteArray: QPArray | null;
  /** For 'infeasible': the inequality rows (then the equality rows) the certificate combines, largest weight first, at most 8. */
  conflict: { inequalities: number[]; equalities: number[] };
}
