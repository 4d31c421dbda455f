/** `nm.optimizers`: optimizers (drop-in replacements of tfjs ones, faster on the cpu and wasm backends). */
export { adam, FusedAdamOptimizer, type FusedAdamArgs } from './fused_adam.js';
export { sgd, FusedMomentumOptimizer, type FusedMomentumArgs } from './fused_momentum.js';
