/** `nm.callbacks`: training callbacks for Neural Module models. */
export { modulePartition, ModulePartitionCallback, type ModulePartitionArgs } from './module_partition.js';
export { neuralModuleLayers } from './find_layers.js';
export { progress, ProgressCallback, type ProgressArgs } from './progress.js';
