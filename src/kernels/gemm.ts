/**
 * The dense "graph gradient" product of the Neural Module layer,
 * `G[j,k] = Σ_b h[j,b]·v[k,b]` (G = H·Vᵀ for node-major H, V `[p, B]`), as a
 * WebAssembly SIMD kernel (src/kernels/gemm.wat, embedded as base64 in
 * src/kernels/gemm_wasm_bytes.ts) over a caller-owned WebAssembly.Memory, and its
 * plain-JS twin {@link gemmNTJs}, which rounds bit for bit like the kernel.
 *
 * Summation order (kernel and twin): every `G[j,k]` is accumulated in f32 over
 * b = 0, 1, …, B−1 in order, starting from +0, rounding every product and every
 * sum to f32: `s = +0; s = fl(s + fl(h[j,b]·v[k,b]))`. The kernel's 'fma' variant
 * (src/kernels/kernel_variant.ts) sums in the same order with one rounding per term,
 * `s = fl(s + h[j,b]·v[k,b])`, and has no JS twin.
 */
import { embeddedModule } from './wasm_bytes.js';
import { ConfigError } from '../utils/errors.js';
import { GEMM_FMA_WASM_BASE64, GEMM_FMA_WASM_SHARED_BASE64, GEMM_WASM_BASE64, GEMM_WASM_SHARED_BASE64 } from './gemm_wasm_bytes.js';
import { kernelVariant, type KernelVariant } from './kernel_variant.js';
import { relaxedSimdSupported } from './relaxed_simd.js';
import type { RowSink } from './entry.js';

/**
 * Where {@link SparseKernels.gemmNT} delivers G = H·Vᵀ when the destination is memory
 * only the caller's thread can write (tfjs-backend-wasm's heap): the caller computes its
 * share of the rows straight into it and copies the rows that kernel threads computed.
 */
export interface GemmSink extends RowSink {
  /** Runs once, after v is packed and before any row: the sink takes its copies of h and the packed v. */
  begin(): void;
  /** Computes rows [lo, hi) of G where they belong (on the caller's thread, the same kernel code). */
  rows(lo: number, hi: number): void;
  /** Copies rows [lo, hi) of G from `out`, where another thread (or the JS kernel) wrote them. */
  take(lo: number, hi: number): void;
}

/** Nodes per packed panel of v (the kernel's column block): see {@link GemmKernel.packV}. */
export const GEMM_PANEL = 16;

/** The module's exports; every pointer is a byte offset into `env.memory`. */
export interface GemmExports {
  packV(v: number, p: number, B: number, vp: number): void;
  gemmNT(h: number, vp: number, jLo: number, jHi: number, p: number, B: number, out: number, ldo: number): void;
}

/**
 * The dense product kernel over one WebAssembly.Memory. Every pointer argument is a
 * byte offset into {@link GemmKernel.memory}, a multiple of 4. Arguments are
 * checked in O(1) (integers, ranges inside the memory, written bytes disjoint from
 * the bytes read); a violation throws a ConfigError and the memory is untouched.
 */
