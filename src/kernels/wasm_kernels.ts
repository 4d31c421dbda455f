/**
 * The WebAssembly SIMD sparse kernels: src/kernels/sparse.wat and gemm.wat, embedded as
 * base64 (src/kernels/*_wasm_bytes.ts), compiled and instantiated synchronously over a
 * WebAssembly.Memory that the kernels' arena owns and grows; every kernel of the catalog
 * (src/kernels/catalog.ts) wrapped by one generic method.
 */
import { embeddedModule, validatesOnce, type ModuleVariant } from './wasm_bytes.js';
import { ConfigError } from '../utils/errors.js';
import { TypedArena } from './arena.js';
import { EXPORT_SPECS, type ExportsDispatch, type SparseExports } from './catalog.js';
import { paramLayout, type KernelEntry } from './entry.js';
import { gemmFmaWasmBytes, gemmWasmBytes } from './gemm.js';
import { kernelVariant, type KernelVariant } from './kernel_variant.js';
import { relaxedSimdSupported } from './relaxed_simd.js';
import { kernelMethods, type Forward, type SparseKernels } from './sparse_kernels.js';
import { SPARSE_FMA_WASM_BASE64, SPARSE_FMA_WASM_SHARED_BASE64, SPARSE_WASM_BASE64, SPARSE_WASM_SHARED_BASE64 } from './sparse_wasm_bytes.js';
import { currentTeam } from './threads/current.js';
import { splitExports } from './threads/split.js';
import type { KernelTeam } from './threads/team.js';

export type { SparseExports } from './catalog.js';

/**
 * The compiled kernel module (decoded once from the embedded base64; under 4 KB,
 * so browsers allow compiling it synchronously on the main thread). `shared`: the
 * variant over a shared memory, which kernel threads instantiate.
 * Caveat: the same array on every call; do not modify it.
 *
 * @example
 * WebAssembly.validate(sparseWasmBytes()); // false where SIMD is unsupported
 */
export const sparseWasmBytes = embeddedModule(SPARSE_WASM_BASE64, SPARSE_WASM_SHARED_BASE64);

/**
 * True when this runtime has WebAssembly with 128-bit SIMD, so that
 * {@link createWasmKernels} works (checked with `WebAssembly.validate`).
 *
 * @example
 * const kernels = wasmSimdSupported() ? createWasmKernels() : createJsKernels();
 */
// Validating the module takes ~0.1 ms: once per process (callers ask on every step).
export const wasmSimdSupported: () => boolean = validatesOnce(() => sparseWasmBytes());

/**
 * The fused multiply-add variant of sparse.wat's spmm and axpyRows (relaxed SIMD), decoded
 * once; `shared` as for {@link sparseWasmBytes}. Instantiated after the sparse module, whose
 * exports of the same name it replaces.
 * Caveat: the same array on every call; do not modify it.
 *
 * @example
 * WebAssembly.validate(sparseFmaWasmBytes()); // false on Node 20 (no relaxed SIMD)
 */
export const sparseFmaWasmBytes = embeddedModule(SPARSE_FMA_WASM_BASE64, SPARSE_FMA_WASM_SHARED_BASE64);

/**
 * The kernel modules of `variant` over a `memory` memory, compiled, in instantiation order:
 * a later module's exports replace an earlier one's of the same name (the FMA products
 * replace the sparse and gemm modules' mul+add ones; gemm_pointwise.wat adds permuteOut,
 * which the FMA variant does not). Kernel threads instantiate the same list.
 *
 * @example
 * const modules = kernelModules('fma', 'shared'); // sparse, its FMA products, gemm, its FMA products
 */
export function kernelModules(variant: KernelVariant, memory: ModuleVariant): WebAssembly.Module[] {
  const plain = [sparseWasmBytes(memory), gemmWasmBytes(memory)];
  const bytes = variant === 'fma' ? [plain[0], sparseFmaWasmBytes(memory), plain[1], gemmFmaWasmBytes(memory)] : plain;
  return bytes.map((b) => new WebAssembly.Module(b));
}

