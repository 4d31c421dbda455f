/**
 * The blocked kernel view: kernels over whole node-major `[n, B]` arrays (n nodes, the B
 * batch rows as columns) that are stored in column blocks, one per kernel thread. Block j
 * holds columns `[start_j, start_{j+1})` as its own node-major `[n, width_j]` array, at
 * offset `n·start_j`. Every method takes whole arrays (or rows of one, {@link BlockedKernels.rows})
 * and runs one kernel call per block, all of them as one parallel batch
 * ({@link SparseKernels.together}), so a thread keeps to the block it wrote in the call
 * before (in its own core's cache) instead of reading slices that the other core wrote.
 * Measured on this project's 2-core VM: an spmm + tanh pass at p = 3000, batch 128 takes
 * 0.65 ms in 2 blocks against 0.91 ms split by rows (1.36 ms on one thread).
 *
 * Every kernel the solves use treats columns independently (each batch row is its own
 * fixed point; the per-row dot products and axpys take per-column coefficients), so a
 * blocked solve gives the same bits as the plain layout; one block (one thread, or a batch
 * too small to split) is the plain layout. Element-wise work over whole arrays (copies,
 * `fill`, `x[i] = a[i] + b[i]` loops) needs no view: all arrays of one view share the layout.
 *
 * @example
 * const k = blocked(sparseKernels(), 128, 3000); // 2 blocks of 64 columns on 2 threads
 * k.spmm(ptr, idx, w, f, x);                      // x += A·f for every row of x
 */
import type { SparseKernels } from './sparse_kernels.js';

/** Fewest columns a block gets (a narrower split is not worth a thread). */
export const MIN_BLOCK_COLUMNS = 16;
/** Fewest elements (nodes × columns) a block gets: below this a kernel call is not worth a hand-off to a thread (measured at p = 300, batch 64: 2 blocks were no faster than 1). */
export const MIN_BLOCK_ELEMENTS = 16_384;

/** How the B columns of a view's arrays are cut: the first column of each block, then B. */
export type ColumnLayout = readonly number[];

/**
 * The `B` columns of `[rows, B]` arrays in one block per thread (inner cuts at multiples of
 * 4, the kernels' SIMD width), each block at least {@link MIN_BLOCK_COLUMNS} columns and
 * {@link MIN_BLOCK_ELEMENTS} elements; one block for one thread.
 *
 * @example
 * columnLayout(130, 2, 3000); // [0, 64, 130]
 */
export function columnLayout(B: number, threads: number, rows: number): ColumnLayout {
  const count = Math.max(1, Math.min(threads, Math.floor(B / MIN_BLOCK_COLUMNS), Math.floor((rows * B) / MIN_BLOCK_ELEMENTS)));
  const starts = [0];
  for (let j = 1; j < count; j++) starts.push(Math.round((B * j) / count / 4) * 4);
  starts.push(B);
  return starts;
}

/** Rows [lo, hi) of a blocked array: one contiguous view per block, made once and used by every call. */
export interface BlockedRows {
  /** hi − lo. */
  readonly rows: number;
  /** The rows' `[rows, width_j]` view of every block j. */
  readonly parts: readonly Float32Array[];
}

/** An array argument of the view: a whole blocked `[n, B]` array (n = length / B), or rows of one. */
export type Blocked = Float32Array | BlockedRows;

/** An element-wise map the view applies block by block (a node activation's `hostApply`). */
export interface PointwiseMap {
  hostApply(x: Float32Array, out: Float32Array, kernels: SparseKernels): void;
}

/**
 * The kernels of {@link SparseKernels} the solves use, over blocked arrays. Arguments
 * follow SparseKernels' (sizes are read from the arrays); create with {@link blocked}.
 * Caveat: every blocked array must hold exactly n·B floats.
 */
export class BlockedKernels {
  /** Columns of every array (the batch). */
  readonly batch: number;
  /** Blocks. */
  readonly count: number;
  private readonly widths: number[];
  /** Dot products queued by {@link queueDotRows}. */
  private queued = 0;
  private readonly qa: Float32Array[] = [];
  private readonly qc: Float32Array[] = [];
  private readonly qout: Float32Array[] = [];

  constructor(
    /** The kernels every call goes to. */
    readonly kernels: SparseKernels,
    /** The column layout (pass it to {@link blocked} to lay out arrays the same way later). */
    readonly layout: ColumnLayout,
  ) {
    this.batch = layout[layout.length - 1];
    this.count = layout.length - 1;
    this.widths = layout.slice(1).map((end, j) => end - layout[j]);
  }

