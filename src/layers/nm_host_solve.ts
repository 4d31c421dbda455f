/**
 * The host engine's forward and adjoint solves (DESIGN.md §1) on typed arrays in
 * one kernel arena: the same level-by-level schedule as the tensor engine
 * (nm_solve.ts), but each iteration costs one sparse product over the step's kept
 * edges (no dense p×p matMul, no tensor op, no device sync). Arrays are permuted
 * and node-major, `[p, batch]`, so the kernels stream over the batch.
 */
import { arenaBytes, type KernelArena, type SparseKernels } from '../kernels/index.js';
import { hostWorkspaceArrays, type HostSolver, type HostWorkspace } from '../solvers/host_types.js';
import { getHostSolver } from '../solvers/registry.js';
import type { ResolvedSolverOptions, SolveStats } from '../solvers/types.js';
import type { HostCsr, HostPlan } from './nm_host_plan.js';
import { addStats } from './nm_solve.js';
import type { NodeActivation } from './node_activation.js';

/** A plan's CSR copied into the arena with its current weights. */
interface ArenaCsr {
  ptr: Int32Array;
  idx: Int32Array;
  w: Float32Array;
}

function toArena(arena: KernelArena, c: HostCsr, values: Float32Array): ArenaCsr {
  const ptr = arena.i32(c.ptr.length);
  ptr.set(c.ptr);
  const idx = arena.i32(c.idx.length);
  idx.set(c.idx);
  const w = arena.f32(c.edge.length);
  for (let i = 0; i < c.edge.length; i++) w[i] = values[c.edge[i]];
  return { ptr, idx, w };
}

/**
 * Sizes the arena for one solve and allocates everything in it: two `[p, batch]`
 * arrays, the two edge structures with their weights, the solver's workspace and
 * one step-sized scratch array.
 */
function prepare(kernels: SparseKernels, plan: HostPlan, batch: number, options: ResolvedSolverOptions, values: Float32Array, pair: [HostCsr, HostCsr]) {
  const p = plan.schedule.p;
  const rows = plan.maxStepRows * batch;
  const count = hostWorkspaceArrays(options);
  const nSmall = options.memory + 2;
  const csrSizes = pair.flatMap((c) => [c.ptr.length, c.idx.length, c.edge.length]);
  kernels.arena.reset(arenaBytes([p * batch, p * batch, ...csrSizes, ...new Array<number>(count + 1).fill(rows), ...new Array<number>(nSmall).fill(batch)]));
  const arena = kernels.arena;
  const full = [arena.f32(p * batch), arena.f32(p * batch)];
  const [ext, int] = pair.map((c) => toArena(arena, c, values));
  const arrays = Array.from({ length: count }, () => arena.f32(rows));
  const scratch = arena.f32(rows);
  const small = Array.from({ length: nSmall }, () => arena.f32(batch));
  return { full, ext, int, arrays, scratch, small };
}

function workspace(kernels: SparseKernels, arrays: Float32Array[], small: Float32Array[], n: number, batch: number): HostWorkspace {
  return { kernels, n, batch, arrays: arrays.map((a) => a.subarray(0, n * batch)), small };
}

/** The permuted node-major forward solution X (pre-activation) and F = f(X), as plain arrays. */
export interface HostForward {
  x: Float32Array;
  fx: Float32Array;
}

/**
 * Solves x = z + f(x)·A. `z` is the node input `[batch, p]` (row-major, original
 * node order, bias included), `values` the gathered kept-edge weights.
 */
export function hostForwardSolve(
  z: Float32Array,
  batch: number,
  values: Float32Array,
  plan: HostPlan,
  act: NodeActivation,
  options: ResolvedSolverOptions,
  kernels: SparseKernels,
  stats: SolveStats,
): HostForward {
  const { p, perm, steps } = plan.schedule;
  const B = batch;
  const { full, ext, int, arrays, scratch: c, small } = prepare(kernels, plan, B, options, values, [plan.fwdExt, plan.fwdInt]);
  const [X, F] = full;
  for (let q = 0; q < p; q++) {
    const node = perm[q];
    for (let b = 0; b < B; b++) X[q * B + b] = z[b * p + node];
  }
  const solve: HostSolver = getHostSolver(options.method);
  for (const step of steps) {
    const { start: s, end: e } = step;
    const n = e - s;
    const xs = X.subarray(s * B, e * B);
    const fs = F.subarray(s * B, e * B);
    kernels.spmm(ext.ptr.subarray(s), ext.idx, ext.w, 0, n, F, xs, B);
    if (step.iterative) {
      const cs = c.subarray(0, n * B);
      cs.set(xs);
      const intPtr = int.ptr.subarray(s);
      const map = (x: Float32Array, out: Float32Array) => {
        act.hostApply(x, fs, kernels);
        out.set(cs);
        kernels.spmm(intPtr, int.idx, int.w, 0, n, F, out, B);
      };
      const sol = solve(map, cs, options, workspace(kernels, arrays, small, n, B));
      addStats(stats, sol.stats);
      xs.set(sol.value);
    }
    act.hostApply(xs, fs, kernels);
  }
  return { x: X.slice(), fx: F.slice() };
}

/**
 * Solves the adjoint v = q + (v·Aᵀ)∘f'(x*), q = g∘f'(x*), in reverse step order.
 * `dy` is the upstream gradient `[batch, p]` (row-major, original order); returns
 * the permuted node-major v.
 */
export function hostAdjointSolve(
  dy: Float32Array,
  batch: number,
  fwd: HostForward,
  values: Float32Array,
  plan: HostPlan,
  act: NodeActivation,
  options: ResolvedSolverOptions,
  kernels: SparseKernels,
  stats: SolveStats,
): Float32Array {
  const { p, perm, steps } = plan.schedule;
  const B = batch;
  const { full, ext, int, arrays, scratch: d, small } = prepare(kernels, plan, B, options, values, [plan.adjExt, plan.adjInt]);
  const [V, D] = full;
  act.hostDerivative(fwd.x, fwd.fx, D);
  for (let q = 0; q < p; q++) {
    const node = perm[q];
    for (let b = 0; b < B; b++) V[q * B + b] = dy[b * p + node] * D[q * B + b];
  }
  const solve: HostSolver = getHostSolver(options.method);
  for (let i = steps.length - 1; i >= 0; i--) {
    const { start: s, end: e, iterative } = steps[i];
    const n = e - s;
    const vs = V.subarray(s * B, e * B);
    const ds = D.subarray(s * B, e * B);
    // vs holds q; add f'·(contributions of the later, solved steps).
    const t = arrays[0].subarray(0, n * B);
    t.fill(0);
    kernels.spmm(ext.ptr.subarray(s), ext.idx, ext.w, 0, n, V, t, B);
    kernels.addMul(vs, ds, t, vs);
    if (!iterative) continue;
    const dd = d.subarray(0, n * B);
    dd.set(vs);
    const intPtr = int.ptr.subarray(s);
    const map = (v: Float32Array, out: Float32Array) => {
      vs.set(v);
      out.fill(0);
      kernels.spmm(intPtr, int.idx, int.w, 0, n, V, out, B);
      kernels.addMul(dd, ds, out, out);
    };
    const sol = solve(map, dd, options, workspace(kernels, arrays, small, n, B));
    addStats(stats, sol.stats);
    vs.set(sol.value);
  }
  return V.slice();
}
