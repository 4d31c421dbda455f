/**
 * The workspace the sparse kernels work in: one growable buffer, handed out as
 * 16-byte aligned typed-array views by a bump allocator.
 *
 * The wasm kernels can only see their `WebAssembly.Memory`, so every array they
 * get must be a view of it; the js kernels use the same allocator over a plain
 * `ArrayBuffer`, so code written against one runs unchanged on the other.
 */

/**
 * A workspace of typed arrays the kernels accept. Views are valid until the next reset().
 *
 * Caveats: each array takes `4·n` bytes rounded up to 16 ({@link arenaBytes}
 * sizes a reset for a list of lengths); reset() reuses the memory of every
 * earlier view, and a growing reset of a wasm arena detaches them (length 0).
 *
 * @example
 * kernels.arena.reset(arenaBytes([p * B, B]));
 * const x = kernels.arena.f32(p * B), dots = kernels.arena.f32(B);
 */
export interface KernelArena {
  /** Drops all allocations and makes room for at least `bytes` bytes (may grow and so detach earlier views). */
  reset(bytes: number): void;
  /**
   * A Float32Array of length n from the workspace (16-byte aligned), zero-filled unless
   * `zero` is false (then it holds whatever the memory held: only for arrays the caller
   * writes before it reads them; {@link ARENA_POISON} fills them with NaN to check that).
   * Throws a clear Error if the reset() capacity is exceeded.
   */
  f32(n: number, zero?: boolean): Float32Array;
  /** A zero-filled Int32Array of length n (16-byte aligned). */
  i32(n: number): Int32Array;
}

/**
 * Alignment, in bytes, of every array an arena hands out (one v128).
 *
 * @example
 * arena.f32(3).byteOffset % ARENA_ALIGN === 0; // true
 */
export const ARENA_ALIGN = 16;

/**
 * Test switch: when `enabled`, arrays taken with `f32(n, false)` are filled with NaN
 * instead of keeping old contents, so a solve that reads one before writing it fails
 * loudly (the tests run the host engine with it on; `NM_ARENA_POISON=1` turns it on).
 *
 * @example
 * ARENA_POISON.enabled = true;
 */
export const ARENA_POISON = {
  enabled: typeof process === 'object' && (process as { env?: Record<string, string | undefined> }).env?.NM_ARENA_POISON === '1',
};

const PAGE = 65536;
/** The largest wasm32 memory: 65536 pages of 64 KiB. */
const MAX_PAGES = 65536;

/**
 * The `reset()` size that fits arrays of the given lengths (4-byte elements,
 * each rounded up to {@link ARENA_ALIGN} bytes), in any order.
 *
 * @example
 * arena.reset(arenaBytes([p * B, p * B, B]));
 * const x = arena.f32(p * B), out = arena.f32(p * B), dots = arena.f32(B);
 */
export function arenaBytes(lengths: readonly number[]): number {
  let total = 0;
  for (const n of lengths) total += Math.ceil((n * 4) / ARENA_ALIGN) * ARENA_ALIGN;
  return total;
}

/** Where an arena's bytes live (a plain ArrayBuffer or a WebAssembly.Memory). */
interface Backing {
  /** The current buffer. */
  buffer(): ArrayBuffer;
  /** Makes the buffer at least `bytes` long; returns the (possibly new) buffer. */
  grow(bytes: number): ArrayBuffer;
}

/**
 * A bump allocator over one buffer; implements {@link KernelArena}.
 *
 * Caveats: `reset()` invalidates every view handed out before it (its memory is
 * reused, and a growing reset detaches wasm views, which then have length 0).
 * Each array takes `4·n` bytes rounded up to 16, so size resets with
 * {@link arenaBytes}. Not thread-safe or re-entrant: one user at a time.
 *
 * @example
 * const arena = TypedArena.plain();
 * arena.reset(arenaBytes([12, 3]));
 * const a = arena.f32(12), ptr = arena.i32(3);
 */
export class TypedArena implements KernelArena {
  private capacity = 0;
  private offset = 0;

  private constructor(
    private readonly backing: Backing,
    /** The wasm memory behind this arena, or null for a plain ArrayBuffer. */
    readonly memory: WebAssembly.Memory | null,
  ) {}