  /**
   * Rows [lo, hi) of the blocked array `a`, as an argument of the other methods.
   *
   * @example
   * const step = k.rows(x, s, e); k.apply(act, step, k.rows(fx, s, e));
   */
  rows(a: Float32Array, lo: number, hi: number): BlockedRows {
    const n = a.length / this.batch;
    const parts = this.widths.map((w, j) => a.subarray(n * this.layout[j] + lo * w, n * this.layout[j] + hi * w));
    return { rows: hi - lo, parts };
  }

  /** Where element (row, column b) of a blocked array of `rows` rows is. */
  index(rows: number, row: number, b: number): number {
    let j = 0;
    while (b >= this.layout[j + 1]) j++;
    const c0 = this.layout[j];
    return rows * c0 + row * this.widths[j] + (b - c0);
  }

  /**
   * `out += A·x` for every row of `out` (its row k is CSR row k of `ptr`, so pass
   * `ptr.subarray(s)` for rows from s); x is a whole array. With `start`, `out = start + A·x`
   * (start laid out as out; null: zeros), summed from start's values as
   * {@link SparseKernels.spmm} does, so out needs no copy of start first.
   */
  spmm(ptr: Int32Array, idx: Int32Array, w: Float32Array, x: Float32Array, out: Blocked, start?: Blocked | null): void {
    const k = this.kernels;
    const n = out instanceof Float32Array ? out.length / this.batch : out.rows;
    const from = (j: number) => (start == null ? start : this.part(start, j));
    if (this.count === 1) return k.spmm(ptr, idx, w, 0, n, x, this.part(out, 0), this.batch, from(0));
    k.together(() => {
      for (let j = 0; j < this.count; j++) k.spmm(ptr, idx, w, 0, n, this.part(x, j), this.part(out, j), this.widths[j], from(j));
    });
  }

  /** `out[k,b] += g[b]·a[k,b]` over every row ({@link SparseKernels.axpyRows}; g has length B). */
  axpyRows(g: Float32Array, a: Float32Array, out: Float32Array): void {
    const k = this.kernels;
    const n = a.length / this.batch;
    if (this.count === 1) return k.axpyRows(g, a, 0, n, this.batch, out);
    k.together(() => {
      for (let j = 0; j < this.count; j++) {
        const c0 = this.layout[j];
        k.axpyRows(g.subarray(c0, c0 + this.widths[j]), this.part(a, j), 0, n, this.widths[j], this.part(out, j));
      }
    });
  }

  /** `out = a + d∘t` element-wise ({@link SparseKernels.addMul}). */
  addMul(a: Blocked, d: Blocked, t: Blocked, out: Blocked): void {
    const k = this.kernels;
    if (this.count === 1) return k.addMul(this.part(a, 0), this.part(d, 0), this.part(t, 0), this.part(out, 0));
    k.together(() => {
      for (let j = 0; j < this.count; j++) k.addMul(this.part(a, j), this.part(d, j), this.part(t, j), this.part(out, j));
    });
  }

  /** {@link SparseKernels.andersonDiffs} over whole arrays. */
  andersonDiffs(
    g: Float32Array,
    x: Float32Array,
    prevG: Float32Array,
    prevR: Float32Array,
    r: Float32Array,
    dG: Float32Array | null,
    dR: Float32Array | null,
  ): void {
    const k = this.kernels;
    if (this.count === 1) return k.andersonDiffs(g, x, prevG, prevR, r, dG, dR);
    k.together(() => {
      for (let j = 0; j < this.count; j++) {
        const at = (a: Float32Array) => this.part(a, j);
        k.andersonDiffs(at(g), at(x), at(prevG), at(prevR), at(r), dG && at(dG), dR && at(dR));
      }
    });
  }

  /** `out = f(x)` element-wise, block by block (`f.hostApply` may call the kernels). */
  apply(f: PointwiseMap, x: Blocked, out: Blocked): void {
    const k = this.kernels;
    if (this.count === 1) return f.hostApply(this.part(x, 0), this.part(out, 0), k);
    k.together(() => {
      for (let j = 0; j < this.count; j++) f.hostApply(this.part(x, j), this.part(out, j), k);
    });
  }

