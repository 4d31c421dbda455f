/** `nm.solvers`: fixed-point solvers behind one contract, looked up by name. */
export { picard } from './picard.js';
export { anderson } from './anderson.js';
export { broyden } from './broyden.js';
export { newton } from './newton.js';
export { getSolver, resolveSolverOptions, DEFAULT_SOLVER } from './registry.js';
export { luSolveInPlace } from './small_linear.js';
export {
  SOLVER_NAMES,
  type SolverName,
  type SolverConfig,
  type ResolvedSolverOptions,
  type FixedPointMap,
  type FixedPointSolver,
  type Solution,
  type SolveStats,
  type SolveResult,
} from './types.js';
