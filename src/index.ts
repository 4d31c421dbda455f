/**
 * tfjs-neural-modules: Neural Modules (implicit complete-graph layers solved module
 * by module) and Unstructured Recursive Networks for TensorFlow.js.
 *
 * This file is the whole public surface, grouped into namespaces; docs/API.md lists
 * every name. Each namespace's `index.ts` exports only its public names. Solvers,
 * kernels, graph algorithms and the engines are internal (configure solvers by name
 * in the layer's `solver` option).
 */
export * as layers from './layers/index.js';
export * as regularizers from './regularizers/index.js';
export * as constraints from './constraints/index.js';
export * as callbacks from './callbacks/index.js';
export * as analysis from './analysis/index.js';
export * as io from './io/index.js';
export * as backend from './backend/index.js';
export * as datasets from './datasets/index.js';
export * as cff from './cff/index.js';
export * as optimizers from './optimizers/index.js';
export { ConfigError, NonConvergenceError, NonFiniteError } from './utils/errors.js';
export type { SolverConfig, SolverName, SolveStats } from './solvers/solver_types.js';