function instantiate(memory: WebAssembly.Memory, modules: WebAssembly.Module[]): SparseExports {
  const exports: Record<string, unknown> = {};
  for (const module of modules) Object.assign(exports, new WebAssembly.Instance(module, { env: { memory } }).exports);
  const missing = EXPORT_SPECS.map(([name]) => name).filter((name) => typeof exports[name] !== 'function');
  if (missing.length > 0) {
    throw new Error(`sparse kernels: the wasm modules lack ${missing.join(', ')}; rebuild them with \`npm run build:kernels\`.`);
  }
  return exports as unknown as SparseExports;
}

/** A shared memory as large as this runtime allows (the maximum is reserved address space, not memory in use). */
function sharedMemory(): WebAssembly.Memory {
  let err: unknown = null;
  for (const maximum of [65536, 16384, 4096]) {
    try {
      return new WebAssembly.Memory({ initial: 1, maximum, shared: true });
    } catch (e) {
      err = e;
    }
  }
  throw new Error(`sparse kernels: could not create a shared WebAssembly.Memory (${String(err)}).`);
}

/**
 * The exports called directly, on this thread: `deliver` hands the whole row range to
 * the sink (which computes it where it belongs).
 */
function directExports(wasm: SparseExports): ExportsDispatch {
  const layouts = new Map(EXPORT_SPECS.map(([name, spec]) => [name as string, paramLayout(spec)]));
  const deliver: ExportsDispatch['deliver'] = (name, sink, ...args) => {
    const { lo, hi } = layouts.get(name)!;
    sink.rows(args[lo], args[hi]);
  };
  return { ...wasm, deliver };
}

/** Stands in for the exports of released kernels: every call throws. */
function releasedExports(): ExportsDispatch {
  return new Proxy({} as ExportsDispatch, {
    get: (_, name) => () => {
      throw new Error(`sparse kernels: '${String(name)}' called after release(); create new kernels.`);
    },
  });
}

/** Options of {@link createWasmKernels}. */
export interface WasmKernelOptions {
  /** Kernel threads to split large calls across (a shared memory, attached to every worker). Default: the team of `nm.backend.setThreads`, none while that is 1. */
  team?: KernelTeam | null;
  /** The products' arithmetic (src/kernels/kernel_variant.ts). Default: {@link kernelVariant} ('fma' where relaxed SIMD validates, else 'muladd'). */
  variant?: KernelVariant;
}

/** Throws unless `a` (an array argument, or null, or an optional one left out) is a live view of the arena's buffer. */
function inArena(where: string, name: string, a: unknown, buffer: ArrayBuffer): void {
  if (a == null || (a as Float32Array).buffer === buffer) return;
  const why = (a as Float32Array).buffer.byteLength === 0 ? 'its buffer was detached, likely by a growing reset()' : 'it lives in another buffer';
  throw new ConfigError(
    `${where}: '${name}' is not a view of the kernels' wasm memory (${why}); allocate it with kernels.arena.f32/i32 after the last reset().`,
  );
}

/**
 * The wasm method of catalog entry `entry`: every array argument checked to live in
 * `memory`, then the entry's checks, then its call of the exports `state.x`.
 */
