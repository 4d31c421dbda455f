/** Pointwise activations (tfjs-layers' names) with derivatives, Lipschitz constants and host (typed-array) versions. */
export { LEAKY_RELU_ALPHA, NODE_ACTIVATIONS, nodeActivation, type NodeActivation, type NodeActivationName } from './table.js';
export { erf, erfc, fastTanh, normalCdf, normalPdf, sigmoid, softplus } from './scalar.js';
export { checkActivation, NOT_POINTWISE } from './validate.js';
