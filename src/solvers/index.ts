/** Internal: fixed-point solvers behind one contract, looked up by name. */
export { picard } from './picard.js';
export { anderson } from './anderson.js';
export { broyden } from './broyden.js';
export { newton } from './newton.js';
export { getSolver, getHostSolver, resolveSolverOptions, DEFAULT_SOLVER, HOST_SOLVER_NAMES } from './registry.js';
export { hostPicard } from './host_picard.js';
export { hostAnderson } from './host_anderson.js';
export { hostWorkspaceArrays, type HostFixedPointMap, type HostSolver, type HostSolution, type HostWorkspace } from './host_types.js';
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
} from './solver_types.js';
