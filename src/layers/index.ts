/** `nm.layers`: the Neural Module, URN and OptNet layers. */
export { neuralModule, NeuralModuleLayer, type ModuleStructure, type SolveCounters } from './neural_module/layer.js';
export { type NeuralModuleLayerArgs, type ResolvedNeuralModuleArgs } from './neural_module/args.js';
export { type NonConvergenceMode } from '../solvers/solver_types.js';
export { ContractiveGraph, type ContractiveGraphArgs } from './neural_module/graph_initializer.js';
export { NODE_ACTIVATIONS, type NodeActivationName } from '../activations/index.js';
export { urn, URNLayer, type URNLayerArgs } from './urn/layer.js';
export { type ResolvedURNArgs } from './urn/args.js';
export { URN_ACTIVATIONS, URN_RESIDUALS, type URNActivation, type URNResidual, type URNSpec } from './urn/forward.js';
export { optNet, OptNetLayer, type OptNetLayerArgs, type OptNetSolverConfig } from './optnet/layer.js';
export { type ResolvedOptNetArgs } from './optnet/args.js';
