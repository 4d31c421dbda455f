export { neuralModule, NeuralModuleLayer, type ModuleStructure, type SolveCounters } from './neural_module.js';
export { type NeuralModuleLayerArgs, type ResolvedNeuralModuleArgs, type NonConvergenceMode } from './nm_args.js';
export { ContractiveGraph, type ContractiveGraphArgs } from './graph_initializer.js';
export { NODE_ACTIVATIONS, type NodeActivationName } from './node_activation.js';