  /**
   * An arena over a plain, growable-by-replacement ArrayBuffer (for the js kernels).
   *
   * @example
   * const arena = TypedArena.plain();
   */
  static plain(): TypedArena {
    let buf = new ArrayBuffer(0);
    return new TypedArena(
      {
        buffer: () => buf,
        grow: (bytes) => (buf = new ArrayBuffer(Math.ceil(bytes / PAGE) * PAGE)),
      },
      null,
    );
  }

  /**
   * An arena over a WebAssembly.Memory, which `reset()` grows with `memory.grow`
   * (detaching every earlier view of it).
   *
   * @example
   * const memory = new WebAssembly.Memory({ initial: 1 });
   * const arena = TypedArena.wasm(memory);
   */
  static wasm(memory: WebAssembly.Memory): TypedArena {
    return new TypedArena(
      {
        buffer: () => memory.buffer,
        grow: (bytes) => {
          const have = memory.buffer.byteLength / PAGE;
          const need = Math.ceil(bytes / PAGE);
          if (need > MAX_PAGES) {
            throw new Error(`KernelArena.reset(${bytes}): more than the 4 GiB a wasm32 memory can hold.`);
          }
          try {
            memory.grow(need - have);
          } catch (err) {
            throw new Error(`KernelArena.reset(${bytes}): could not grow the wasm memory to ${need} pages (${String(err)}).`);
          }
          return memory.buffer;
        },
      },
      memory,
    );
  }

  /** The buffer every current view lives in. */
  get buffer(): ArrayBuffer {
    return this.backing.buffer();
  }

  /**
   * Drops all allocations and makes room for at least `bytes` bytes.
   * Caveat: may grow the buffer and so detach (wasm) or orphan (plain) earlier views.
   */
  reset(bytes: number): void {
    if (!Number.isSafeInteger(bytes) || bytes < 0) {
      throw new Error(`KernelArena.reset: 'bytes' must be an integer >= 0; received ${String(bytes)}.`);
    }
    if (this.backing.buffer().byteLength < bytes) this.backing.grow(bytes);
    this.capacity = bytes;
    this.offset = 0;
  }

  /** A Float32Array of length n (16-byte aligned), zero-filled unless `zero` is false; throws if the reset() capacity is exceeded. */
  f32(n: number, zero = true): Float32Array {
    const view = new Float32Array(this.backing.buffer(), this.take(n, 'f32'), n);
    if (zero) view.fill(0);
    else if (ARENA_POISON.enabled) view.fill(NaN);
    return view;
  }

  /** A zero-filled Int32Array of length n (16-byte aligned); throws if the reset() capacity is exceeded. */
  i32(n: number): Int32Array {
    const view = new Int32Array(this.backing.buffer(), this.take(n, 'i32'), n);
    view.fill(0);
    return view;
  }

  /** Reserves n 4-byte elements; returns their byte offset. */
  private take(n: number, what: string): number {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new Error(`KernelArena.${what}: 'n' must be an integer >= 0; received ${String(n)}.`);
    }
    const start = this.offset;
    const end = start + Math.ceil((n * 4) / ARENA_ALIGN) * ARENA_ALIGN;
    if (end > this.capacity) {
      throw new Error(
        `KernelArena.${what}(${n}): needs ${end - start} bytes but only ${this.capacity - start} of the ` +
          `${this.capacity} reserved by the last reset() are left. Reserve more with reset(arenaBytes([...all lengths])).`,
      );
    }
    this.offset = end;
    return start;
  }
}

/**
 * Sparse and row-wise kernels over node-major arrays (row k of an [n, B] array
 * is `arr[k*B .. k*B+B)`), in WebAssembly SIMD or plain JS.
 *
 * Both implementations round identically, so they give bit-identical results:
 * spmm and axpyRows round every product and sum to f32 (summing each element's
 * terms in the naive loop order); dotRows multiplies and sums in f64 and rounds
 * once when adding to out. The element-wise kernels (tanh, addMul, andersonDiffs)
 * compute in f32 with one fixed operation order; relativeStep in f64 with a fixed
 * summation order.
 *
 * Caveats: arguments are range-checked per call (lo, hi, B, array lengths,
 * ptr[lo] and ptr[hi]), but not element by element: ptr must be non-decreasing
 * and every idx value must be a valid row of x, else the wasm kernels read other
 * arena memory or trap. spmm's out rows must not overlap x. For 'wasm-simd' every
 * array must be a view of `arena` allocated after its last reset().
 *
 * @example
 * const k = sparseKernels();
 * k.arena.reset(arenaBytes([p + 1, nnz, nnz, p * B, p * B]));
 * const ptr = k.arena.i32(p + 1), idx = k.arena.i32(nnz), w = k.arena.f32(nnz);
 * const x = k.arena.f32(p * B), out = k.arena.f32(p * B);
 * // ... fill ptr, idx, w, x ...
 * k.spmm(ptr, idx, w, 0, p, x, out, B); // out += A·x
 */