function wasmMethod(name: string, entry: KernelEntry, memory: WebAssembly.Memory, state: { x: ExportsDispatch }): Forward {
  const check = entry.check as Forward;
  const call = entry.call as unknown as (x: ExportsDispatch, ...args: unknown[]) => unknown;
  const names = entry.args.map((a) => a.name);
  /** Bit i: argument i is an array. */
  const arrays = entry.args.reduce((m, a, i) => (a.array ? m | (1 << i) : m), 0);
  return (a0, a1, a2, a3, a4, a5, a6, a7, a8) => {
    const buf = memory.buffer;
    if (arrays & 1) inArena(name, names[0], a0, buf);
    if (arrays & 2) inArena(name, names[1], a1, buf);
    if (arrays & 4) inArena(name, names[2], a2, buf);
    if (arrays & 8) inArena(name, names[3], a3, buf);
    if (arrays & 16) inArena(name, names[4], a4, buf);
    if (arrays & 32) inArena(name, names[5], a5, buf);
    if (arrays & 64) inArena(name, names[6], a6, buf);
    if (arrays & 128) inArena(name, names[7], a7, buf);
    if (arrays & 256) inArena(name, names[8], a8, buf);
    check(a0, a1, a2, a3, a4, a5, a6, a7, a8);
    return call(state.x, a0, a1, a2, a3, a4, a5, a6, a7, a8);
  };
}

/**
 * The WebAssembly SIMD {@link SparseKernels}, with an arena over its own
 * WebAssembly.Memory. Every array argument must be a view of that memory
 * (`kernels.arena.f32/i32`, or a subarray of one) allocated after the last
 * `arena.reset()`; anything else throws an Error naming the argument. Prefer
 * `sparseKernels('wasm')`, which caches one instance.
 *
 * Caveats: throws when WebAssembly SIMD is unavailable (see
 * {@link wasmSimdSupported}). Checks are O(1) per call; a bad ptr or idx value is
 * not caught and reads other arena memory or traps with a RuntimeError.
 *
 * Threads: with a team (`options.team`, or the one `nm.backend.setThreads(n)` started)
 * the memory is shared with the team's workers and every large call is split across
 * them (src/kernels/threads/split.ts), with the same bits as one thread: the workers
 * instantiate the same modules ({@link kernelModules} of this instance's variant).
 *
 * @example
 * const k = createWasmKernels();
 * k.arena.reset(arenaBytes([B, B]));
 * const g = k.arena.f32(B), a = k.arena.f32(B);
 * k.axpyRows(g, a, 0, 1, B, a); // a += g·a
 */
export function createWasmKernels(options: WasmKernelOptions = {}): SparseKernels {
  if (!wasmSimdSupported()) {
    throw new Error("sparse kernels: WebAssembly SIMD is not available in this runtime; use sparseKernels('js') or 'auto'.");
  }
  const variant = options.variant ?? kernelVariant();
  if (variant !== 'fma' && variant !== 'muladd') throw new ConfigError(`createWasmKernels: 'variant' must be 'fma' or 'muladd'; received ${String(variant)}.`);
  if (variant === 'fma' && !relaxedSimdSupported()) {
    throw new ConfigError("createWasmKernels: the 'fma' variant needs WebAssembly relaxed SIMD, which this runtime lacks; use 'muladd'.");
  }
  const team = options.team === undefined ? currentTeam() : options.team;
  const threaded = team !== null && team.size > 1;
  const memory = threaded ? sharedMemory() : new WebAssembly.Memory({ initial: 1 });
  let wasm: SparseExports;
  let modules: WebAssembly.Module[];
  try {
    modules = kernelModules(variant, threaded ? 'shared' : 'plain');
    wasm = instantiate(memory, modules);
  } catch (err) {
    throw new Error(`sparse kernels: could not compile the wasm SIMD module (${String(err)}); use sparseKernels('js') or 'auto'.`);
  }
  const state = { x: directExports(wasm) };
  let together = (calls: () => void) => calls();
  let detach = () => {};
  if (threaded) {
    const id = team.attach(memory, modules);
    const split = splitExports(wasm, team, id, memory);
    state.x = split;
    together = split.together;
    detach = () => team.detach(id);
  }
  let released = false;
  return {
    name: 'wasm-simd',
    variant,
    threads: threaded ? team.size : 1,
    arena: TypedArena.wasm(memory),
    together,
    release() {
      if (released) return;
      released = true;
      state.x = releasedExports();
      detach();
    },
    ...kernelMethods((name, entry) => wasmMethod(name, entry, memory, state)),
  };
}