export interface GemmKernel {
  /** The memory the kernel reads and writes (the one given to {@link createGemmKernel}). */
  readonly memory: WebAssembly.Memory;
  /** The arithmetic of {@link GemmKernel.gemmNT}: fused multiply-add or mul+add (see {@link createGemmKernel}). */
  readonly variant: KernelVariant;
  /**
   * Packs node-major `v [p, B]` (at byte offset `v`) into `ceil(p/16)` panels of
   * 16 nodes, b-major inside a panel, at byte offset `vp`:
   * `vp[(q·B + b)·16 + c] = v[16q + c, b]`, zero for `16q + c ≥ p`. Writes
   * {@link gemmPackedBytes}`(p, B)` bytes. A pure copy (no rounding).
   * Caveat: `vp` must not overlap `v`; pack once and share it between threads.
   */
  packV(v: number, p: number, B: number, vp: number): void;
  /**
   * `out[j·ldo + k] = G[j,k] = Σ_b h[j,b]·v[k,b]` for j in `[jLo, jHi)`, k in
   * `[0, p)`, from node-major `h [p, B]` (byte offset `h`; only rows
   * `[jLo, jHi)` are read), the {@link GemmKernel.packV} panels of v (byte offset
   * `vp`) and `out` (byte offset of row 0: row j is written at its absolute
   * position j, row stride `ldo ≥ p` floats). Writes nothing else of out.
   * Caveat: the written span of out must not overlap h or vp; two threads may
   * run disjoint row ranges concurrently over a shared memory.
   */
  gemmNT(h: number, vp: number, jLo: number, jHi: number, p: number, B: number, out: number, ldo: number): void;
  /**
   * A general product by the same kernel code: `out[j·n + k] = Σ_b h[j·K + b]·v[k,b]` for
   * j < m, k < n, from row-major `h [m, K]` (byte offset `h`) and the {@link GemmKernel.packV}
   * panels of `v [n, K]` (`packV(v, n, K, vp)`), into row-major `out [m, n]` (the same
   * summation order and arithmetic as gemmNT). Unlike gemmNT, m may exceed n.
   * Caveat: out must not overlap h or vp.
   */
  gemm(h: number, vp: number, m: number, n: number, K: number, out: number): void;
}

/**
 * The compiled gemm module (decoded once from the embedded base64; about 1 KB, so
 * browsers allow compiling it synchronously on the main thread). It imports its
 * memory as `env.memory`; `shared`: the variant over a shared memory (kernel threads).
 * Caveat: the same array on every call; do not modify it.
 *
 * @example
 * const module = new WebAssembly.Module(gemmWasmBytes()); // e.g. to post to a worker
 */
export const gemmWasmBytes = embeddedModule(GEMM_WASM_BASE64, GEMM_WASM_SHARED_BASE64);

/**
 * The gemm module's fused multiply-add variant (the same exports; `f32x4.relaxed_madd`,
 * WebAssembly relaxed SIMD), decoded once; `shared` as for {@link gemmWasmBytes}.
 * Caveat: the same array on every call; do not modify it.
 *
 * @example
 * WebAssembly.validate(gemmFmaWasmBytes()); // false on Node 20 (no relaxed SIMD)
 */
export const gemmFmaWasmBytes = embeddedModule(GEMM_FMA_WASM_BASE64, GEMM_FMA_WASM_SHARED_BASE64);

/**
 * Bytes that {@link GemmKernel.packV} writes for `p` nodes of `B` columns:
 * `ceil(p/16)·16·B·4`.
 *
 * @example
 * gemmPackedBytes(3000, 128); // 1_540_096
 */
export function gemmPackedBytes(p: number, B: number): number {
  return Math.ceil(p / GEMM_PANEL) * GEMM_PANEL * B * 4;
}

function checkInt(where: string, name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min || v > 0x7fffffff) {
    throw new ConfigError(`${where}: '${name}' must be an integer in [${min}, 2^31); received ${String(v)}.`);
  }
}

/** Checks that byte offset `at` (a multiple of 4) and `bytes` bytes from it fit in `size`. */
function checkSpan(where: string, name: string, at: number, bytes: number, size: number): void {
  if (!Number.isInteger(at) || at < 0 || at % 4 !== 0) {
    throw new ConfigError(`${where}: '${name}' must be a non-negative byte offset, a multiple of 4; received ${String(at)}.`);
  }
  if (at + bytes > size) {
    throw new ConfigError(`${where}: '${name}' needs bytes [${at}, ${at + bytes}) but the memory has ${size} bytes.`);
  }
}

