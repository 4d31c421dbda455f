/**
 * The differentiable Neural Module operation: a `tf.customGrad` whose forward runs
 * the module-by-module solve and whose gradient is the closed-form adjoint
 * (DESIGN.md §1). The weights enter as inputs (customGrad ignores captured
 * variables), the edge mask is applied inside the forward, and the returned graph
 * gradient is dense: every off-diagonal edge, masked or not, gets Σ_b f(x_j)·v_k.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ResolvedSolverOptions, SolveStats } from '../solvers/types.js';
import { NonFiniteError } from '../utils/errors.js';
import { matMulT } from '../utils/matmul.js';
import { adjointSolve, emptyStats, forwardSolve, type SolvePlan } from './nm_solve.js';
import type { NodeActivation } from './node_activation.js';

/** What the operation needs from its layer. */
export interface NeuralModuleOpContext {
  plan: SolvePlan;
  act: NodeActivation;
  solver: ResolvedSolverOptions;
  backwardSolver: ResolvedSolverOptions;
  /** Records stats; throws or warns on non-convergence as the layer is configured. */
  report: (kind: 'forward' | 'backward', stats: SolveStats) => void;
  /** Layer description for error messages. */
  where: string;
}

/** The error for a non-finite solve result (both engines): names the layer, the result and the first bad row. */
export function nonFiniteSolution(ctx: NeuralModuleOpContext, what: string, row: number, batch: number): NonFiniteError {
  return new NonFiniteError(
    `${ctx.where}: the ${what} contains NaN/Inf (first at row ${row} of a batch of ${batch}); nothing was written back. ` +
      'The graph weights are probably non-finite or far from contractive: lower the learning rate, or set contractionBound.',
  );
}

/** Throws a NonFiniteError naming the layer unless every entry of `t` is finite. */
function assertFinite(t: tf.Tensor, ctx: NeuralModuleOpContext, what: string): void {
  const bad = tf.tidy(() => tf.sum(tf.cast(tf.logicalNot(tf.isFinite(t)), 'int32'), 1).dataSync());
  const row = bad.findIndex((b) => b > 0);
  if (row >= 0) throw nonFiniteSolution(ctx, what, row, t.shape[0]);
}

/**
 * The dense graph gradient: Σ_b f(x_j)·v_k on every off-diagonal edge that
 * receives gradient (masked or not, straight-through), Σ_b v_k on the diagonal
 * (the bias). For 'graph' topology the diagonal is corrected in place of a full
 * p×p mask product: two p×p passes after the matMul instead of three.
 */
export function graphGradient(h: tf.Tensor2D, v: tf.Tensor2D, plan: SolvePlan): tf.Tensor2D {
  const g = matMulT(h, v, true, false);
  if (plan.topology === 'dag') return tf.add(tf.mul(g, plan.gradMask), tf.mul(plan.eye, tf.sum(v, 0)));
  return tf.add(g, tf.mul(plan.eye, tf.sub(tf.sum(v, 0), tf.sum(tf.mul(h, v), 0))));
}

/** Applies the layer's operation to an input batch `u` with weights `kernel` (n×p) and `graph` (p×p). */
export function neuralModuleOp(u: tf.Tensor2D, kernel: tf.Tensor2D, graph: tf.Tensor2D, ctx: NeuralModuleOpContext): tf.Tensor2D {
  const { plan, act } = ctx;
  const op = tf.customGrad((...args: unknown[]) => {
    const [input, k, w] = args as tf.Tensor2D[];
    const save = args[3] as tf.GradSaveFunc;
    const diag = tf.sum(tf.mul(w, plan.eye), 0);
    const z = tf.add(tf.matMul(input, k), diag) as tf.Tensor2D;
    if (!plan.mask) throw new Error(`${ctx.where}: internal error, the tensor engine ran without its dense edge mask.`);
    const ap = tf.gather(tf.gather(tf.mul(w, plan.mask), plan.perm, 0), plan.perm, 1) as tf.Tensor2D;
    const stats = emptyStats();
    const xp = forwardSolve(tf.gather(z, plan.perm, 1) as tf.Tensor2D, ap, plan, act, ctx.solver, stats);
    ctx.report('forward', stats);
    const x = tf.gather(xp, plan.invPerm, 1) as tf.Tensor2D;
    const h = act.apply(x) as tf.Tensor2D;
    assertFinite(h, ctx, 'forward solution');
    save([input, k, x, h, ap]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [su, sk, sx, sh, sap] = saved as tf.Tensor2D[];
      const fp = act.derivative(sx, sh) as tf.Tensor2D;
      const q = tf.mul(dy, fp) as tf.Tensor2D;
      const bstats = emptyStats();
      const vp = adjointSolve(tf.gather(q, plan.perm, 1) as tf.Tensor2D, tf.gather(fp, plan.perm, 1) as tf.Tensor2D, sap, plan, ctx.backwardSolver, bstats);
      ctx.report('backward', bstats);
      const v = tf.gather(vp, plan.invPerm, 1) as tf.Tensor2D;
      assertFinite(v, ctx, 'adjoint (gradient) solution');
      const du = matMulT(v, sk, false, true);
      const dk = matMulT(su, v, true, false);
      const dGraph = graphGradient(sh, v, plan);
      return [du, dk, dGraph];
    };
    return { value: h, gradFunc };
  });
  return op(u, kernel, graph) as tf.Tensor2D;
}
