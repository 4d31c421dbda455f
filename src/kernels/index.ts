/**
 * Sparse compute kernels for the host (CPU, typed-array) solve engine:
 * WebAssembly SIMD when the runtime has it, else plain JS with the same
 * interface and bit-identical results. Each kernel is one entry of the catalog
 * (catalog.ts); the solves call them through the blocked view (blocked.ts).
 *
 * @example
 * import { sparseKernels, arenaBytes } from './kernels/index.js';
 * const k = sparseKernels();           // 'wasm-simd' or 'js'
 * k.arena.reset(arenaBytes([p + 1, nnz, nnz, p * B, p * B]));
 * const ptr = k.arena.i32(p + 1), idx = k.arena.i32(nnz), w = k.arena.f32(nnz);
 * const x = k.arena.f32(p * B), out = k.arena.f32(p * B);
 * k.spmm(ptr, idx, w, 0, p, x, out, B);
 */
import { createJsKernels } from './js_kernels.js';
import { kernelVariant, setKernelVariant, type KernelVariantChoice } from './kernel_variant.js';
import { createWasmKernels, wasmSimdSupported } from './wasm_kernels.js';
import type { SparseKernels } from './sparse_kernels.js';
import { setCurrentTeam } from './threads/current.js';
import type { KernelTeam } from './threads/team.js';

export { ARENA_ALIGN, TypedArena, arenaBytes, type KernelArena } from './arena.js';
export type { AdamCoefficients, MomentumCoefficients } from './catalog.js';
export type { GemmSink } from './gemm.js';
export type { SparseKernels } from './sparse_kernels.js';
export { createJsKernels } from './js_kernels.js';
export { createWasmKernels, kernelModules, sparseFmaWasmBytes, sparseWasmBytes, wasmSimdSupported } from './wasm_kernels.js';
export { KERNEL_VARIANT_ENV, kernelVariant, type KernelVariant, type KernelVariantChoice } from './kernel_variant.js';

const cache: { wasm?: SparseKernels; js?: SparseKernels } = {};
/** Set once 'auto' found wasm SIMD unusable, so it does not try again. */
let autoFellBack = false;

/**
 * Picks wasm SIMD when WebAssembly SIMD is available (validate the bytes with
 * WebAssembly.validate), else js. 'wasm' throws a clear error if unavailable.
 * Cached singleton per kind.
 *
 * 'auto' also falls back to js when the module validates but cannot be compiled
 * (e.g. a browser Content-Security-Policy without 'wasm-unsafe-eval').
 *
 * Caveat: the singleton's arena is shared by every caller of the same kind;
 * `reset()` invalidates everyone's views, so one solve at a time per kind (or
 * use `createWasmKernels()` / `createJsKernels()` for a private instance).
 *
 * @example
 * const k = sparseKernels();        // auto
 * const js = sparseKernels('js');   // always available
 * console.log(k.name);              // 'wasm-simd' in Node 20 and current browsers
 */
export function sparseKernels(prefer: 'auto' | 'wasm' | 'js' = 'auto'): SparseKernels {
  if (prefer !== 'auto' && prefer !== 'wasm' && prefer !== 'js') {
    throw new Error(`sparseKernels: 'prefer' must be 'auto', 'wasm' or 'js'; received ${JSON.stringify(prefer)}.`);
  }
  if (prefer === 'wasm') return (cache.wasm ??= createWasmKernels());
  if (prefer === 'auto' && cache.wasm === undefined && !autoFellBack) {
    // Outside the try: a bad NM_KERNELS is the user's to fix, not a reason to fall back to js.
    const variant = kernelVariant();
    try {
      if (wasmSimdSupported()) cache.wasm = createWasmKernels({ variant });
    } catch {
      // Validates but will not compile, e.g. a browser CSP without 'wasm-unsafe-eval'.
    }
    autoFellBack = cache.wasm === undefined;
  }
  if (prefer === 'auto' && cache.wasm) return cache.wasm;
  return (cache.js ??= createJsKernels());
}

/**
 * Makes `team` (or none) the kernel threads of every kernel instance created from now
 * on, including the cached `sparseKernels('wasm' | 'auto')` instance, which is
 * re-created on its next use. Instances made before keep the team they had.
 *
 * @example
 * useKernelTeam(await KernelTeam.start(2));
 */
export function useKernelTeam(team: KernelTeam | null): void {
  setCurrentTeam(team);
  delete cache.wasm;
  autoFellBack = false;
}

/**
 * Internal switch (tests and benchmarks): makes `variant` the arithmetic of every wasm
 * kernel instance created from now on (src/kernels/kernel_variant.ts), including the
 * cached `sparseKernels('wasm' | 'auto')` instance, which is re-created on its next use.
 * Instances made before keep theirs. Throws a ConfigError for 'fma' without relaxed SIMD.
 *
 * @example
 * useKernelVariant('muladd'); // the products round like the JS twins, bit for bit
 * useKernelVariant('auto');   // back to the detection
 */
export function useKernelVariant(variant: KernelVariantChoice): void {
  setKernelVariant(variant);
  delete cache.wasm;
  autoFellBack = false;
}
