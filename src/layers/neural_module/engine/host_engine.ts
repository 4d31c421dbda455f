/**
 * The host engine: both implicit solves on typed arrays in one kernel arena, for
 * the CPU-resident backends (cpu, wasm). The same level-by-level schedule as the
 * tensor engine, but each iteration costs one sparse product over the step's kept
 * edges (no dense p×p matMul, no tensor op, no device sync). Arrays are permuted
 * and node-major, `[p, batch]`, so the kernels stream over the batch, in the layout of
 * the blocked kernel view (src/kernels/blocked.ts: with kernel threads, column blocks of
 * the batch, one per thread), with the same results. Per solve: one read of z and of the
 * kept weights, one upload of the result.
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapOffset, heapOffsetInt32, hostOutput, hostView, readView, uninitializedTensor } from '../../../tfjs_internals/host_view.js';
import { heapGather } from '../../../backend/wasm_heap.js';
import { arenaBytes, sparseKernels, type SparseKernels } from '../../../kernels/index.js';
import { blocked, columnLayout, type BlockedKernels, type ColumnLayout } from '../../../kernels/blocked.js';
import { offerThreads } from '../../../backend/default_threads.js';
import { hostWorkspaceArrays, hostWorkspaceSmall, type HostWorkspace } from '../../../solvers/host_types.js';
import { getHostSolver } from '../../../solvers/registry.js';
import type { ResolvedSolverOptions } from '../../../solvers/solver_types.js';
import type { HostCsr, HostPlan } from './host_plan.js';
import { addStats, emptyStats, mergeRowChunk, type LayerSolveStats } from './stats.js';
import type { EngineContext, SolveEngine } from './engine_types.js';
import { copyOf, release } from './host_buffers.js';

/** A plan's CSR copied into the arena with its current weights. */
interface ArenaCsr {
  ptr: Int32Array;
  idx: Int32Array;
  w: Float32Array;
}

function toArena(kernels: SparseKernels, c: HostCsr, values: Float32Array): ArenaCsr {
  const arena = kernels.arena;
  const ptr = arena.i32(c.ptr.length);
  ptr.set(c.ptr);
  const idx = arena.i32(c.idx.length);
  idx.set(c.idx);
  const edge = arena.i32(c.edge.length);
  edge.set(c.edge);
  const w = arena.f32(c.edge.length, false);
  kernels.gather(values, edge, w);
  return { ptr, idx, w };
}

/**
 * Upper bound of the kernel arena in bytes: a batch whose solve would need more is
 * solved in chunks of rows that fit (each row's answer is its own, so chunking
 * changes no result beyond the solver tolerance). A single row that needs more
 * than this gets an arena of its own size.
 */
export const HOST_ARENA_BUDGET = 64 * 2 ** 20;

/** The arena lengths (floats or ints) of one solve of `batch` rows. */
function arenaLengths(plan: HostPlan, batch: number, options: ResolvedSolverOptions, pair: [HostCsr, HostCsr]): number[] {
  const p = plan.schedule.p;
  const rows = plan.maxStepRows * batch;
  const csrSizes = pair.flatMap((c) => [c.ptr.length, c.idx.length, c.edge.length, c.edge.length]);
  return [
    p * batch,
    p * batch,
    p * batch,
    p,
    plan.gatherIndex.length,
    ...csrSizes,
    ...new Array<number>(hostWorkspaceArrays(options) + 1).fill(rows),
    ...new Array<number>(hostWorkspaceSmall(options)).fill(batch),
  ];
}

/** Rows per chunk so that one chunk's arena stays within {@link HOST_ARENA_BUDGET}. */
export function hostChunkRows(plan: HostPlan, options: ResolvedSolverOptions, batch: number): number {
  const pair: [HostCsr, HostCsr] = [plan.fwdExt, plan.fwdInt];
  const one = arenaBytes(arenaLengths(plan, 1, options, pair));
  const perRow = arenaBytes(arenaLengths(plan, 2, options, pair)) - one;
  return Math.max(1, Math.min(batch, 1 + Math.floor((HOST_ARENA_BUDGET - one) / Math.max(perRow, 1))));
}

/**
 * Sizes the arena for one solve and allocates everything in it: two `[p, batch]`
 * node-major arrays, the row-major batch and the schedule order, the two edge
 * structures with their weights, the solver's workspace and one step-sized scratch array.
 */
