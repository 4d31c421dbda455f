/**
 * Column blocks of the host engine's node-major arrays, for kernel threads. With
 * kernel threads, an `[n, B]` array (n nodes, B batch rows as columns) is stored as
 * `count` blocks one after the other: block j holds columns `[start_j, start_{j+1})` as
 * its own node-major `[n, width_j]` array, at offset `n·start_j`. Each kernel call of
 * a solve then runs as one call per block ({@link SparseKernels.together}), so a thread
 * keeps to the block it wrote in the call before (in its own core's cache) instead of
 * reading slices that the other core wrote. Measured on this project's 2-core VM: an
 * spmm + tanh pass at p = 3000, batch 128 takes 0.65 ms in 2 blocks against 0.91 ms
 * split by rows (1.36 ms on one thread).
 *
 * Every kernel of a solve treats columns independently (each batch row is its own
 * fixed point), so a blocked solve gives the same bits as the plain one. One block (one
 * thread, or a batch too small to split) is the plain layout.
 *
 * @example
 * const cb = columnBlocks(128, 2, 3000); // blocks of columns [0, 64) and [64, 128)
 * blockOf(x, n, cb, 1); // the [n, 64] node-major array of columns 64..127
 */
import type { SparseKernels } from '../kernels/arena.js';

/** Fewest columns a block gets (a narrower split is not worth a thread). */
export const MIN_BLOCK_COLUMNS = 16;
/** Fewest elements (nodes × columns) a block gets: below this a kernel call is not worth a hand-off to a thread (measured at p = 300, batch 64: 2 blocks were no faster than 1). */
export const MIN_BLOCK_ELEMENTS = 16_384;

/** How the columns of a batch are split into blocks. */
export interface ColumnBlocks {
  /** Columns in all (the batch). */
  readonly B: number;
  /** First column of each block, then B (length: blocks + 1). */
  readonly starts: readonly number[];
}

/**
 * The `B` columns of `[p, B]` arrays in one block per thread (inner cuts at multiples of
 * 4, the kernels' SIMD width), each block at least {@link MIN_BLOCK_COLUMNS} columns and
 * {@link MIN_BLOCK_ELEMENTS} elements; one block for one thread.
 *
 * @example
 * columnBlocks(130, 2, 3000).starts; // [0, 64, 130]
 */
export function columnBlocks(B: number, threads: number, p: number): ColumnBlocks {
  const count = Math.max(1, Math.min(threads, Math.floor(B / MIN_BLOCK_COLUMNS), Math.floor((p * B) / MIN_BLOCK_ELEMENTS)));
  const starts = [0];
  for (let j = 1; j < count; j++) starts.push(Math.round((B * j) / count / 4) * 4);
  starts.push(B);
  return { B, starts };
}

/** One block of a blocked `[n, B]` array: the `[n, width]` node-major array of its columns. */
export function blockOf(a: Float32Array, n: number, cb: ColumnBlocks, j: number): Float32Array {
  return a.subarray(n * cb.starts[j], n * cb.starts[j + 1]);
}

/** Rows `[s, e)` of block j of a blocked `[p, B]` array. */
export function blockRows(a: Float32Array, p: number, cb: ColumnBlocks, j: number, s: number, e: number): Float32Array {
  const w = cb.starts[j + 1] - cb.starts[j];
  return a.subarray(p * cb.starts[j] + s * w, p * cb.starts[j] + e * w);
}

/** The index of element (row, column b) of a blocked `[n, B]` array. */
export function blockedIndex(cb: ColumnBlocks, n: number, row: number, b: number): number {
  let j = 0;
  while (b >= cb.starts[j + 1]) j++;
  const c0 = cb.starts[j];
  return n * c0 + row * (cb.starts[j + 1] - c0) + (b - c0);
}

/**
 * Calls `fn(j, start, width)` for every block, the kernel calls it makes run as one
 * parallel batch ({@link SparseKernels.together}).
 */
export function eachBlock(kernels: SparseKernels, cb: ColumnBlocks, fn: (j: number, start: number, width: number) => void): void {
  if (cb.starts.length === 2) return fn(0, 0, cb.B);
  kernels.together(() => {
    for (let j = 0; j + 1 < cb.starts.length; j++) fn(j, cb.starts[j], cb.starts[j + 1] - cb.starts[j]);
  });
}

/** `out[b] += Σ_k a[k,b]·c[k,b]` over the n rows of blocked `a` and `c` ({@link SparseKernels.dotRows}). */
export function blockDotRows(kernels: SparseKernels, cb: ColumnBlocks, a: Float32Array, c: Float32Array, n: number, out: Float32Array): void {
  if (cb.starts.length === 2) return kernels.dotRows(a, c, 0, n, cb.B, out);
  eachBlock(kernels, cb, (j, s, w) => kernels.dotRows(blockOf(a, n, cb, j), blockOf(c, n, cb, j), 0, n, w, out.subarray(s, s + w)));
}

/** `out[k,b] += g[b]·a[k,b]` over the n rows of blocked `a` and `out` ({@link SparseKernels.axpyRows}). */
export function blockAxpyRows(kernels: SparseKernels, cb: ColumnBlocks, g: Float32Array, a: Float32Array, n: number, out: Float32Array): void {
  if (cb.starts.length === 2) return kernels.axpyRows(g, a, 0, n, cb.B, out);
  eachBlock(kernels, cb, (j, s, w) => kernels.axpyRows(g.subarray(s, s + w), blockOf(a, n, cb, j), 0, n, w, blockOf(out, n, cb, j)));
}

/** `out = a + d∘t` element-wise ({@link SparseKernels.addMul}), one call per block. */
export function blockAddMul(kernels: SparseKernels, cb: ColumnBlocks, a: Float32Array, d: Float32Array, t: Float32Array, out: Float32Array, n: number): void {
  if (cb.starts.length === 2) return kernels.addMul(a, d, t, out);
  eachBlock(kernels, cb, (j) => kernels.addMul(blockOf(a, n, cb, j), blockOf(d, n, cb, j), blockOf(t, n, cb, j), blockOf(out, n, cb, j)));
}

/** {@link SparseKernels.andersonDiffs} on blocked arrays of n rows, one call per block. */
export function blockAndersonDiffs(
  kernels: SparseKernels,
  cb: ColumnBlocks,
  n: number,
  arrays: [g: Float32Array, x: Float32Array, prevG: Float32Array, prevR: Float32Array, r: Float32Array],
  dG: Float32Array | null,
  dR: Float32Array | null,
): void {
  if (cb.starts.length === 2) return kernels.andersonDiffs(...arrays, dG, dR);
  eachBlock(kernels, cb, (j) => {
    const [g, x, prevG, prevR, r] = arrays.map((a) => blockOf(a, n, cb, j));
    kernels.andersonDiffs(g, x, prevG, prevR, r, dG && blockOf(dG, n, cb, j), dR && blockOf(dR, n, cb, j));
  });
}
