/** `nm.regularizers` namespace. */
export { synapticLength, SynapticLengthRegularizer, type SynapticLengthArgs, type SynapsePairs } from './synaptic_length.js';
export { upliftPositions, type UpliftGeometry } from './uplift_geometry.js';
export { nm, NMRegularizer, NM_DEFAULT_ALPHA, type NMRegularizerArgs, type NMNorm } from './nm_regularizer.js';
export { type NMForm } from './nm_coefficients.js';
export { offDiagonalL1, OffDiagonalL1, type OffDiagonalL1Args } from './off_diagonal_l1.js';
