/**
 * Limited-memory "good" Broyden method (Broyden 1965), batched per sample in tensor
 * ops, as used for deep equilibrium models (Bai et al. 2019; TorchDEQ). It finds a
 * root of g(x) = f(x) − x with a low-rank inverse-Jacobian estimate
 * `B = −I + Σ u_i v_iᵀ`, updated with each step; the first step is a Picard step.
 * Samples whose secant denominator vanishes skip the update (counted as fallbacks).
 * @example broyden(f, x0, resolveSolverOptions({ method: 'broyden', memory: 8 }))
 */
import * as tf from '@tensorflow/tfjs-core';
import { iterate } from './loop.js';
import type { FixedPointMap, ResolvedSolverOptions, Solution } from './types.js';

const rowDot = (a: tf.Tensor2D, b: tf.Tensor2D) => tf.sum(tf.mul(a, b), 1, true) as tf.Tensor2D;

export function broyden(f: FixedPointMap, x0: tf.Tensor2D, options: ResolvedSolverOptions): Solution {
  const us: tf.Tensor2D[] = [];
  const vs: tf.Tensor2D[] = [];
  let gx: tf.Tensor2D | null = null;
  let fallbacks: tf.Scalar = tf.keep(tf.scalar(0));
  // (−I + U Vᵀ) y and yᵀ(−I + U Vᵀ), per sample (row vectors).
  const matvec = (y: tf.Tensor2D) => us.reduce<tf.Tensor2D>((acc, u, i) => tf.add(acc, tf.mul(u, rowDot(vs[i], y))), tf.neg(y));
  const rmatvec = (y: tf.Tensor2D) => vs.reduce<tf.Tensor2D>((acc, v, i) => tf.add(acc, tf.mul(v, rowDot(us[i], y))), tf.neg(y));
  return iterate(
    x0,
    options,
    (x) => {
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
      const old = fallbacks;
      fallbacks = tf.keep(tf.add(old, tf.sum(tf.cast(tf.logicalNot(okAll), 'float32'))));
      old.dispose();
      us.push(tf.keep(tf.where(mask, uRaw, tf.zerosLike(uRaw)) as tf.Tensor2D));
      vs.push(tf.keep(tf.where(mask, vT, tf.zerosLike(vT)) as tf.Tensor2D));
      if (us.length > options.memory) {
        us.shift()!.dispose();
        vs.shift()!.dispose();
      }
      gx?.dispose();
      gx = tf.keep(gNew);
      return xNew;
    },
    (ctx) => {
      ctx.fallbacks = fallbacks.dataSync()[0];
      fallbacks.dispose();
      gx?.dispose();
      for (const t of [...us, ...vs]) t.dispose();
    },
  );
}