function prepare(kernels: SparseKernels, plan: HostPlan, batch: number, options: ResolvedSolverOptions, values: Float32Array, pair: [HostCsr, HostCsr]) {
  const p = plan.schedule.p;
  const rows = plan.maxStepRows * batch;
  const count = hostWorkspaceArrays(options);
  const nSmall = hostWorkspaceSmall(options);
  kernels.arena.reset(arenaBytes(arenaLengths(plan, batch, options, pair)));
  const arena = kernels.arena;
  // Every solve array is written before it is read (the solvers' too), so none is zero-filled:
  // at p = 3000, batch 128 that is ~40 MB of memset per solve (as much as the sparse products).
  const full = [arena.f32(p * batch, false), arena.f32(p * batch, false)];
  // The batch rows in the tensors' row-major layout (input, then output), and the schedule order.
  const rowMajor = arena.f32(p * batch, false);
  const perm = arena.i32(p);
  perm.set(plan.schedule.perm);
  // The kept weights in the arena, then each structure's weights gathered from them by a kernel.
  const kept = arena.f32(values.length, false);
  kept.set(values);
  const [ext, int] = pair.map((c) => toArena(kernels, c, kept));
  const arrays = Array.from({ length: count }, () => arena.f32(rows, false));
  const scratch = arena.f32(rows, false);
  const small = Array.from({ length: nSmall }, () => arena.f32(batch));
  return { full, rowMajor, perm, ext, int, arrays, scratch, small };
}

function workspace(kernels: BlockedKernels, arrays: Float32Array[], small: Float32Array[], n: number): HostWorkspace {
  const batch = kernels.batch;
  return { kernels, n, batch, arrays: arrays.map((a) => a.subarray(0, n * batch)), small };
}

/**
 * What the adjoint needs from the forward solve: permuted node-major x* and f(x*) (in
 * `layout`, arrays of the reuse pool, handed back by `release`), and the kept weights.
 */
interface HostState {
  x: Float32Array;
  fx: Float32Array;
  /** Set once `release` has handed x, fx and values back to the pool (after the adjoint). */
  released: boolean;
  values: Float32Array;
  layout: ColumnLayout;
}

/** What the solve of one row chunk works with besides its input and output. */
interface ChunkSolve {
  /** The chunk's rows. */
  batch: number;
  plan: HostPlan;
  ctx: EngineContext;
  kernels: SparseKernels;
  /** Where the chunk's solver statistics go. */
  stats: LayerSolveStats;
  /** Set by the solve: the chunk's first row holding NaN or ±Infinity in its result, or −1. */
  badRow: number;
}

/**
 * Solves x = z + f(x)·A. `z` is `[batch, p]` row-major in node order (bias included);
 * h = f(x*) goes into `out` (the same layout).
 */
function forwardSolve(z: Float32Array, values: Float32Array, run: ChunkSolve, out: Float32Array): HostState {
  const { batch, plan, ctx, kernels, stats } = run;
  const { steps, p } = plan.schedule;
  const { act, solver: options } = ctx;
  const k = blocked(kernels, batch, p);
  const { full, rowMajor, perm, ext, int, arrays, scratch: c, small } = prepare(kernels, plan, batch, options, values, [plan.fwdExt, plan.fwdInt]);
  const [X, F] = full;
  rowMajor.set(z);
  k.permuteIn(rowMajor, perm, X, null);
  const solve = getHostSolver(options.method);
  for (const step of steps) {
    const { start: s, end: e } = step;
    const n = e - s;
    const xs = k.rows(X, s, e),
      fs = k.rows(F, s, e);
    k.spmm(ext.ptr.subarray(s), ext.idx, ext.w, F, xs);
    if (step.iterative) {
      const cs = c.subarray(0, n * batch);
      k.copy(xs, cs);
      const intPtr = int.ptr.subarray(s);
      // fxOut = cs + A·f(x): the sums start from cs itself (no copy of cs into fxOut first).
      const map = (x: Float32Array, fxOut: Float32Array) => {
        k.apply(act, x, fs);
        k.spmm(intPtr, int.idx, int.w, F, fxOut, cs);
      };
      const sol = solve(map, cs, options, workspace(k, arrays, small, n));
      addStats(stats, sol.stats, step.level);
      k.copy(sol.value, xs);
    }
    k.apply(act, xs, fs);
  }
  k.permuteOut(F, perm, rowMajor);
  run.badRow = firstBadRow(kernels, rowMajor, batch, p);
  out.set(rowMajor);
  return { x: copyOf(X), fx: copyOf(F), released: false, values, layout: k.layout };
}

