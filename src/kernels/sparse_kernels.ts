/**
 * The interface both kernel implementations (WebAssembly SIMD and plain JS) provide:
 * the catalog's kernels (src/kernels/catalog.ts) as methods, plus the workspace, the
 * parallel batches and the release, and the helper that builds the methods from the
 * catalog's entries.
 */
import type { KernelArena } from './arena.js';
import { CATALOG, type KernelMethods, type KernelName } from './catalog.js';
import type { KernelEntry } from './entry.js';
import type { KernelVariant } from './kernel_variant.js';

/**
 * Sparse, row-wise and element-wise kernels over node-major arrays, in WebAssembly SIMD
 * or plain JS, with bit-identical results (each method is documented at its entry in
 * src/kernels/catalog.ts).
 *
 * @example
 * const k = sparseKernels();
 * k.arena.reset(arenaBytes([p + 1, nnz, nnz, p * B, p * B]));
 * const ptr = k.arena.i32(p + 1), idx = k.arena.i32(nnz), w = k.arena.f32(nnz);
 * const x = k.arena.f32(p * B), out = k.arena.f32(p * B);
 * // ... fill ptr, idx, w, x ...
 * k.spmm(ptr, idx, w, 0, p, x, out, B); // out += A·x
 */
export interface SparseKernels extends KernelMethods {
  readonly name: 'wasm-simd' | 'js';
  /**
   * The arithmetic of the products spmm, axpyRows and gemmNT, fixed when the instance is
   * created (src/kernels/kernel_variant.ts): 'fma' (wasm with relaxed SIMD, fused
   * multiply-adds) or 'muladd' (bit-identical to the JS twins; always for 'js').
   */
  readonly variant: KernelVariant;
  /** Threads that large calls are split across (1: the caller only). Results are the same bits for any count. */
  readonly threads: number;
  /** The one workspace all array arguments must live in (for 'js' any typed arrays work; the arena is plain ArrayBuffer-backed). */
  readonly arena: KernelArena;
  /**
   * Runs the kernel calls made inside `calls` as parallel chunks, each call whole on one
   * thread (consecutive calls of one kernel form one batch); without threads, in order
   * as they are made. The calls must be independent: none may read what another of the
   * same batch writes. Results are the same bits as calling them one by one.
   * Caveat: with threads the calls run after `calls` returns (or at a `relativeStep`).
   */
  together(calls: () => void): void;
  /**
   * Lets go of the kernels' memory: with threads, every worker drops its reference to
   * it (the memory is freed once the caller drops the kernels too). Call it when done
   * with an instance that lives shorter than the process; a later call of any kernel
   * throws. A no-op for the js kernels, and on a second call.
   */
  release(): void;
}

/**
 * A kernel method as the builders see it: nine positional parameters, as many as the
 * widest kernel takes (spmm), so a wrapper forwards its arguments without building an
 * array per call (a kernel with fewer gets `undefined` for the rest, which it ignores).
 */
export type Forward = (a0?: unknown, a1?: unknown, a2?: unknown, a3?: unknown, a4?: unknown, a5?: unknown, a6?: unknown, a7?: unknown, a8?: unknown) => unknown;

/** The most arguments a kernel may take (see {@link Forward}). */
export const MAX_KERNEL_ARGS = 9;

/**
 * Every kernel of the catalog as a method, `make(name, entry)` building each one once.
 * Throws for an entry with more than {@link MAX_KERNEL_ARGS} arguments.
 *
 * @example
 * const methods = kernelMethods((name, e) => (a0, a1, a2, a3, a4, a5, a6, a7, a8) => twin(a0, a1, a2, a3, a4, a5, a6, a7, a8));
 */
export function kernelMethods(make: (name: KernelName, entry: KernelEntry) => Forward): KernelMethods {
  const methods: Record<string, Forward> = {};
  for (const name of Object.keys(CATALOG) as KernelName[]) {
    const entry = CATALOG[name] as unknown as KernelEntry;
    if (entry.args.length > MAX_KERNEL_ARGS) throw new Error(`kernel catalog: '${name}' takes ${entry.args.length} arguments, at most ${MAX_KERNEL_ARGS}.`);
    methods[name] = make(name, entry);
  }
  return methods as unknown as KernelMethods;
}