/** Throws when the non-empty byte ranges [a0, a1) and [b0, b1) intersect. */
function checkDisjoint(where: string, aName: string, a0: number, a1: number, bName: string, b0: number, b1: number): void {
  if (a0 < a1 && b0 < b1 && a0 < b1 && b0 < a1) {
    throw new ConfigError(`${where}: '${aName}' bytes [${a0}, ${a1}) overlap '${bName}' bytes [${b0}, ${b1}); pass separate regions.`);
  }
}

/** Checks p, B, jLo ≤ jHi ≤ p and ldo ≥ p. */
function checkShape(where: string, jLo: number, jHi: number, p: number, B: number, ldo: number): void {
  checkInt(where, 'p', p, 0);
  checkInt(where, 'B', B, 0);
  checkInt(where, 'jLo', jLo, 0);
  checkInt(where, 'jHi', jHi, jLo);
  if (jHi > p) throw new ConfigError(`${where}: 'jHi' must be <= p = ${p}; received ${jHi}.`);
  checkInt(where, 'ldo', ldo, p);
}

/**
 * The WebAssembly SIMD {@link GemmKernel} over `memory`, which the caller owns,
 * lays out and grows (the kernel reads `memory.buffer` at each call, so growing
 * between calls is fine). The module imports the memory as `env.memory` and does
 * not assume it is unshared.
 *
 * `variant` (default: {@link kernelVariant}, chosen now): 'muladd' rounds like
 * {@link gemmNTJs} bit for bit; 'fma' fuses each multiply-add (relaxed SIMD; a
 * ConfigError where that is missing).
 *
 * Speed: about 36–40 GFLOP/s single-threaded (2·p²·B flops) on a ~3 GHz x64 core
 * for p = 300…3000, B = 64…128 with mul+add; see bench/gemm.ts and bench/fma.ts.
 * Caveats: throws when WebAssembly SIMD is unavailable; the packed v costs
 * `gemmPackedBytes(p, B)` bytes of the memory (1.5 MB at p = 3000, B = 128), and
 * is streamed from cache once per pair of rows, so past a few MB (L2) it slows.
 *
 * @example
 * const p = 300, B = 64, memory = new WebAssembly.Memory({ initial: 10 });
 * const k = createGemmKernel(memory);
 * const h = 0, v = p * B * 4, vp = 2 * p * B * 4, out = vp + gemmPackedBytes(p, B);
 * // ... fill new Float32Array(memory.buffer, h, p * B) and (…, v, p * B) ...
 * k.packV(v, p, B, vp);
 * k.gemmNT(h, vp, 0, p, p, B, out, p); // new Float32Array(memory.buffer, out, p * p) is G
 */
