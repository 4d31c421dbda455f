/**
 * The tensor engine: the module-by-module forward and adjoint solves as tfjs ops on
 * the active backend (any solver, any backend; webgl keeps the data on the GPU).
 * All work happens in the permuted node order of the schedule, where the active
 * graph is block upper triangular, so every step is a contiguous slice and a
 * running accumulator carries the contributions of solved steps to later ones
 * (one matMul per step, no scatter, no gather gradient).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { SolveStep } from '../../../graph/schedule.js';
import { getSolver } from '../../../solvers/registry.js';
import type { FixedPointMap, ResolvedSolverOptions } from '../../../solvers/solver_types.js';
import type { NodeActivation } from '../../../activations/index.js';
import { addStats, emptyStats, type LayerSolveStats } from './stats.js';
import type { EngineContext, SolveEngine } from './engine_types.js';

const cols = (t: tf.Tensor2D, start: number, end: number) => tf.slice(t, [0, start], [-1, end - start]) as tf.Tensor2D;
const block = (a: tf.Tensor2D, r0: number, r1: number, c0: number, c1: number) => tf.slice(a, [r0, c0], [r1 - r0, c1 - c0]) as tf.Tensor2D;

function solveStep(map: FixedPointMap, x0: tf.Tensor2D, step: SolveStep, options: ResolvedSolverOptions, stats: LayerSolveStats): tf.Tensor2D {
  map.blocks = step.blocks;
  const sol = getSolver(options.method)(map, x0, options);
  addStats(stats, sol.stats, step.level);
  // The solver returns a kept tensor; hand back a scoped copy so enclosing tidies free it.
  const value = tf.clone(sol.value);
  sol.value.dispose();
  return value;
}

/** Solves x = z + f(x)·A step by step; `ap` is the permuted active graph P·(M∘W)·Pᵀ, `zp` the permuted input. */
function forwardSolve(
  zp: tf.Tensor2D,
  ap: tf.Tensor2D,
  steps: SolveStep[],
  act: NodeActivation,
  options: ResolvedSolverOptions,
  stats: LayerSolveStats,
): tf.Tensor2D {
  const p = ap.shape[0];
  let acc = zp; // c for positions [cursor, p)
  const parts: tf.Tensor2D[] = [];
  for (const step of steps) {
    const { start, end } = step;
    const c = cols(acc, 0, end - start);
    let x = c;
    if (step.iterative) {
      const aSS = block(ap, start, end, start, end);
      const map: FixedPointMap = (v) => tf.add(c, tf.matMul(act.apply(v) as tf.Tensor2D, aSS));
      map.jacobian = (v) => tf.mul(tf.expandDims(act.derivative(v, act.apply(v)), 2), tf.expandDims(aSS, 0)) as tf.Tensor3D;
      x = solveStep(map, c, step, options, stats);
    }
    parts.push(x);
    if (end < p) acc = tf.add(cols(acc, end - start, p - start), tf.matMul(act.apply(x) as tf.Tensor2D, block(ap, start, end, end, p)));
  }
  return parts.length === 1 ? parts[0] : (tf.concat(parts, 1) as tf.Tensor2D);
}

/** Solves v = q + (v·Aᵀ)∘f'(x*) in reverse step order; `qp`, `dp` are the permuted q = g∘f'(x*) and f'(x*). */
function adjointSolve(
  qp: tf.Tensor2D,
  dp: tf.Tensor2D,
  ap: tf.Tensor2D,
  steps: SolveStep[],
  options: ResolvedSolverOptions,
  stats: LayerSolveStats,
): tf.Tensor2D {
  let acc = qp; // d for positions [0, cursor)
  const parts: tf.Tensor2D[] = [];
  // Transposed once: tfjs-wasm's matMul with transposeB is ~10× slower (utils/matmul.ts).
  const apT = tf.transpose(ap) as tf.Tensor2D;
  for (let i = steps.length - 1; i >= 0; i--) {
    const step = steps[i];
    const { start, end } = step;
    const d = cols(acc, start, end);
    let v = d;
    if (step.iterative) {
      const aSST = block(apT, start, end, start, end);
      const fp = cols(dp, start, end);
      const map: FixedPointMap = (u) => tf.add(d, tf.mul(tf.matMul(u, aSST), fp));
      // J[b][j][k] = ∂h_k/∂v_j = A[k][j]·f'_k (broadcast over the batch).
      map.jacobian = () => tf.mul(tf.expandDims(aSST, 0), tf.expandDims(fp, 1)) as tf.Tensor3D;
      v = solveStep(map, d, step, options, stats);
    }
    parts.unshift(v);
    if (start > 0) acc = tf.add(cols(acc, 0, start), tf.mul(tf.matMul(v, block(apT, start, end, 0, start)), cols(dp, 0, start)));
  }
  return parts.length === 1 ? parts[0] : (tf.concat(parts, 1) as tf.Tensor2D);
}

/** First row of `t` holding NaN/Inf, or −1 (one device read of `batch` values). */
export function firstBadRow(t: tf.Tensor2D): number {
  const bad = tf.tidy(() => tf.sum(tf.cast(tf.logicalNot(tf.isFinite(t)), 'int32'), 1).dataSync());
  return bad.findIndex((b) => b > 0);
}

/**
 * `t` with its `axis` reordered by `order` (a gather), or `t` itself when the partition
 * keeps every node in place (a dense graph is one module in node order): the gathers would
 * only copy.
 */
function reorder(t: tf.Tensor2D, order: tf.Tensor1D, axis: 0 | 1, ctx: EngineContext): tf.Tensor2D {
  return ctx.partition.identityOrder ? t : (tf.gather(t, order, axis) as tf.Tensor2D);
}

export const tensorEngine: SolveEngine = {
  name: 'tensor',
  forward(z: tf.Tensor2D, w: tf.Tensor2D, ctx: EngineContext) {
    const { perm, invPerm, mask } = ctx.partition.tensors();
    const steps = ctx.partition.schedule.steps;
    const ap = reorder(reorder(tf.mul(w, mask), perm, 0, ctx), perm, 1, ctx);
    const stats = emptyStats();
    const xp = forwardSolve(reorder(z, perm, 1, ctx), ap, steps, ctx.act, ctx.solver, stats);
    const x = reorder(xp, invPerm, 1, ctx);
    const h = ctx.act.apply(x) as tf.Tensor2D;
    return { h, stats, badRow: firstBadRow(h), saved: [x, h, ap] };
  },
  adjoint(dy: tf.Tensor2D, saved: tf.Tensor[], _state: unknown, ctx: EngineContext) {
    const [x, h, ap] = saved as tf.Tensor2D[];
    const { perm, invPerm } = ctx.partition.tensors();
    const fp = ctx.act.derivative(x, h) as tf.Tensor2D;
    const q = tf.mul(dy, fp) as tf.Tensor2D;
    const stats = emptyStats();
    const vp = adjointSolve(reorder(q, perm, 1, ctx), reorder(fp, perm, 1, ctx), ap, ctx.partition.schedule.steps, ctx.backwardSolver, stats);
    const v = reorder(vp, invPerm, 1, ctx);
    return { v, stats, badRow: firstBadRow(v) };
  },
};
