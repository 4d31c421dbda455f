/**
 * Node activations of the Neural Module layer with their derivatives. The table
 * lives in `src/activations/` (table.ts, and scalar.ts for the float64 math such
 * as erf); this module re-exports it so existing imports keep working.
 */
export { fastTanh } from '../activations/scalar.js';
export { NODE_ACTIVATIONS, nodeActivation, type NodeActivation, type NodeActivationName } from '../activations/table.js';