  /** From row-major `[B, p]` `src` into the blocked node-major `out` ({@link SparseKernels.permuteIn}, p = perm.length). */
  permuteIn(src: Float32Array, perm: Int32Array, out: Float32Array, scale: Float32Array | null): void {
    const k = this.kernels;
    const p = perm.length;
    if (this.count === 1) return k.permuteIn(src, perm, this.batch, out, scale);
    k.together(() => {
      for (let j = 0; j < this.count; j++) {
        const c0 = this.layout[j],
          w = this.widths[j];
        k.permuteIn(src.subarray(c0 * p, (c0 + w) * p), perm, w, this.part(out, j), scale && this.part(scale, j));
      }
    });
  }

  /** The inverse of {@link permuteIn} (without scale), into row-major `out`. */
  permuteOut(src: Float32Array, perm: Int32Array, out: Float32Array): void {
    const k = this.kernels;
    const p = perm.length;
    if (this.count === 1) return k.permuteOut(src, perm, this.batch, out);
    k.together(() => {
      for (let j = 0; j < this.count; j++) {
        const c0 = this.layout[j],
          w = this.widths[j];
        k.permuteOut(this.part(src, j), perm, w, out.subarray(c0 * p, (c0 + w) * p));
      }
    });
  }

  /** Copies `from` into `to` (rows of a blocked array to a whole array of as many rows, or back). */
  copy(from: Blocked, to: Blocked): void {
    for (let j = 0; j < this.count; j++) this.part(to, j).set(this.part(from, j));
  }

  /**
   * Queues `out[b] += Σ_k a[k,b]·c[k,b]` over every row of `a` and `c` ({@link SparseKernels.dotRows};
   * out has length B); it runs at the next {@link runDotRows}.
   */
  queueDotRows(a: Float32Array, c: Float32Array, out: Float32Array): void {
    this.qa[this.queued] = a;
    this.qc[this.queued] = c;
    this.qout[this.queued++] = out;
  }

  /** Runs the queued dot products as one parallel batch (they must not write what another reads). */
  runDotRows(): void {
    if (this.kernels.threads === 1 && this.count === 1) this.dotsNow();
    else this.kernels.together(this.dotsNow);
  }

  /** Runs the queued dot products, one call per block. */
  private readonly dotsNow = (): void => {
    const k = this.kernels;
    const n = this.queued;
    this.queued = 0;
    for (let i = 0; i < n; i++) {
      const a = this.qa[i];
      const rows = a.length / this.batch;
      for (let j = 0; j < this.count; j++) {
        const c0 = this.layout[j],
          w = this.widths[j];
        const out = this.count === 1 ? this.qout[i] : this.qout[i].subarray(c0, c0 + w);
        k.dotRows(this.part(a, j), this.part(this.qc[i], j), 0, rows, w, out);
      }
    }
  };

  /**
   * `r2[b] += Σ_k (a[k,b] − c[k,b])²`, `c2[b] += Σ_k c[k,b]²` over every row of `a` and `c`
   * ({@link SparseKernels.residualNorms}; r2 and c2 have length B), one call per block in one
   * parallel batch.
   */
  residualNorms(a: Float32Array, c: Float32Array, r2: Float32Array, c2: Float32Array): void {
    const k = this.kernels;
    const rows = a.length / this.batch;
    if (this.count === 1) return k.residualNorms(a, c, 0, rows, this.batch, r2, c2);
    k.together(() => {
      for (let j = 0; j < this.count; j++) {
        const c0 = this.layout[j],
          w = this.widths[j];
        k.residualNorms(this.part(a, j), this.part(c, j), 0, rows, w, r2.subarray(c0, c0 + w), c2.subarray(c0, c0 + w));
      }
    });
  }

  /** Block j of a blocked argument: the `[n, width_j]` array of its columns. */
  private part(a: Blocked, j: number): Float32Array {
    if (!(a instanceof Float32Array)) return a.parts[j];
    if (this.count === 1) return a;
    const n = a.length / this.batch;
    return a.subarray(n * this.layout[j], n * this.layout[j + 1]);
  }
}

/**
 * The blocked view of `kernels` for arrays of B columns and up to `rows` rows: one block
 * per kernel thread ({@link columnLayout}), or the given `layout` (the one an earlier view
 * laid its arrays out with).
 *
 * @example
 * const k = blocked(sparseKernels(), batch, p);
 * const again = blocked(sparseKernels(), batch, p, k.layout);
 */
export function blocked(kernels: SparseKernels, B: number, rows: number, layout: ColumnLayout = columnLayout(B, kernels.threads, rows)): BlockedKernels {
  return new BlockedKernels(kernels, layout);
}
