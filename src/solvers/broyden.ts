/**
 * Limited-memory "good" Broyden method (Broyden 1965), batched per sample in tensor
 * ops, as used for deep equilibrium models (Bai et al. 2019; TorchDEQ). It finds a
 * root of g(x) = f(x) − x with a low-rank inverse-Jacobian estimate
 * `B = −I + Σ u_i v_iᵀ`, updated with each step; the first step is a Picard step.
 * Samples whose secant denominator vanishes skip the update (counted as fallbacks).
 * Each step evaluates f at the new iterate, so the residual the loop checks is that
 * of the iterate the step produced.
 * @example broyden(f, x0, resolveSolverOptions({ method: 'broyden', memory: 8 }))
 */
import * as tf from '@tensorflow/tfjs-core';
import { solveFixedPoint } from './loop.js';
import { HeldTensors, tensorRowResiduals } from './tensor_state.js';
import type { FixedPointMap, FixedPointMethod, ResolvedSolverOptions, Solution } from './solver_types.js';

const rowDot = (a: tf.Tensor2D, b: tf.Tensor2D) => tf.sum(tf.mul(a, b), 1, true) as tf.Tensor2D;

/** `init` of tensor Broyden. */
export function broydenMethod(f: FixedPointMap, x0: tf.Tensor2D, options: ResolvedSolverOptions): FixedPointMethod<tf.Tensor2D> {
  const held = new HeldTensors();
  let us: tf.Tensor2D[] = [];
  let vs: tf.Tensor2D[] = [];
  let x = tf.clone(x0);
  let gx: tf.Tensor2D | null = null; // g(x) = f(x) − x at the current iterate
  let fallbacks: tf.Scalar = tf.scalar(0);
  held.hold([x, fallbacks]);
  // (−I + U Vᵀ) y and yᵀ(−I + U Vᵀ), per sample (row vectors).
  const matvec = (y: tf.Tensor2D) => us.reduce<tf.Tensor2D>((acc, u, i) => tf.add(acc, tf.mul(u, rowDot(vs[i], y))), tf.neg(y));
  const rmatvec = (y: tf.Tensor2D) => vs.reduce<tf.Tensor2D>((acc, v, i) => tf.add(acc, tf.mul(v, rowDot(us[i], y))), tf.neg(y));
  return {
    batch: x0.shape[0],
    step() {
      const out = tf.tidy(() => {
        const g0: tf.Tensor2D = gx ?? (tf.sub(f(x), x) as tf.Tensor2D);
        const update = tf.neg(matvec(g0)) as tf.Tensor2D;
        const xNew = tf.add(x, update) as tf.Tensor2D;
        const gNew = tf.sub(f(xNew), xNew) as tf.Tensor2D;
        const dg = tf.sub(gNew, g0) as tf.Tensor2D;
        const vT = rmatvec(update);
        const denom = rowDot(vT, dg);
        const ok = tf.greater(tf.abs(denom), 1e-30);
        const safe = tf.where(ok, denom, tf.onesLike(denom));
        const uRaw = tf.div(tf.sub(update, matvec(dg)), safe);
        const okAll = tf.logicalAnd(ok, tf.all(tf.isFinite(uRaw), 1, true));
        const mask = tf.tile(okAll, [1, x.shape[1]]);
        return {
          xNew,
          gNew,
          u: tf.where(mask, uRaw, tf.zerosLike(uRaw)) as tf.Tensor2D,
          v: tf.where(mask, vT, tf.zerosLike(vT)) as tf.Tensor2D,
          fallbacks: tf.add(fallbacks, tf.sum(tf.cast(tf.logicalNot(okAll), 'float32'))) as tf.Scalar,
        };
      });
      us = [...us, out.u].slice(-options.memory);
      vs = [...vs, out.v].slice(-options.memory);
      [x, gx, fallbacks] = [out.xNew, out.gNew, out.fallbacks];
      held.hold([x, gx, fallbacks, ...us, ...vs]);
    },
    residuals(out) {
      tensorRowResiduals(gx!, x, out);
    },
    answer: () => (gx ? (tf.add(x, gx) as tf.Tensor2D) : tf.clone(x)),
    fallbacks: () => fallbacks.dataSync()[0],
    dispose: () => held.dispose(),
  };
}

export function broyden(f: FixedPointMap, x0: tf.Tensor2D, options: ResolvedSolverOptions): Solution {
  return solveFixedPoint(broydenMethod(f, x0, options), options);
}
