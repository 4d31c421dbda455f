/**
 * The kernel exports of src/kernels/sparse.wat, each call split across a
 * {@link KernelTeam} when it is large enough to pay for the hand-off (about ten
 * microseconds). Every split gives the same bits as one thread: output rows (spmm,
 * axpyRows), columns (dotRows) or element ranges (the element-wise kernels) are
 * disjoint, each part is computed by the same code in the same order, and the cut
 * points are multiples of the kernels' SIMD chunk widths. `relativeStep`, a
 * reduction over the whole array, and `packV`, a 1.5 MB copy, stay on the caller.
 *
 * `together(calls)` records the kernel calls made inside `calls` and runs each whole,
 * as one chunk: consecutive calls of one kernel are the chunks of one team run. The
 * host engine gives it one call per column block of its arrays, so each thread keeps
 * working on the block it wrote last (in its own cache) instead of a slice of every
 * array (src/solvers/column_blocks.ts).
 */
import type { SparseExports } from '../wasm_kernels.js';
import type { GemmSink } from '../arena.js';
import type { KernelName, KernelTeam } from './team.js';
import { MAX_CHUNKS } from './protocol.js';

/** Default work per chunk (elements touched, or nonzeros × columns for spmm): a call with less stays on the caller. */
export const DEFAULT_MIN_SPLIT_WORK = 16_384;
/** Chunks per thread when the work allows: small enough that a worker that wakes late still takes a share. */
const CHUNKS_PER_THREAD = 4;

/** `[0, n)` cut into `t` ranges whose inner bounds are multiples of `align`: the t+1 bounds. */
function cuts(n: number, t: number, align: number): number[] {
  const out = [0];
  for (let i = 1; i < t; i++) out.push(Math.min(n, Math.floor((n * i) / t / align) * align));
  out.push(n);
  return out;
}

/** The split kernels, plus {@link SparseKernels.together} and the GEMM into a {@link GemmSink}. */
export interface SplitExports extends SparseExports {
  together(calls: () => void): void;
  /**
   * G = H·Vᵀ (from packed v) delivered to `sink`: row chunks the caller claims go through
   * `sink.rows`, the workers' chunks are written to `out` (row stride `ldo`) and handed to
   * `sink.take` by the caller as each finishes (see {@link KernelTeam.run}'s collect).
   */
  gemmNTInto(h: number, vp: number, p: number, B: number, out: number, ldo: number, sink: GemmSink): void;
}

/** Chunks per thread of a GEMM into a sink: finer than {@link CHUNKS_PER_THREAD}, so that the copy of the last worker chunk is short. */
const SINK_CHUNKS_PER_THREAD = 8;

/**
 * `local`'s kernels, split across `team` for instance `id` (the same module attached
 * over the same shared `memory` in every worker).
 *
 * @example
 * const raw = splitExports(local, team, team.attach(memory, module), memory);
 * raw.tanh(x, out, n); // split when n ≥ 2 × 16384
 */
