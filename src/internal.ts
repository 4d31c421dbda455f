/**
 * Internal entry, for the project's own benchmarks (bench/) only: INTERNAL and UNSTABLE,
 * not part of the public API. It is not exported by src/index.ts or src/node.ts, not
 * listed in docs/API.md and not in the package's `exports`, so users cannot import it;
 * its names may change or go away in any release. bench/ imports it as
 * `tfjs-neural-modules/internal` (tsconfig `paths` and the vitest alias map that name to
 * this file), and everything else from `tfjs-neural-modules`, the public API.
 *
 * Each name is here because a benchmark times or reuses it on its own: the sparse and GEMM
 * kernels and the switch between their arithmetics (useKernelVariant), the host engine
 * and the op's graph gradient, the partition, the node activations, the transposed
 * matMul, the seeded generator, Tarjan's components, the PNG encoder and tfjs-layers'
 * Constraint base class.
 */
export { nodeActivation } from './activations/index.js';
export { encodePng, type RgbImage } from './analysis/png.js';
export { maskFromIndices } from './graph/mask.js';
export { stronglyConnectedComponents } from './graph/tarjan.js';
export { createGemmKernel, gemmPackedBytes } from './kernels/gemm.js';
export { arenaBytes, sparseKernels, useKernelVariant, type KernelVariant, type SparseKernels } from './kernels/index.js';
export { defaultThreadsState, resetDefaultThreads } from './backend/default_threads.js';
export { relaxedSimdSupported } from './kernels/relaxed_simd.js';
export { hostEngine } from './layers/neural_module/engine/host_engine.js';
export { graphGradient } from './layers/neural_module/engine/op.js';
export { Partition } from './layers/neural_module/partition.js';
export { matMulT } from './utils/matmul.js';
export { Random } from './utils/random.js';
export { ConstraintBase } from './utils/tfjs_bases.js';
