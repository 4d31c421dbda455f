/**
 * The differentiable Neural Module operation: one `tf.customGrad` over whichever
 * {@link SolveEngine} is selected. Its forward computes the node input
 * z = u·U + diag(W), lets the engine solve x = z + f(x)·A and returns h = f(x*);
 * its gradient lets the engine solve the adjoint and forms the closed-form
 * gradients (DESIGN.md §1). The weights enter as inputs (customGrad ignores
 * captured variables); the returned graph gradient is dense: every off-diagonal
 * edge, masked or not, gets Σ_b f(x_j)·v_k (straight-through).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Topology } from '../../../graph/mask.js';
import { hostGraphGradient } from './host_gradient.js';
import { matMulT } from '../../../utils/matmul.js';
import type { LayerSolveStats } from './stats.js';
import type { EngineContext, SolveEngine } from './engine_types.js';

/** Layer constants the op needs besides the engine context. */
export interface OpConstants {
  /** Flat indices j·(p+1) of the diagonal (the biases), int32 [p]. */
  diagIndex: tf.Tensor1D;
  /** Identity [p, p] (the diagonal correction of the graph gradient). */
  eye: tf.Tensor2D;
  /** Entries of the strict upper triangle, [p, p] 0/1 (the 'dag' gradient mask); null for 'graph'. */
  upper: tf.Tensor2D | null;
  topology: Topology;
}

/** Receives each solve's stats; throws on a non-finite result or as the layer's non-convergence policy says. */
export type SolveReporter = (kind: 'forward' | 'backward', stats: LayerSolveStats, badRow: number, batch: number) => void;

/**
 * The dense graph gradient: Σ_b f(x_j)·v_k on every off-diagonal edge that
 * receives gradient (masked or not, straight-through), Σ_b v_k on the diagonal
 * (the bias). For 'graph' topology on cpu and wasm the product is the kernels' GEMM
 * (host_gradient.ts); elsewhere a matMul whose diagonal is corrected in place of a
 * full p×p mask product (two p×p passes after the matMul instead of three).
 */
export function graphGradient(h: tf.Tensor2D, v: tf.Tensor2D, c: OpConstants): tf.Tensor2D {
  return (c.topology === 'graph' ? hostGraphGradient(h, v) : null) ?? tensorGraphGradient(h, v, c);
}

/** {@link graphGradient} with tensor ops only (any backend). */
export function tensorGraphGradient(h: tf.Tensor2D, v: tf.Tensor2D, c: OpConstants): tf.Tensor2D {
  const g = matMulT(h, v, true, false);
  if (c.topology === 'dag') return tf.add(tf.mul(g, c.upper!), tf.mul(c.eye, tf.sum(v, 0)));
  return tf.add(g, tf.mul(c.eye, tf.sub(tf.sum(v, 0), tf.sum(tf.mul(h, v), 0))));
}

/** Applies the layer's operation to an input batch `u` with weights `kernel` (n×p) and `graph` (p×p). */
export function neuralModuleOp(
  u: tf.Tensor2D,
  kernel: tf.Tensor2D,
  graph: tf.Tensor2D,
  engine: SolveEngine,
  ctx: EngineContext,
  consts: OpConstants,
  report: SolveReporter,
): tf.Tensor2D {
  const op = tf.customGrad((...args: unknown[]) => {
    const [input, k, w] = args as tf.Tensor2D[];
    const save = args[3] as tf.GradSaveFunc;
    const batch = input.shape[0];
    if (batch === 0) {
      // An empty batch, as tf.layers.dense handles it: an empty output and zero gradients.
      const [p, n] = [w.shape[0], k.shape[0]];
      return { value: tf.zeros([0, p]) as tf.Tensor2D, gradFunc: () => [tf.zeros([0, n]), tf.zeros([n, p]), tf.zeros([p, p])] };
    }
    const z = tf.add(tf.matMul(input, k), tf.gather(tf.reshape(w, [-1]), consts.diagIndex)) as tf.Tensor2D;
    const fwd = engine.forward(z, w, ctx);
    report('forward', fwd.stats, fwd.badRow, batch);
    save([input, k, fwd.h, ...fwd.saved]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [su, sk, sh, ...rest] = saved as tf.Tensor2D[];
      const adj = engine.adjoint(dy as tf.Tensor2D, rest, fwd.state, ctx);
      engine.release?.(fwd.state);
      report('backward', adj.stats, adj.badRow, batch);
      const v = adj.v;
      return [matMulT(v, sk, false, true), matMulT(su, v, true, false), graphGradient(sh, v, consts)];
    };
    return { value: fwd.h, gradFunc };
  });
  return op(u, kernel, graph) as tf.Tensor2D;
}