/** Solves v = q + (v·Aᵀ)∘f'(x*), q = g∘f'(x*), in reverse step order; v goes into `out` (row-major `[batch, p]`, node order). */
function adjointSolve(dy: Float32Array, fwd: HostState, run: ChunkSolve, out: Float32Array): void {
  const { batch, plan, ctx, kernels, stats } = run;
  const { steps, p } = plan.schedule;
  const { act, backwardSolver: options } = ctx;
  const k = blocked(kernels, batch, p, fwd.layout);
  const { full, rowMajor, perm, ext, int, arrays, scratch: d, small } = prepare(kernels, plan, batch, options, fwd.values, [plan.adjExt, plan.adjInt]);
  const [V, D] = full;
  // f'(x*) into the arena's D (from a copy of f(x*) there, so a kernel may compute it).
  D.set(fwd.fx);
  act.hostDerivative(fwd.x, D, D, kernels);
  rowMajor.set(dy);
  k.permuteIn(rowMajor, perm, V, D);
  const solve = getHostSolver(options.method);
  for (let i = steps.length - 1; i >= 0; i--) {
    const { start: s, end: e, iterative, level } = steps[i];
    const n = e - s;
    const vs = k.rows(V, s, e),
      ds = k.rows(D, s, e);
    // The step rows of V hold q; add f'·(contributions of the later, solved steps).
    const t = arrays[0].subarray(0, n * batch);
    k.spmm(ext.ptr.subarray(s), ext.idx, ext.w, V, t, null);
    k.addMul(vs, ds, t, vs);
    if (!iterative) continue;
    const dd = d.subarray(0, n * batch);
    k.copy(vs, dd);
    const intPtr = int.ptr.subarray(s);
    // A step of every node (one module, the common case at large p): the workspace has V's
    // layout, so the product reads the iterate where it is instead of a copy in V.
    const whole = n === p;
    const map = (v: Float32Array, vOut: Float32Array) => {
      if (!whole) k.copy(v, vs);
      // vOut = A·v, the sums started from zero (no fill of vOut first).
      k.spmm(intPtr, int.idx, int.w, whole ? v : V, vOut, null);
      k.addMul(dd, ds, vOut, vOut);
    };
    const sol = solve(map, dd, options, workspace(k, arrays, small, n));
    addStats(stats, sol.stats, level);
    k.copy(sol.value, vs);
  }
  k.permuteOut(V, perm, rowMajor);
  run.badRow = firstBadRow(kernels, rowMajor, batch, p);
  out.set(rowMajor);
}

/**
 * The first of `rows` rows of row-major `a` (`[rows, p]`, in the kernels' arena) holding
 * NaN or ±Infinity, or −1 (v − v is 0 exactly for finite v). With the wasm kernels one
 * kernel pass answers whether there is such a row: relativeStep(a, a) is 0 when every
 * element is finite and NaN otherwise (its sums are f64, where the squares of f32 values
 * cannot overflow); the rows are scanned only then. The JS kernels scan at once.
 */
function firstBadRow(kernels: SparseKernels, a: Float32Array, rows: number, p: number): number {
  if (kernels.name !== 'js' && kernels.relativeStep(a, a) === 0) return -1;
  for (let b = 0; b < rows; b++) {
    const o = b * p;
    for (let j = 0; j < p; j++) {
      const v = a[o + j];
      if (v - v !== 0) return b;
    }
  }
  return -1;
}

/** Row chunks [b0, b1) of a batch. */
function chunks(batch: number, size: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let b0 = 0; b0 < batch; b0 += size) out.push([b0, Math.min(batch, b0 + size)]);
  return out;
}

/** Fewest kept weights read with the heap gather: below this the JS loop's reads are few and the tensor it needs costs more. */
const HEAP_GATHER_MIN = 16_384;

/**
 * The kept weights (and the biases) of `w`, at `index`, in an array of the reuse pool: on
 * wasm gathered where they are by the kernels' gather over tfjs' memory (the JS loop's
 * scattered reads of a cold p² array take about twice as long), else read from the
 * backend's store where it is on the host, else with tf.gather.
 */
