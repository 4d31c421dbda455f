/**
 * Newton's method for x = f(x) with the exact Jacobian, solved per sample (and per
 * block of a block-diagonal Jacobian) by LU with partial pivoting in float64 on the
 * CPU, since tfjs has no linear solve. Quadratic convergence near the solution and a
 * one-step exact answer for linear maps (the adjoint system). The v4 Neural Modules
 * paper solves modules with Newton's method. Cost O(batch·Σ|block|³) per iteration:
 * for small modules. A singular block takes a Picard step (counted as a fallback).
 * Requires `f.jacobian`.
 * @example newton(f, x0, resolveSolverOptions({ method: 'newton', maxIter: 10 }))
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../utils/errors.js';
import { iterate } from './loop.js';
import { luSolveInPlace } from './small_linear.js';
import type { FixedPointMap, ResolvedSolverOptions, Solution } from './types.js';

export function newton(f: FixedPointMap, x0: tf.Tensor2D, options: ResolvedSolverOptions): Solution {
  const jacobian = f.jacobian;
  if (!jacobian) {
    throw new ConfigError("solver 'newton': the fixed-point map has no 'jacobian'; use 'anderson', 'broyden' or 'picard', or provide f.jacobian.");
  }
  const [batch, n] = x0.shape;
  const blocks = f.blocks ?? [[0, n] as const];
  return iterate(x0, options, (x, _t, ctx) => {
    const r = tf.sub(f(x), x);
    const j = jacobian(x);
    const rData = r.dataSync();
    const jData = j.dataSync();
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
          ctx.fallbacks++;
          for (let k = 0; k < m; k++) rhs[k] = rData[b * n + s + k];
        }
        for (let k = 0; k < m; k++) delta[b * n + s + k] = rhs[k];
      }
    }
    return tf.add(x, tf.tensor2d(delta, [batch, n]));
  });
}
