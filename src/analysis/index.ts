/** `nm.analysis` namespace. */
export { emergentStructure, type EmergentStructure, type EmergentStructureOptions, type DirectionCounts, type PruneCheck } from './emergent_structure.js';
export { renderUrnWeights, renderConnectome, type RenderUrnWeightsOptions, type RenderConnectomeOptions } from './render_urn.js';
export { moduleStats, type ModuleStats } from './module_stats.js';
export { renderStructure, renderStructureSideBySide, type StructureSource } from './render_structure.js';
export { renderStructurePng, renderStructurePngSideBySide, MAX_PNG_SIDE, MAX_PNG_PIXELS } from './render_structure_png.js';
export { structureSnapshot, type StructureSnapshot, type RenderStructureOptions } from './structure_layout.js';
export { adjustedRandIndex } from './partition_agreement.js';
export { moduleLabels } from '../graph/schedule.js';
