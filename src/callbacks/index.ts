/** `nm.callbacks`: training callbacks for Neural Module models. */
export { modulePartition, ModulePartitionCallback, type ModulePartitionArgs } from './module_partition.js';
export type { DecayWhenSettledArgs } from './settle_decay.js';
export { progress, ProgressCallback, type ProgressArgs } from './progress.js';
export { nmAlphaSchedule, NMAlphaScheduleCallback, type NMAlphaScheduleArgs } from './nm_alpha_schedule.js';
export { structureLogger, StructureLoggerCallback, type StructureLoggerArgs, type StructureRecord, type PictureFormat } from './structure_logger.js';
