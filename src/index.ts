/**
 * tfjs-neural-modules: Neural Modules (implicit complete-graph layers solved module
 * by module) and Unstructured Recursive Networks for TensorFlow.js.
 *
 * This file is the whole public surface, grouped into namespaces.
 */
export * as layers from './layers/index.js';
export * as regularizers from './regularizers/index.js';
export * as constraints from './constraints/index.js';
export * as callbacks from './callbacks/index.js';
export * as solvers from './solvers/index.js';
export * as kernels from './kernels/index.js';
export * as graph from './graph/index.js';
export * as analysis from './analysis/index.js';
export * as io from './io/index.js';
export * as backend from './backend/index.js';
export * as datasets from './datasets/index.js';
export { ConfigError, NonConvergenceError, NonFiniteError } from './utils/errors.js';
export { Random } from './utils/random.js';
