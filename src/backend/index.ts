/**
 * `nm.backend`: choosing the tfjs backend (native, WebAssembly, WebGL, cpu).
 *
 * @example
 * ```ts
 * await nm.backend.useBest(); // or NM_BACKEND=wasm node train.js
 * ```
 */
export { useBest, type UseBestOptions, type UseBestResult, type BackendAttempt } from './use_best.js';
export { BACKEND_NAMES, type BackendName } from './candidates.js';
export { classifyWebglRenderer, webglRenderer, type WebglRendererInfo } from './webgl_renderer.js';
export { fastTransposedMatMul, type FastTransposedMatMulOptions } from './transposed_matmul.js';
export { setThreads, threads, MAX_THREADS } from './threads.js';
export { kernelVariant, type KernelVariant } from '../kernels/kernel_variant.js';