/**
 * Where {@link SparseKernels.gemmNT} delivers G = H·Vᵀ when the destination is memory
 * only the caller's thread can write (tfjs-backend-wasm's heap): the caller computes its
 * share of the rows straight into it and copies the rows that kernel threads computed.
 */
export interface GemmSink {
  /** Runs once, after v is packed and before any row: the sink takes its copies of h and the packed v. */
  begin(): void;
  /** Computes rows [jLo, jHi) of G where they belong (on the caller's thread, the same kernel code). */
  rows(jLo: number, jHi: number): void;
  /** Copies rows [jLo, jHi) of G from `out`, where another thread (or the JS kernel) wrote them. */
  take(jLo: number, jHi: number): void;
}

export interface SparseKernels {
  readonly name: 'wasm-simd' | 'js';
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
  /** out[k·B+b] += Σ_{e=ptr[k]}^{ptr[k+1]−1} w[e]·x[idx[e]·B+b], for k in [lo, hi), b in [0, B). ptr is indexed by absolute row k. */
  spmm(ptr: Int32Array, idx: Int32Array, w: Float32Array, lo: number, hi: number, x: Float32Array, out: Float32Array, B: number): void;
  /** out[b] += Σ_{k=lo}^{hi−1} a[k·B+b]·c[k·B+b]  (per-sample dot products over rows; out has length B). */
  dotRows(a: Float32Array, c: Float32Array, lo: number, hi: number, B: number, out: Float32Array): void;
  /**
   * out[j·p + k] = Σ_b h[j·B+b]·v[k·B+b] for j, k < p: the dense product H·Vᵀ of two
   * node-major [p, B] blocks (the graph gradient), each entry summed in f32 over b in
   * order from +0, no fused multiply-add (src/kernels/gemm.ts). `packed` is scratch of
   * at least `gemmPackedBytes(p, B) / 4` floats (the wasm kernel packs v there). out
   * must not overlap h, v or packed.
   *
   * With a `sink`, G goes there instead (every row exactly once, the same bits): rows the
   * caller's thread computes through `sink.rows`, rows a kernel thread computed into
   * `out` through `sink.take` (run on the caller while the other rows are still being
   * computed). Without threads, `sink.rows(0, p)` does all of it.
   */
  gemmNT(h: Float32Array, v: Float32Array, p: number, B: number, out: Float32Array, packed: Float32Array, sink?: GemmSink): void;
  /**
   * From the tensors' row-major `[B, p]` to the solve's node-major `[p, B]`:
   * out[q·B+b] = src[b·p + perm[q]] (times scale[q·B+b] when scale is given), p =
   * perm.length. A pure copy (one f32 product with scale); out must not overlap src or scale.
   */
  permuteIn(src: Float32Array, perm: Int32Array, B: number, out: Float32Array, scale: Float32Array | null): void;
  /** The inverse of {@link permuteIn} (without scale): out[b·p + perm[q]] = src[q·B+b]; out must not overlap src. */
  permuteOut(src: Float32Array, perm: Int32Array, B: number, out: Float32Array): void;
  /** out[k·B+b] += g[b]·a[k·B+b] for k in [lo, hi)  (per-sample axpy; g has length B). */
  axpyRows(g: Float32Array, a: Float32Array, lo: number, hi: number, B: number, out: Float32Array): void;

  // Element-wise kernels over whole arrays. An output may be one of the inputs
  // itself (same buffer and offset) but must not partially overlap any input.

