/**
 * Newton's method for x = f(x) with the exact Jacobian, solved per sample (and per
 * block of a block-diagonal Jacobian) by LU with partial pivoting in float64 on the
 * CPU, since tfjs has no linear solve. Quadratic convergence near the solution and a
 * one-step exact answer for linear maps (the adjoint system). The v4 Neural Modules
 * paper solves modules with Newton's method. Cost O(batch·Σ|block|³) per iteration:
 * for small modules. A singular block takes a Picard step (counted as a fallback).
 * Each step evaluates f at the new iterate, so the loop checks the residual of the
 * iterate the step produced. Requires `f.jacobian`.
 * @example newton(f, x0, resolveSolverOptions({ method: 'newton', maxIter: 10 }))
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../utils/errors.js';
import { solveFixedPoint } from './loop.js';
import { luSolveInPlace } from './small_linear.js';
import { HeldTensors, tensorRowResiduals } from './tensor_state.js';
import type { FixedPointMap, FixedPointMethod, ResolvedSolverOptions, Solution } from './solver_types.js';

/** `init` of tensor Newton. */
export function newtonMethod(f: FixedPointMap, x0: tf.Tensor2D, options: ResolvedSolverOptions): FixedPointMethod<tf.Tensor2D> {
  void options;
  const jacobian = f.jacobian;
  if (!jacobian) {
    throw new ConfigError("solver 'newton': the fixed-point map has no 'jacobian'; use 'anderson', 'broyden' or 'picard', or provide f.jacobian.");
  }
  const [batch, n] = x0.shape;
  const blocks = f.blocks ?? [[0, n] as const];
  const held = new HeldTensors();
  let x = tf.clone(x0);
  let r: tf.Tensor2D | null = null; // f(x) − x at the current iterate
  let fallbacks = 0;
  held.hold([x]);
  return {
    batch,
    step() {
      const out = tf.tidy(() => {
        const r0 = r ?? (tf.sub(f(x), x) as tf.Tensor2D);
        const rData = r0.dataSync();
        const jData = jacobian(x).dataSync();
        const delta = new Float32Array(batch * n);
        for (const [s, e] of blocks) {
          const m = e - s;
          const mat = new Float64Array(m * m);
          const rhs = new Float64Array(m);
          for (let b = 0; b < batch; b++) {
            const base = b * n * n;
            // Row form δ(I − J) = r  ⇔  (I − J)ᵀ δᵀ = rᵀ:  M[k][i] = δ_ki − J[i][k].
            for (let k = 0; k < m; k++) {
              for (let i = 0; i < m; i++) mat[k * m + i] = (k === i ? 1 : 0) - jData[base + (s + i) * n + (s + k)];
              rhs[k] = rData[b * n + s + k];
            }
            if (!luSolveInPlace(mat, rhs, m)) {
              fallbacks++;
              for (let k = 0; k < m; k++) rhs[k] = rData[b * n + s + k];
            }
            for (let k = 0; k < m; k++) delta[b * n + s + k] = rhs[k];
          }
        }
        const xNew = tf.add(x, tf.tensor2d(delta, [batch, n])) as tf.Tensor2D;
        return { xNew, rNew: tf.sub(f(xNew), xNew) as tf.Tensor2D };
      });
      [x, r] = [out.xNew, out.rNew];
      held.hold([x, r]);
    },
    residuals(out) {
      tensorRowResiduals(r!, x, out);
    },
    answer: () => (r ? (tf.add(x, r) as tf.Tensor2D) : tf.clone(x)),
    fallbacks: () => fallbacks,
    dispose: () => held.dispose(),
  };
}

export function newton(f: FixedPointMap, x0: tf.Tensor2D, options: ResolvedSolverOptions): Solution {
  return solveFixedPoint(newtonMethod(f, x0, options), options);
}
