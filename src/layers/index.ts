/** `nm.layers`: the Neural Module, URN and OptNet layers. */
export { neuralModule, NeuralModuleLayer, type ModuleStructure, type SolveCounters } from './neural_module.js';
export { type NeuralModuleLayerArgs, type ResolvedNeuralModuleArgs, type NonConvergenceMode } from './nm_args.js';
export { ContractiveGraph, type ContractiveGraphArgs } from './graph_initializer.js';
export { NODE_ACTIVATIONS, type NodeActivationName } from './node_activation.js';
export { urn, URNLayer, type URNLayerArgs } from './urn.js';
export { type ResolvedURNArgs } from './urn_args.js';
export { URN_ACTIVATIONS, URN_RESIDUALS, type URNActivation, type URNResidual, type URNSpec } from './urn_forward.js';
export { optNet, OptNetLayer, type OptNetLayerArgs, type OptNetSolverConfig } from './optnet.js';
export { type ResolvedOptNetArgs } from './optnet_args.js';