function keptValues(w: tf.Tensor2D, indexTensor: tf.Tensor1D, index: Int32Array): Float32Array {
  const gather = index.length >= HEAP_GATHER_MIN ? heapGather() : null;
  if (gather !== null && indexTensor.size === index.length) {
    const out = uninitializedTensor([index.length]);
    const [wAt, iAt, oAt] = [heapOffset(w), heapOffsetInt32(indexTensor), heapOffset(out)];
    if (wAt !== null && iAt !== null && oAt !== null) {
      gather(wAt, iAt, index.length, oAt);
      const values = copyOf(hostView(out)!);
      out.dispose();
      return values;
    }
    out.dispose();
  }
  const view = hostView(w);
  if (view !== null) {
    const out = new Float32Array(index.length);
    for (let i = 0; i < index.length; i++) out[i] = view[index[i]];
    return out;
  }
  const gathered = tf.gather(tf.reshape(w, [-1]), indexTensor);
  const values = gathered.dataSync().slice() as Float32Array;
  gathered.dispose();
  return values;
}

export const hostEngine: SolveEngine = {
  name: 'host',
  forward(z: tf.Tensor2D, w: tf.Tensor2D, ctx: EngineContext) {
    const { plan, gatherIndex } = ctx.partition.host();
    const p = plan.schedule.p;
    const batch = z.shape[0];
    // The output tensor first (tfjs allocating moves the heap views taken below).
    const target = hostOutput([batch, p]);
    try {
      const values = keptValues(w, gatherIndex, plan.gatherIndex);
      const zs = readView(z);
      const stats = emptyStats();
      const out = target?.view() ?? new Float32Array(batch * p);
      const states: Array<{ b0: number; rows: number; state: HostState }> = [];
      const size = Math.min(hostChunkRows(plan, ctx.solver, batch), hostChunkRows(plan, ctx.backwardSolver, batch));
      // In Node, kernel threads start by themselves once a solve would be cut into column blocks.
      offerThreads((n) => columnLayout(size, n, p).length > 2);
      let badRow = -1;
      for (const [b0, b1] of chunks(batch, size)) {
        const part = emptyStats();
        const run = { batch: b1 - b0, plan, ctx, kernels: sparseKernels(), stats: part, badRow: -1 };
        const state = forwardSolve(zs.subarray(b0 * p, b1 * p), values, run, out.subarray(b0 * p, b1 * p));
        mergeRowChunk(stats, part, b0);
        states.push({ b0, rows: b1 - b0, state });
        if (badRow < 0 && run.badRow >= 0) badRow = b0 + run.badRow;
      }
      const h = (target?.tensor as tf.Tensor2D | undefined) ?? tf.tensor2d(out, [batch, p]);
      return { h, stats, badRow, saved: [], state: states };
    } catch (err) {
      target?.tensor.dispose();
      throw err;
    }
  },
  adjoint(dy: tf.Tensor2D, _saved: tf.Tensor[], state: unknown, ctx: EngineContext) {
    const { plan } = ctx.partition.host();
    const p = plan.schedule.p;
    const batch = dy.shape[0];
    const saved = state as Array<{ b0: number; rows: number; state: HostState }>;
    if (saved.some((c) => c.state.released)) {
      throw new Error('NeuralModule host engine: an adjoint solve was asked for a forward solve whose saved state was already released after its adjoint.');
    }
    const target = hostOutput([batch, p]);
    try {
      const dys = readView(dy);
      const stats = emptyStats();
      const out = target?.view() ?? new Float32Array(batch * p);
      let badRow = -1;
      for (const c of saved) {
        const part = emptyStats();
        const rows = out.subarray(c.b0 * p, (c.b0 + c.rows) * p);
        const run = { batch: c.rows, plan, ctx, kernels: sparseKernels(), stats: part, badRow: -1 };
        adjointSolve(dys.subarray(c.b0 * p, (c.b0 + c.rows) * p), c.state, run, rows);
        mergeRowChunk(stats, part, c.b0);
        if (badRow < 0 && run.badRow >= 0) badRow = c.b0 + run.badRow;
      }
      return { v: (target?.tensor as tf.Tensor2D | undefined) ?? tf.tensor2d(out, [batch, p]), stats, badRow };
    } catch (err) {
      target?.tensor.dispose();
      throw err;
    }
  },
  release(state: unknown) {
    for (const c of state as Array<{ state: HostState }>) {
      if (c.state.released) continue;
      c.state.released = true;
      release(c.state.x, c.state.fx, c.state.values);
    }
  },
};
