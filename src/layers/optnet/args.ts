/**
 * Arguments of the OptNet layer, their validation and defaults, resolved once so the
 * layer never sees `undefined` (Amos & Kolter 2017, "OptNet: Differentiable
 * optimization as a layer in neural networks", §3 and the fully-connected layer of §5).
 */
import { initializers } from '@tensorflow/tfjs-layers';
import type { Initializer, LayerArgs, Regularizer } from '../../utils/tfjs_types.js';
import { checkLayerArgs } from '../../utils/layer_args.js';
import { isInitializer, isRegularizer } from '../../utils/tfjs_bases.js';
import { checkInt, checkKeys, checkNumber, checkOneOf, fail } from '../../utils/errors.js';
import { deserializeObject } from '../../utils/serialization.js';
import { NON_CONVERGENCE_MODES, type NonConvergenceMode } from '../../solvers/solver_types.js';

/** Largest `units`: the per-sample KKT systems are dense units×units float64 factorizations on the CPU. */
export const OPTNET_MAX_UNITS = 1024;
/** Largest number of inequalities or equalities. */
export const OPTNET_MAX_CONSTRAINTS = 4096;

type InitializerArg = string | Initializer | { className: string; config?: object };

/** The interior-point solver's options. */
export interface OptNetSolverConfig {
  /**
   * Tolerance of the per-sample stopping test, in (0, 1); each part is relative to the
   * magnitudes of its own terms, so no other row's numbers (an inactive bound z ≤ 1e20, a
   * large input) can loosen it: each component of the dual residual Qz + q + Gᵀλ + Aᵀν
   * relative to 1 + its largest term; each row of Gz ≤ h and Az = b relative to that
   * row's max(‖G_i‖∞, |h_i|) + max(|h_i|, Σ_k |G_ik z_k|, s_i); each complementarity pair
   * as min(s_i, λ_i·|G_i|) in those same scales. Also the tolerance of the infeasibility
   * certificate. Default: 1e-8.
   */
  tol?: number;
  /** Interior-point iterations per sample, at most. Integer in [1, 1000]. Default: 30. */
  maxIter?: number;
}

/** Arguments of `nm.layers.optNet`. */
export interface OptNetLayerArgs extends LayerArgs {
  /** Variables of the QP = the output width. Required, integer in [1, 1024]. */
  units: number;
  /** Rows of G (inequalities Gz ≤ h). Integer in [0, 4096]. Default: `units`. */
  inequalities?: number;
  /** Rows of A (equalities Az = b). Integer in [0, units]. Default: 0. */
  equalities?: number;
  /** ε > 0 in Q = LLᵀ + εI (keeps Q positive definite). Default: 1e-4. */
  eps?: number;
  /** Interior-point options. Default: `{ tol: 1e-8, maxIter: 30 }`. */
  solver?: OptNetSolverConfig;
  /**
   * What a solve that misses its tolerance does: `'warn'` (once per `fit` call and once
   * per kind of call between fits), `'throw'` (a NonConvergenceError) or `'ignore'`.
   * Whatever it says, infeasible constraints throw a NonConvergenceError naming the
   * constraint weights, and NaN/Inf or overflowing data a NonFiniteError naming the weight. Default: `'warn'`.
   */
  onNonConvergence?: NonConvergenceMode;
  /** Initializer of W (n × units) in q = xW + c. Default: `'glorotUniform'`. */
  kernelInitializer?: InitializerArg;
  /** Initializer of c (units). Default: `'zeros'`. */
  biasInitializer?: InitializerArg;
  /** Initializer of L (units × units; only its lower triangle is used). Default: `'identity'` (Q = (1 + ε)I at the start). */
  choleskyInitializer?: InitializerArg;
  /** Initializer of G (inequalities × units). Default: `'glorotUniform'`. */
  inequalityKernelInitializer?: InitializerArg;
  /** Initializer of h (inequalities). Default: `'ones'` (h > 0, so z = 0 is strictly feasible). */
  inequalityBoundInitializer?: InitializerArg;
  /** Initializer of A (equalities × units). Default: `'glorotUniform'`. */
  equalityKernelInitializer?: InitializerArg;
  /** Initializer of b (equalities). Default: `'zeros'` (b = A·0, so z = 0 is feasible). */
  equalityBoundInitializer?: InitializerArg;
  /** Regularizer of W. Default: none. */
  kernelRegularizer?: string | Regularizer | { className: string; config?: object } | null;
  /** Regularizer of G. Default: none. */
  inequalityKernelRegularizer?: string | Regularizer | { className: string; config?: object } | null;
}

