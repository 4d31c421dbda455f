/**
 * The module-by-module forward solve and adjoint (backward) solve of the Neural
 * Module layer (DESIGN.md §1). All work happens in the permuted node order of the
 * schedule, where the active graph is block upper triangular, so every level is a
 * contiguous slice and a running accumulator carries the contributions of solved
 * levels to later ones (one matMul per step, no scatter, no gather gradient).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Topology } from '../graph/mask.js';
import type { Schedule, SolveStep } from '../graph/schedule.js';
import { getSolver } from '../solvers/registry.js';
import type { FixedPointMap, ResolvedSolverOptions, SolveStats } from '../solvers/types.js';
import type { NodeActivation } from './node_activation.js';

/** Device-side constants of a schedule (kept alive between re-partitions). */
export interface SolvePlan {
  schedule: Schedule;
  /** Permuted position → node, int32 [p]. */
  perm: tf.Tensor1D;
  /** Node → permuted position, int32 [p]. */
  invPerm: tf.Tensor1D;
  /**
   * Edge mask M (0/1, zero diagonal), [p, p]. Only the tensor engine needs it; the
   * layer builds it on the first tensor-engine call after a re-partition.
   */
  mask: tf.Tensor2D | null;
  /** Off-diagonal entries that receive gradient: 1 − I for 'graph', strict upper triangle for 'dag'. */
  gradMask: tf.Tensor2D;
  /** Identity [p, p]. */
  eye: tf.Tensor2D;
  /** The layer's topology ('dag' restricts the gradient to the strict upper triangle). */
  topology: Topology;
}

/** Aggregated stats of a multi-step solve: iterations summed, residual max. */
export function emptyStats(): SolveStats {
  return { iterations: 0, residual: 0, converged: true, fallbacks: 0 };
}

/** Adds one solve's stats to a running total (iterations summed, residual max). */
export function addStats(acc: SolveStats, s: SolveStats): void {
  acc.iterations += s.iterations;
  acc.residual = Math.max(acc.residual, Number.isNaN(s.residual) ? Infinity : s.residual);
  acc.converged = acc.converged && s.converged;
  acc.fallbacks += s.fallbacks;
}

const cols = (t: tf.Tensor2D, start: number, end: number) => tf.slice(t, [0, start], [-1, end - start]) as tf.Tensor2D;
const block = (a: tf.Tensor2D, r0: number, r1: number, c0: number, c1: number) =>
  tf.slice(a, [r0, c0], [r1 - r0, c1 - c0]) as tf.Tensor2D;

function solveStep(
  map: FixedPointMap,
  x0: tf.Tensor2D,
  step: SolveStep,
  options: ResolvedSolverOptions,
  stats: SolveStats,
): tf.Tensor2D {
  map.blocks = step.blocks;
  const sol = getSolver(options.method)(map, x0, options);
  addStats(stats, sol.stats);
  // The solver returns a kept tensor; hand back a scoped copy so enclosing tidies free it.
  const value = tf.clone(sol.value);
  sol.value.dispose();
  return value;
}

/**
 * Solves x = z + f(x)·A level by level. `ap` is the permuted active graph
 * P·(M∘W)·Pᵀ, `zp` the permuted node input. Returns the permuted solution.
 */
export function forwardSolve(
  zp: tf.Tensor2D,
  ap: tf.Tensor2D,
  plan: SolvePlan,
  act: NodeActivation,
  options: ResolvedSolverOptions,
  stats: SolveStats,
): tf.Tensor2D {
  const p = plan.schedule.p;
  let acc = zp; // c for positions [cursor, p)
  const parts: tf.Tensor2D[] = [];
  for (const step of plan.schedule.steps) {
    const { start, end } = step;
    const c = cols(acc, 0, end - start);
    let x: tf.Tensor2D;
    if (!step.iterative) {
      x = c;
    } else {
      const aSS = block(ap, start, end, start, end);
      const map: FixedPointMap = (v) => tf.add(c, tf.matMul(act.apply(v) as tf.Tensor2D, aSS));
      map.jacobian = (v) => {
        const fv = act.apply(v);
        return tf.mul(tf.expandDims(act.derivative(v, fv), 2), tf.expandDims(aSS, 0)) as tf.Tensor3D;
      };
      x = solveStep(map, c, step, options, stats);
    }
    parts.push(x);
    if (end < p) acc = tf.add(cols(acc, end - start, p - start), tf.matMul(act.apply(x) as tf.Tensor2D, block(ap, start, end, end, p)));
  }
  return parts.length === 1 ? parts[0] : (tf.concat(parts, 1) as tf.Tensor2D);
}

/**
 * Solves the adjoint system v = q + (v·Aᵀ)∘f'(x*) in reverse level order.
 * `qp` and `dp` are the permuted upstream term q = g∘f'(x*) and f'(x*).
 */
export function adjointSolve(
  qp: tf.Tensor2D,
  dp: tf.Tensor2D,
  ap: tf.Tensor2D,
  plan: SolvePlan,
  options: ResolvedSolverOptions,
  stats: SolveStats,
): tf.Tensor2D {
  let acc = qp; // d for positions [0, cursor)
  const parts: tf.Tensor2D[] = [];
  // Transposed once: tfjs-wasm's matMul with transposeB is ~10× slower (utils/matmul.ts).
  const apT = tf.transpose(ap) as tf.Tensor2D;
  const steps = plan.schedule.steps;
  for (let i = steps.length - 1; i >= 0; i--) {
    const step = steps[i];
    const { start, end } = step;
    const d = cols(acc, start, end);
    let v: tf.Tensor2D;
    if (!step.iterative) {
      v = d;
    } else {
      const aSST = block(apT, start, end, start, end);
      const fp = cols(dp, start, end);
      const map: FixedPointMap = (u) => tf.add(d, tf.mul(tf.matMul(u, aSST), fp));
      map.jacobian = () => {
        // J[b][j][k] = ∂h_k/∂v_j = A[k][j]·f'_k (broadcast over the batch).
        return tf.mul(tf.expandDims(aSST, 0), tf.expandDims(fp, 1)) as tf.Tensor3D;
      };
      v = solveStep(map, d, step, options, stats);
    }
    parts.unshift(v);
    if (start > 0) {
      const back = tf.mul(tf.matMul(v, block(apT, start, end, 0, start)), cols(dp, 0, start));
      acc = tf.add(cols(acc, 0, start), back);
    }
  }
  return parts.length === 1 ? parts[0] : (tf.concat(parts, 1) as tf.Tensor2D);
}
