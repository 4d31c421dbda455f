/**
 * The Neural Module operation on the host engine: the same `tf.customGrad`
 * contract as {@link neuralModuleOp} (weights as inputs, mask applied inside the
 * forward, dense straight-through graph gradient), but both implicit solves run on
 * typed arrays with sparse kernels over the kept edges (nm_host_solve.ts). Dense
 * products that tfjs does well (u·U, the p×p gradient hᵀv) stay tensor ops.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { SparseKernels } from '../kernels/index.js';
import { matMulT } from '../utils/matmul.js';
import type { HostPlan } from './nm_host_plan.js';
import { hostAdjointSolve, hostForwardSolve, type HostForward } from './nm_host_solve.js';
import { graphGradient, nonFiniteSolution, type NeuralModuleOpContext } from './nm_op.js';
import { emptyStats } from './nm_solve.js';

/** What the host operation needs beyond the tensor one. */
export interface HostOpContext extends NeuralModuleOpContext {
  host: HostPlan;
  kernels: SparseKernels;
  /** Flat indices of the weight gather (kept edges, then the diagonal), int32, owned by the layer. */
  gatherIndex: tf.Tensor1D;
}

/**
 * Un-permutes a node-major `[p, batch]` array into a row-major `[batch, p]` one,
 * throwing {@link nonFiniteSolution} (naming the first bad row) on NaN/Inf.
 */
function unpermute(a: Float32Array, perm: Int32Array, batch: number, ctx: NeuralModuleOpContext, what: string): Float32Array {
  const p = perm.length;
  const out = new Float32Array(batch * p);
  let badRow = -1;
  for (let q = 0; q < p; q++) {
    const node = perm[q];
    for (let b = 0; b < batch; b++) {
      const v = a[q * batch + b];
      if (!Number.isFinite(v) && (badRow < 0 || b < badRow)) badRow = b;
      out[b * p + node] = v;
    }
  }
  if (badRow >= 0) throw nonFiniteSolution(ctx, what, badRow, batch);
  return out;
}

/** Applies the layer's operation with the host engine. */
export function neuralModuleHostOp(u: tf.Tensor2D, kernel: tf.Tensor2D, graph: tf.Tensor2D, ctx: HostOpContext): tf.Tensor2D {
  const { host, act, kernels } = ctx;
  const p = host.schedule.p;
  const K = host.edges;
  const op = tf.customGrad((...args: unknown[]) => {
    const [input, k, w] = args as tf.Tensor2D[];
    const save = args[3] as tf.GradSaveFunc;
    const batch = input.shape[0];
    const [zT, gathered] = tf.tidy(() => [tf.matMul(input, k), tf.gather(tf.reshape(w, [-1]), ctx.gatherIndex)]);
    const z = zT.dataSync() as Float32Array;
    const values = gathered.dataSync().slice() as Float32Array;
    zT.dispose();
    gathered.dispose();
    const zb = Float32Array.from(z);
    for (let b = 0; b < batch; b++) for (let j = 0; j < p; j++) zb[b * p + j] += values[K + j];
    const stats = emptyStats();
    const fwd: HostForward = hostForwardSolve(zb, batch, values, host, act, ctx.solver, kernels, stats);
    ctx.report('forward', stats);
    const h = tf.tensor2d(unpermute(fwd.fx, host.schedule.perm, batch, ctx, 'forward solution'), [batch, p]);
    save([input, k, h]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [su, sk, sh] = saved as tf.Tensor2D[];
      const bstats = emptyStats();
      const vp = hostAdjointSolve(dy.dataSync() as Float32Array, batch, fwd, values, host, act, ctx.backwardSolver, kernels, bstats);
      ctx.report('backward', bstats);
      const v = tf.tensor2d(unpermute(vp, host.schedule.perm, batch, ctx, 'adjoint (gradient) solution'), [batch, p]);
      const du = matMulT(v, sk, false, true);
      const dk = matMulT(su, v, true, false);
      const dGraph = graphGradient(sh, v, ctx.plan);
      return [du, dk, dGraph];
    };
    return { value: h, gradFunc };
  });
  return op(u, kernel, graph) as tf.Tensor2D;
}