/** Fully resolved layer options. */
export interface ResolvedOptNetArgs {
  units: number;
  inequalities: number;
  equalities: number;
  eps: number;
  solver: { tol: number; maxIter: number };
  onNonConvergence: NonConvergenceMode;
  kernelInitializer: Initializer;
  biasInitializer: Initializer;
  choleskyInitializer: Initializer;
  inequalityKernelInitializer: Initializer;
  inequalityBoundInitializer: Initializer;
  equalityKernelInitializer: Initializer;
  equalityBoundInitializer: Initializer;
  kernelRegularizer: Regularizer | null;
  inequalityKernelRegularizer: Regularizer | null;
}

const OWN_KEYS = [
  'units',
  'inequalities',
  'equalities',
  'eps',
  'solver',
  'onNonConvergence',
  'kernelInitializer',
  'biasInitializer',
  'choleskyInitializer',
  'inequalityKernelInitializer',
  'inequalityBoundInitializer',
  'equalityKernelInitializer',
  'equalityBoundInitializer',
  'kernelRegularizer',
  'inequalityKernelRegularizer',
];

/** Validates `args` and fills every default. Throws a ConfigError naming the argument, the value and what was expected. */
export function resolveOptNetArgs(args: OptNetLayerArgs): ResolvedOptNetArgs {
  const where = `optNet${args?.name ? ` '${args.name}'` : ''}`;
  checkLayerArgs(where, args, OWN_KEYS, 'an object such as { units: 20 }');
  const units = checkInt(where, 'units', args.units, 1, OPTNET_MAX_UNITS);
  const inequalities = checkInt(where, 'inequalities', args.inequalities ?? units, 0, OPTNET_MAX_CONSTRAINTS);
  const equalities = checkInt(where, 'equalities', args.equalities ?? 0, 0, units);
  const eps = checkNumber(where, 'eps', args.eps ?? 1e-4, 0, Infinity, { lo: true });
  const s = args.solver ?? {};
  if (s == null || typeof s !== 'object' || Array.isArray(s)) fail(where, 'solver', s, 'an object { tol?, maxIter? }');
  checkKeys(`${where}: solver`, s, ['tol', 'maxIter']);
  const tol = checkNumber(`${where}: solver`, 'tol', s.tol ?? 1e-8, 0, 1, { lo: true, hi: true });
  const maxIter = checkInt(`${where}: solver`, 'maxIter', s.maxIter ?? 30, 1, 1000);
  const onNonConvergence = checkOneOf(where, 'onNonConvergence', args.onNonConvergence ?? 'warn', NON_CONVERGENCE_MODES);
  const init = (arg: keyof OptNetLayerArgs, dflt: () => Initializer) => {
    const v = args[arg];
    return v == null ? dflt() : deserializeObject<Initializer>(where, arg, v, isInitializer)!;
  };
  const reg = (arg: keyof OptNetLayerArgs) => deserializeObject<Regularizer>(where, arg, args[arg], isRegularizer);
  return {
    units,
    inequalities,
    equalities,
    eps,
    solver: { tol, maxIter },
    onNonConvergence,
    kernelInitializer: init('kernelInitializer', () => initializers.glorotUniform({})),
    biasInitializer: init('biasInitializer', () => initializers.zeros()),
    choleskyInitializer: init('choleskyInitializer', () => initializers.identity({})),
    inequalityKernelInitializer: init('inequalityKernelInitializer', () => initializers.glorotUniform({})),
    inequalityBoundInitializer: init('inequalityBoundInitializer', () => initializers.ones()),
    equalityKernelInitializer: init('equalityKernelInitializer', () => initializers.glorotUniform({})),
    equalityBoundInitializer: init('equalityBoundInitializer', () => initializers.zeros()),
    kernelRegularizer: reg('kernelRegularizer'),
    inequalityKernelRegularizer: reg('inequalityKernelRegularizer'),
  };
}
