/** `nm.optimizers`: optimizers (drop-in replacements of tfjs ones, faster on the cpu and wasm backends). */
export { adam, FusedAdamOptimizer, type FusedAdamArgs } from './fused_adam.js';
