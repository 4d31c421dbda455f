/**
 * The WebAssembly SIMD sparse kernels: src/kernels/sparse.wat, embedded as base64
 * (src/kernels/sparse_wasm_bytes.ts), compiled and instantiated synchronously over
 * a WebAssembly.Memory that the kernels' arena owns and grows.
 */
import { embeddedModule } from './wasm_bytes.js';
import { ConfigError } from '../utils/errors.js';
import { TypedArena, type SparseKernels } from './arena.js';
import {
  checkAdamUpdateArgs,
  checkAddMulArgs,
  checkAndersonDiffsArgs,
  checkAxpyRowsArgs,
  checkDotRowsArgs,
  checkGemmArgs,
  checkMomentumUpdateArgs,
  checkPermuteArgs,
  checkRelativeStepArgs,
  checkSpmmArgs,
  checkTanhArgs,
} from './checks.js';
import { gemmWasmBytes, type GemmExports } from './gemm.js';
import { SPARSE_WASM_BASE64, SPARSE_WASM_SHARED_BASE64 } from './sparse_wasm_bytes.js';
import { currentTeam } from './threads/current.js';
import { KERNEL_EXPORTS } from './threads/protocol.js';
import { splitExports, type SplitExports } from './threads/split_exports.js';
import type { KernelTeam } from './threads/team.js';

/** The exports of both kernel modules (sparse.wat, gemm.wat); every pointer is a byte offset into `env.memory`. */
export interface SparseExports extends GemmExports {
  spmm(ptr: number, idx: number, w: number, lo: number, hi: number, x: number, out: number, B: number): void;
  /** Node-major rows [lo, hi) of permuteIn; scale 0: none. */
  permuteIn(src: number, perm: number, lo: number, hi: number, p: number, B: number, out: number, scale: number): void;
  /** Node-major rows [lo, hi) of permuteOut. */
  permuteOut(src: number, perm: number, lo: number, hi: number, p: number, B: number, out: number): void;
  /** Columns [0, nb) of rows [lo, hi); B is the row stride (nb ≤ B). */
  dotRows(a: number, c: number, lo: number, hi: number, B: number, out: number, nb: number): void;
  axpyRows(g: number, a: number, lo: number, hi: number, B: number, out: number): void;
  tanh(x: number, out: number, n: number): void;
  relativeStep(a: number, b: number, n: number): number;
  addMul(a: number, d: number, t: number, out: number, n: number): void;
  /** diffs: 1 to write dG and dR, 0 to leave them (any offset) untouched. */
  andersonDiffs(g: number, x: number, prevG: number, prevR: number, r: number, dG: number, dR: number, diffs: number, n: number): void;
  /** The f32 arguments are the AdamCoefficients in order (rounded to f32 by the call). */
  adamUpdate(
    w: number,
    g: number,
    m: number,
    v: number,
    n: number,
    b1: number,
    c1: number,
    b2: number,
    c2: number,
    d1: number,
    d2: number,
    eps: number,
    nlr: number,
    /** Where the new w goes: w itself (in place) or a disjoint array. */
    out: number,
  ): void;
  /** mom and nlr (−learningRate) are rounded to f32 by the call; nesterov 1 or 0; out as for adamUpdate. */
  momentumUpdate(w: number, g: number, a: number, n: number, mom: number, nlr: number, nesterov: number, out: number): void;
}

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
export function wasmSimdSupported(): boolean {
  // Validating the module takes ~0.1 ms: once per process (callers ask on every step).
  if (simdSupported === null) {
    try {
      simdSupported = typeof WebAssembly === 'object' && WebAssembly.validate(sparseWasmBytes());
    } catch {
      simdSupported = false;
    }
  }
  return simdSupported;
}

let simdSupported: boolean | null = null;

/** Every export both kernel modules must provide (the command table of the kernel threads). */
const EXPORTS = KERNEL_EXPORTS;