export function splitExports(local: SparseExports, team: KernelTeam, id: number, memory: WebAssembly.Memory, minWork = DEFAULT_MIN_SPLIT_WORK): SplitExports {
  let ints = new Int32Array(memory.buffer);
  /** Calls recorded by `together` (null outside it): each becomes one chunk. */
  let pending: Array<{ name: KernelName; args: number[]; run: (a: number[]) => void }> | null = null;
  /** Runs the recorded calls: consecutive calls of one kernel as the chunks of one team run. */
  const flush = () => {
    const calls = pending ?? [];
    pending = null;
    for (let i = 0; i < calls.length;) {
      let j = i + 1;
      while (j < calls.length && j - i < MAX_CHUNKS && calls[j].name === calls[i].name) j++;
      if (j - i === 1) calls[i].run(calls[i].args);
      else
        team.run(
          id,
          calls[i].name,
          calls.slice(i, j).map((c) => c.args),
          calls[i].run,
        );
      i = j;
    }
  };
  /** Inside `together`: records a whole call (it runs later, as one chunk). Callers test `pending !== null` first, so no argument list is built outside it. */
  const record = (name: KernelName, args: number[], run: (a: number[]) => void) => void pending!.push({ name, args, run });
  /** spmm's row pointer k, read from the shared memory. */
  const ptrAt = (ptr: number, k: number) => {
    if (ints.buffer !== memory.buffer) ints = new Int32Array(memory.buffer);
    return ints[(ptr >> 2) + k];
  };
  /** Chunks to cut `work` into, at least 1 (1: run on the caller). */
  const chunksFor = (work: number) => (team.size === 1 ? 1 : Math.max(1, Math.min(team.size * CHUNKS_PER_THREAD, Math.floor(work / minWork))));
  /** Element-wise kernels: the same call on ranges of n; `args(lo, hi)` builds a part's arguments. */
  const elementwise = (
    name: 'tanh' | 'addMul' | 'andersonDiffs' | 'adamUpdate' | 'momentumUpdate',
    n: number,
    args: (lo: number, len: number) => number[],
    run: (a: number[]) => void,
  ) => {
    if (pending !== null) return record(name, args(0, n), run);
    const t = chunksFor(n);
    if (t === 1) return run(args(0, n));
    const b = cuts(n, t, 16);
    team.run(
      id,
      name,
      b.slice(0, -1).map((lo, i) => args(lo, b[i + 1] - lo)),
      run,
    );
  };
  return {
    spmm(ptr, idx, w, lo, hi, x, out, B) {
      const run = (a: number[]) => local.spmm(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]);
      if (pending !== null) return record('spmm', [ptr, idx, w, lo, hi, x, out, B], run);
      const nnz0 = ptrAt(ptr, lo);
      const nnz = ptrAt(ptr, hi) - nnz0;
      const t = Math.min(chunksFor(nnz * B), hi - lo);
      if (t <= 1) return run([ptr, idx, w, lo, hi, x, out, B]);
      // Row cuts with about the same number of nonzeros on each side (binary search on ptr).
      const rows = [lo];
      for (let i = 1; i < t; i++) {
        const target = nnz0 + (nnz * i) / t;
        let [a, b] = [rows[i - 1], hi];
        while (a < b) {
          const mid = (a + b) >> 1;
          if (ptrAt(ptr, mid) < target) a = mid + 1;
          else b = mid;
        }
        rows.push(a);
      }
      rows.push(hi);
      team.run(
        id,
        'spmm',
        rows.slice(0, -1).map((r0, i) => [ptr, idx, w, r0, rows[i + 1], x, out, B]),
        run,
      );
    },
    dotRows(a, c, lo, hi, B, out, nb) {
      const run = (v: number[]) => local.dotRows(v[0], v[1], v[2], v[3], v[4], v[5], v[6]);
      if (pending !== null) return record('dotRows', [a, c, lo, hi, B, out, nb], run);
      const t = Math.min(chunksFor((hi - lo) * nb), Math.ceil(nb / 8));
      if (t <= 1) return run([a, c, lo, hi, B, out, nb]);
      const b = cuts(nb, t, 8);
      team.run(
        id,
        'dotRows',
        b.slice(0, -1).map((c0, i) => [a + 4 * c0, c + 4 * c0, lo, hi, B, out + 4 * c0, b[i + 1] - c0]),
        run,
      );
    },
    axpyRows(g, a, lo, hi, B, out) {
      const run = (v: number[]) => local.axpyRows(v[0], v[1], v[2], v[3], v[4], v[5]);
      if (pending !== null) return record('axpyRows', [g, a, lo, hi, B, out], run);
      const t = Math.min(chunksFor((hi - lo) * B), hi - lo);
      if (t <= 1) return run([g, a, lo, hi, B, out]);
      const r = cuts(hi - lo, t, 1).map((k) => lo + k);
      team.run(
        id,
        'axpyRows',
        r.slice(0, -1).map((r0, i) => [g, a, r0, r[i + 1], B, out]),
        run,
      );
    },
    tanh(x, out, n) {
      elementwise(
        'tanh',
        n,
        (lo, len) => [x + 4 * lo, out + 4 * lo, len],
        (v) => local.tanh(v[0], v[1], v[2]),
      );
    },
    relativeStep(a, b, n) {
      flush();
      return local.relativeStep(a, b, n);
    },
    addMul(a, d, t, out, n) {
      elementwise(
        'addMul',
        n,
        (lo, len) => [a + 4 * lo, d + 4 * lo, t + 4 * lo, out + 4 * lo, len],
        (v) => local.addMul(v[0], v[1], v[2], v[3], v[4]),
      );
    },
    andersonDiffs(g, x, prevG, prevR, r, dG, dR, diffs, n) {
      const at = (p: number, lo: number) => (diffs ? p + 4 * lo : p);
      elementwise(
        'andersonDiffs',
        n,
        (lo, len) => [g + 4 * lo, x + 4 * lo, prevG + 4 * lo, prevR + 4 * lo, r + 4 * lo, at(dG, lo), at(dR, lo), diffs, len],
        (v) => local.andersonDiffs(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]),
      );
    },
    permuteIn(src, perm, lo, hi, p, B, out, scale) {
      const run = (a: number[]) => local.permuteIn(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]);
      if (pending !== null) return record('permuteIn', [src, perm, lo, hi, p, B, out, scale], run);
      const t = Math.min(chunksFor((hi - lo) * B), hi - lo);
      if (t <= 1) return run([src, perm, lo, hi, p, B, out, scale]);
      const r = cuts(hi - lo, t, 1).map((k) => lo + k);
      team.run(
        id,
        'permuteIn',
        r.slice(0, -1).map((r0, i) => [src, perm, r0, r[i + 1], p, B, out, scale]),
        run,
      );
    },
    permuteOut(src, perm, lo, hi, p, B, out) {
      const run = (a: number[]) => local.permuteOut(a[0], a[1], a[2], a[3], a[4], a[5], a[6]);
      if (pending !== null) return record('permuteOut', [src, perm, lo, hi, p, B, out], run);
      const t = Math.min(chunksFor((hi - lo) * B), hi - lo);
      if (t <= 1) return run([src, perm, lo, hi, p, B, out]);
      const r = cuts(hi - lo, t, 1).map((k) => lo + k);
      team.run(
        id,
        'permuteOut',
        r.slice(0, -1).map((r0, i) => [src, perm, r0, r[i + 1], p, B, out]),
        run,
      );
    },
    packV(v, p, B, vp) {
      flush();
      local.packV(v, p, B, vp);
    },
    gemmNT(h, vp, jLo, jHi, p, B, out, ldo) {
      const run = (a: number[]) => local.gemmNT(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]);
      if (pending !== null) return record('gemmNT', [h, vp, jLo, jHi, p, B, out, ldo], run);
      const rows = jHi - jLo;
      const t = Math.min(chunksFor(rows * p * B), Math.ceil(rows / 2));
      if (t <= 1) return run([h, vp, jLo, jHi, p, B, out, ldo]);
      // Row pairs, as the kernel's 2×16 blocks take them.
      const r = cuts(rows, t, 2).map((k) => jLo + k);
      team.run(
        id,
        'gemmNT',
        r.slice(0, -1).map((r0, i) => [h, vp, r0, r[i + 1], p, B, out, ldo]),
        run,
      );
    },
    gemmNTInto(h, vp, p, B, out, ldo, sink) {
      flush();
      const t =
        team.size === 1 ? 1 : Math.max(1, Math.min(team.size * SINK_CHUNKS_PER_THREAD, MAX_CHUNKS, Math.floor((p * p * B) / minWork), Math.ceil(p / 2)));
      if (t <= 1) return sink.rows(0, p);
      const r = cuts(p, t, 2);
      team.run(
        id,
        'gemmNT',
        r.slice(0, -1).map((r0, i) => [h, vp, r0, r[i + 1], p, B, out, ldo]),
        (a) => sink.rows(a[2], a[3]),
        (c) => sink.take(r[c], r[c + 1]),
      );
    },
    adamUpdate(w, g, m, v, n, b1, c1, b2, c2, d1, d2, eps, nlr, out) {
      elementwise(
        'adamUpdate',
        n,
        (lo, len) => [w + 4 * lo, g + 4 * lo, m + 4 * lo, v + 4 * lo, len, b1, c1, b2, c2, d1, d2, eps, nlr, out + 4 * lo],
        (a) => local.adamUpdate(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13]),
      );
    },
    momentumUpdate(w, g, a, n, mom, nlr, nesterov, out) {
      elementwise(
        'momentumUpdate',
        n,
        (lo, len) => [w + 4 * lo, g + 4 * lo, a + 4 * lo, len, mom, nlr, nesterov, out + 4 * lo],
        (v) => local.momentumUpdate(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]),
      );
    },
    together(calls) {
      if (pending !== null) return calls();
      pending = [];
      try {
        calls();
      } catch (err) {
        pending = null;
        throw err;
      }
      flush();
    },
  };
}
