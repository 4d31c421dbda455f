/** `nm.regularizers` namespace. */
export {};
export { synapticLength, SynapticLengthRegularizer, type SynapticLengthArgs, type SynapsePairs } from './synaptic_length.js';
export { upliftPositions, type UpliftGeometry } from './uplift_geometry.js';
export { nm, NMRegularizer, type NMRegularizerArgs, type NMNorm, type PartitionSource } from './nm_regularizer.js';
export { nmBaseMatrix, nmCoefficients, moduleSizeOfNodes, type NMForm, type NMPartition } from './nm_coefficients.js';
export { offDiagonalL1, OffDiagonalL1, type OffDiagonalL1Args } from './off_diagonal_l1.js';