function instantiate(memory: WebAssembly.Memory, modules: WebAssembly.Module[]): SparseExports {
  const exports: Record<string, unknown> = {};
  for (const module of modules) Object.assign(exports, new WebAssembly.Instance(module, { env: { memory } }).exports);
  const missing = EXPORTS.filter((name) => typeof exports[name] !== 'function');
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

/** Stands in for the exports of released kernels: every call throws. */
function releasedExports(): SparseExports {
  return new Proxy({} as SparseExports, {
    get: (_, name) => () => {
      throw new Error(`sparse kernels: '${String(name)}' called after release(); create new kernels.`);
    },
  });
}

/** Options of {@link createWasmKernels}. */
export interface WasmKernelOptions {
  /** Kernel threads to split large calls across (a shared memory, attached to every worker). Default: the team of `nm.backend.setThreads`, none while that is 1. */
  team?: KernelTeam | null;
}

/** Throws unless `a` is a live view of the arena's buffer. */
function inArena(where: string, name: string, a: Float32Array | Int32Array, buffer: ArrayBuffer): void {
  if (a.buffer !== buffer) {
    const why = a.buffer.byteLength === 0 ? 'its buffer was detached, likely by a growing reset()' : 'it lives in another buffer';
    throw new ConfigError(
      `${where}: '${name}' is not a view of the kernels' wasm memory (${why}); allocate it with kernels.arena.f32/i32 after the last reset().`,
    );
  }
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
 * them (src/kernels/threads/split_exports.ts), with the same bits as one thread.
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
  const team = options.team === undefined ? currentTeam() : options.team;
  const threaded = team !== null && team.size > 1;
  const memory = threaded ? sharedMemory() : new WebAssembly.Memory({ initial: 1 });
  let wasm: SparseExports;
  let modules: WebAssembly.Module[];
  try {
    const variant = threaded ? 'shared' : 'plain';
    modules = [new WebAssembly.Module(sparseWasmBytes(variant)), new WebAssembly.Module(gemmWasmBytes(variant))];
    wasm = instantiate(memory, modules);
  } catch (err) {
    throw new Error(`sparse kernels: could not compile the wasm SIMD module (${String(err)}); use sparseKernels('js') or 'auto'.`);
  }
  let together = (calls: () => void) => calls();
  let gemmInto: SplitExports['gemmNTInto'] | null = null;
  let detach = () => {};
  if (threaded) {
    const id = team.attach(memory, modules);
    const split = splitExports(wasm, team, id, memory);
    together = split.together;
    gemmInto = split.gemmNTInto;
    wasm = split;
    detach = () => team.detach(id);
  }
  const arena = TypedArena.wasm(memory);
  let released = false;
  return {
    name: 'wasm-simd',
    threads: threaded ? team.size : 1,
    arena,
    together,
    release() {
      if (released) return;
      released = true;
      wasm = releasedExports();
      gemmInto = null;
      detach();
    },
    spmm(ptr, idx, w, lo, hi, x, out, B) {
      const buf = memory.buffer;
      inArena('spmm', 'ptr', ptr, buf);
      inArena('spmm', 'idx', idx, buf);
      inArena('spmm', 'w', w, buf);
      inArena('spmm', 'x', x, buf);
      inArena('spmm', 'out', out, buf);
      checkSpmmArgs(ptr, idx, w, lo, hi, x, out, B);
      wasm.spmm(ptr.byteOffset, idx.byteOffset, w.byteOffset, lo, hi, x.byteOffset, out.byteOffset, B);
    },
    dotRows(a, c, lo, hi, B, out) {
      const buf = memory.buffer;
      inArena('dotRows', 'a', a, buf);
      inArena('dotRows', 'c', c, buf);
      inArena('dotRows', 'out', out, buf);
      checkDotRowsArgs(a, c, lo, hi, B, out);
      wasm.dotRows(a.byteOffset, c.byteOffset, lo, hi, B, out.byteOffset, B);
    },
    axpyRows(g, a, lo, hi, B, out) {
      const buf = memory.buffer;
      inArena('axpyRows', 'g', g, buf);
      inArena('axpyRows', 'a', a, buf);
      inArena('axpyRows', 'out', out, buf);
      checkAxpyRowsArgs(g, a, lo, hi, B, out);
      wasm.axpyRows(g.byteOffset, a.byteOffset, lo, hi, B, out.byteOffset);
    },
    tanh(x, out) {
      const buf = memory.buffer;
      inArena('tanh', 'x', x, buf);
      inArena('tanh', 'out', out, buf);
      checkTanhArgs(x, out);
      wasm.tanh(x.byteOffset, out.byteOffset, x.length);
    },
    relativeStep(a, b) {
      const buf = memory.buffer;
      inArena('relativeStep', 'a', a, buf);
      inArena('relativeStep', 'b', b, buf);
      checkRelativeStepArgs(a, b);
      return wasm.relativeStep(a.byteOffset, b.byteOffset, a.length);
    },
    addMul(a, d, t, out) {
      const buf = memory.buffer;
      inArena('addMul', 'a', a, buf);
      inArena('addMul', 'd', d, buf);
      inArena('addMul', 't', t, buf);
      inArena('addMul', 'out', out, buf);
      checkAddMulArgs(a, d, t, out);
      wasm.addMul(a.byteOffset, d.byteOffset, t.byteOffset, out.byteOffset, out.length);
    },
    andersonDiffs(g, x, prevG, prevR, r, dG, dR) {
      const buf = memory.buffer;
      const where = 'andersonDiffs';
      inArena(where, 'g', g, buf);
      inArena(where, 'x', x, buf);
      inArena(where, 'prevG', prevG, buf);
      inArena(where, 'prevR', prevR, buf);
      inArena(where, 'r', r, buf);
      if (dG !== null) inArena(where, 'dG', dG, buf);
      if (dR !== null) inArena(where, 'dR', dR, buf);
      checkAndersonDiffsArgs(g, x, prevG, prevR, r, dG, dR);
      const diffs = dG !== null && dR !== null;
      wasm.andersonDiffs(
        g.byteOffset,
        x.byteOffset,
        prevG.byteOffset,
        prevR.byteOffset,
        r.byteOffset,
        diffs ? dG.byteOffset : 0,
        diffs ? dR.byteOffset : 0,
        diffs ? 1 : 0,
        g.length,
      );
    },
    permuteIn(src, perm, B, out, scale) {
      const buf = memory.buffer;
      inArena('permuteIn', 'src', src, buf);
      inArena('permuteIn', 'perm', perm, buf);
      inArena('permuteIn', 'out', out, buf);
      if (scale !== null) inArena('permuteIn', 'scale', scale, buf);
      checkPermuteArgs('permuteIn', src, perm, B, out, scale);
      if (perm.length > 0 && B > 0) wasm.permuteIn(src.byteOffset, perm.byteOffset, 0, perm.length, perm.length, B, out.byteOffset, scale?.byteOffset ?? 0);
    },
    permuteOut(src, perm, B, out) {
      const buf = memory.buffer;
      inArena('permuteOut', 'src', src, buf);
      inArena('permuteOut', 'perm', perm, buf);
      inArena('permuteOut', 'out', out, buf);
      checkPermuteArgs('permuteOut', src, perm, B, out, null);
      if (perm.length > 0 && B > 0) wasm.permuteOut(src.byteOffset, perm.byteOffset, 0, perm.length, perm.length, B, out.byteOffset);
    },
    gemmNT(h, v, p, B, out, packed, sink) {
      const buf = memory.buffer;
      const where = 'gemmNT';
      inArena(where, 'h', h, buf);
      inArena(where, 'v', v, buf);
      inArena(where, 'out', out, buf);
      inArena(where, 'packed', packed, buf);
      checkGemmArgs(h, v, p, B, out, packed);
      wasm.packV(v.byteOffset, p, B, packed.byteOffset);
      if (sink === undefined) return wasm.gemmNT(h.byteOffset, packed.byteOffset, 0, p, p, B, out.byteOffset, p);
      sink.begin();
      if (gemmInto === null) sink.rows(0, p);
      else gemmInto(h.byteOffset, packed.byteOffset, p, B, out.byteOffset, p, sink);
    },
    adamUpdate(w, g, m, v, c) {
      const buf = memory.buffer;
      const where = 'adamUpdate';
      inArena(where, 'w', w, buf);
      inArena(where, 'g', g, buf);
      inArena(where, 'm', m, buf);
      inArena(where, 'v', v, buf);
      checkAdamUpdateArgs(w, g, m, v, c);
      wasm.adamUpdate(
        w.byteOffset,
        g.byteOffset,
        m.byteOffset,
        v.byteOffset,
        w.length,
        c.beta1,
        c.oneMinusBeta1,
        c.beta2,
        c.oneMinusBeta2,
        c.biasCorrection1,
        c.biasCorrection2,
        c.epsilon,
        c.negLearningRate,
        w.byteOffset,
      );
    },
    momentumUpdate(w, g, a, c) {
      const buf = memory.buffer;
      const where = 'momentumUpdate';
      inArena(where, 'w', w, buf);
      inArena(where, 'g', g, buf);
      inArena(where, 'a', a, buf);
      checkMomentumUpdateArgs(w, g, a, c);
      wasm.momentumUpdate(w.byteOffset, g.byteOffset, a.byteOffset, w.length, c.momentum, c.negLearningRate, c.nesterov ? 1 : 0, w.byteOffset);
    },
  };
}