  /**
   * out[i] = tanh(x[i]) for i < x.length (out.length must equal x.length; out may be x).
   * Eigen's float rational approximation, evaluated in f32 without FMA: |error| ≤ 4.1e-7
   * (about 7 ulp of 1, worst near |x| = 5.83); |x| ≥ 7.9988 and ±Infinity → ±(1 − 1.8e-7),
   * NaN → NaN, ±0 → ±0. Odd: tanh(−x) = −tanh(x) exactly.
   */
  tanh(x: Float32Array, out: Float32Array): void;
  /**
   * sqrt(Σ(a_i − b_i)²) / (sqrt(Σ b_i²) + 1e-8) over i < a.length (b.length must equal
   * a.length), differences, squares and sums in f64 (four partial sums, element i into
   * sum i mod 4). NaN or ±Infinity in → non-finite out; empty arrays → 0.
   */
  relativeStep(a: Float32Array, b: Float32Array): number;
  /** out[i] = a[i] + d[i]·t[i] for i < out.length (all the same length; f32 product and sum; out may be a, d or t). */
  addMul(a: Float32Array, d: Float32Array, t: Float32Array, out: Float32Array): void;
  /**
   * The Anderson bookkeeping in one pass, for i < g.length (all the same length, f32):
   *   r_i = g_i − x_i; if dG: dG_i = g_i − prevG_i and dR_i = r_i − prevR_i; then prevG_i = g_i, prevR_i = r_i.
   * dG and dR are both null (first iteration: only r and the prev copies) or both arrays.
   * The written arrays (r, prevG, prevR, dG, dR) must not overlap each other, g or x.
   */
  andersonDiffs(
    g: Float32Array,
    x: Float32Array,
    prevG: Float32Array,
    prevR: Float32Array,
    r: Float32Array,
    dG: Float32Array | null,
    dR: Float32Array | null,
  ): void;
  /**
   * One step of tfjs' Adam over i < w.length (g, m, v the same length; w, m, v
   * updated in place, pairwise disjoint and disjoint from g), every operation
   * rounded to f32 in the order of tfjs' AdamOptimizer:
   *   m_i = m_i·β1 + g_i·(1−β1);  v_i = v_i·β2 + g_i²·(1−β2);
   *   w_i = ((m_i / (1−β1ᵗ)) / (sqrt(v_i / (1−β2ᵗ)) + ε))·(−lr) + w_i.
   * The coefficients are rounded to f32 first (see {@link AdamCoefficients}).
   */
  adamUpdate(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, c: AdamCoefficients): void;
  /**
   * One step of tfjs' SGD with momentum over i < w.length (g, a the same length; w and
   * a updated in place, disjoint from each other and from g), every operation rounded
   * to f32 in the order of tfjs' MomentumOptimizer:
   *   a_i = a_i·μ + g_i;  w_i = a_i·(−lr) + w_i, or with Nesterov w_i = (g_i + a_i·μ)·(−lr) + w_i.
   */
  momentumUpdate(w: Float32Array, g: Float32Array, a: Float32Array, c: MomentumCoefficients): void;
}

/**
 * The scalars of one momentum step, as tfjs' MomentumOptimizer holds them (`momentum`
 * and `negLearningRate = −learningRate` are rounded to f32 by the kernels).
 *
 * @example
 * const c = { momentum: 0.9, negLearningRate: -0.01, nesterov: false };
 */
export interface MomentumCoefficients {
  momentum: number;
  negLearningRate: number;
  nesterov: boolean;
}

/**
 * The scalars of one Adam step, as tfjs' AdamOptimizer holds them (each is rounded
 * to f32 by the kernels): `oneMinusBeta1 = 1 − beta1` computed in f64 like tfjs'
 * `1 - this.beta1`, `biasCorrection1 = 1 − β1ᵗ` (tfjs: `sub(1, accBeta1)` in f32),
 * `negLearningRate = −learningRate`.
 *
 * @example
 * const c = { beta1: 0.9, oneMinusBeta1: 1 - 0.9, beta2: 0.999, oneMinusBeta2: 1 - 0.999,
 *   biasCorrection1: Math.fround(1 - Math.fround(0.9)), biasCorrection2: Math.fround(1 - Math.fround(0.999)),
 *   epsilon: 1e-7, negLearningRate: -1e-3 };
 */
export interface AdamCoefficients {
  beta1: number;
  oneMinusBeta1: number;
  beta2: number;
  oneMinusBeta2: number;
  biasCorrection1: number;
  biasCorrection2: number;
  epsilon: number;
  negLearningRate: number;
}