export function createGemmKernel(memory: WebAssembly.Memory, variant: KernelVariant = kernelVariant()): GemmKernel {
  if (variant !== 'fma' && variant !== 'muladd') throw new ConfigError(`createGemmKernel: 'variant' must be 'fma' or 'muladd'; received ${String(variant)}.`);
  if (variant === 'fma' && !relaxedSimdSupported()) {
    throw new ConfigError("createGemmKernel: the 'fma' variant needs WebAssembly relaxed SIMD, which this runtime lacks; use 'muladd'.");
  }
  let wasm: GemmExports;
  try {
    const bytes = variant === 'fma' ? gemmFmaWasmBytes() : gemmWasmBytes();
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    wasm = exports as unknown as GemmExports;
  } catch (err) {
    throw new Error(`gemm kernel: could not compile or instantiate the wasm SIMD module (${String(err)}).`);
  }
  return {
    memory,
    variant,
    packV(v, p, B, vp) {
      const where = 'gemm packV';
      checkInt(where, 'p', p, 0);
      checkInt(where, 'B', B, 0);
      const size = memory.buffer.byteLength;
      const vBytes = p * B * 4,
        vpBytes = gemmPackedBytes(p, B);
      checkSpan(where, 'v', v, vBytes, size);
      checkSpan(where, 'vp', vp, vpBytes, size);
      checkDisjoint(where, 'vp', vp, vp + vpBytes, 'v', v, v + vBytes);
      wasm.packV(v, p, B, vp);
    },
    gemmNT(h, vp, jLo, jHi, p, B, out, ldo) {
      const where = 'gemm gemmNT';
      checkShape(where, jLo, jHi, p, B, ldo);
      const size = memory.buffer.byteLength;
      const rb = B * 4,
        vpBytes = gemmPackedBytes(p, B);
      checkSpan(where, 'h', h, jHi * rb, size);
      checkSpan(where, 'vp', vp, vpBytes, size);
      const outEnd = jHi > jLo ? ((jHi - 1) * ldo + p) * 4 : 0;
      checkSpan(where, 'out', out, outEnd, size);
      const o0 = out + jLo * ldo * 4,
        o1 = out + outEnd;
      checkDisjoint(where, 'out', o0, o1, 'h', h + jLo * rb, h + jHi * rb);
      checkDisjoint(where, 'out', o0, o1, 'vp', vp, vp + vpBytes);
      wasm.gemmNT(h, vp, jLo, jHi, p, B, out, ldo);
    },
    gemm(h, vp, m, n, K, out) {
      const where = 'gemm gemm';
      checkInt(where, 'm', m, 0);
      checkInt(where, 'n', n, 0);
      checkInt(where, 'K', K, 0);
      const size = memory.buffer.byteLength;
      const [hBytes, vpBytes, outBytes] = [m * K * 4, gemmPackedBytes(n, K), m * n * 4];
      checkSpan(where, 'h', h, hBytes, size);
      checkSpan(where, 'vp', vp, vpBytes, size);
      checkSpan(where, 'out', out, outBytes, size);
      checkDisjoint(where, 'out', out, out + outBytes, 'h', h, h + hBytes);
      checkDisjoint(where, 'out', out, out + outBytes, 'vp', vp, vp + vpBytes);
      if (m > 0 && n > 0) wasm.gemmNT(h, vp, 0, m, n, K, out, n);
    },
  };
}

/**
 * Plain-JS twin of {@link GemmKernel.gemmNT} on Float32Arrays, with the same f32
 * summation order, so its results are bit-identical to the kernel's:
 * `out[j·ldo + k] = G[j,k]`, `s = +0; s = fround(s + fround(h[j·B+b]·v[k·B+b]))`
 * for b = 0…B−1, for j in `[jLo, jHi)`, k in `[0, p)`. h and v are node-major
 * `[p, B]` (not packed); nothing else of out is written.
 * Caveats: O(p·(jHi−jLo)·B) scalar work, a reference for tests, not a fast path;
 * out must not share memory with h or v (not checked).
 *
 * @example
 * const G = new Float32Array(p * p);
 * gemmNTJs(h, v, 0, p, p, B, G, p);
 */
export function gemmNTJs(h: Float32Array, v: Float32Array, jLo: number, jHi: number, p: number, B: number, out: Float32Array, ldo: number): void {
  const where = 'gemmNTJs';
  checkShape(where, jLo, jHi, p, B, ldo);
  if (h.length < jHi * B) throw new ConfigError(`${where}: 'h' has length ${h.length} but needs at least jHi·B = ${jHi * B}.`);
  if (v.length < p * B) throw new ConfigError(`${where}: 'v' has length ${v.length} but needs at least p·B = ${p * B}.`);
  if (jHi > jLo && out.length < (jHi - 1) * ldo + p) {
    throw new ConfigError(`${where}: 'out' has length ${out.length} but needs at least (jHi−1)·ldo + p = ${(jHi - 1) * ldo + p}.`);
  }
  const fround = Math.fround;
  for (let j = jLo; j < jHi; j++) {
    const hj = j * B,
      oj = j * ldo;
    for (let k = 0; k < p; k++) {
      const vk = k * B;
      let s = 0;
      for (let b = 0; b < B; b++) s = fround(s + fround(h[hj + b] * v[vk + b]));
      out[oj + k] = s;
    }
  }
}
