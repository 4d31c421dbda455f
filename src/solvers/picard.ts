/**
 * Picard (fixed-point) iteration with optional damping:
 * `x ← (1−τ)·x + τ·f(x)`. Converges linearly when f is a contraction; the cheapest
 * step, and the most robust one for well-conditioned (small) modules.
 * Neural Modules v3/v4 solve each module by this synchronous update.
 * @example picard(f, x0, resolveSolverOptions({ method: 'picard', damping: 0.8 }))
 */
import * as tf from '@tensorflow/tfjs-core';
import { iterate } from './loop.js';
import type { FixedPointMap, ResolvedSolverOptions, Solution } from './types.js';

export function picard(f: FixedPointMap, x0: tf.Tensor2D, options: ResolvedSolverOptions): Solution {
  const tau = options.damping;
  return iterate(x0, options, (x) => {
    const fx = f(x);
    return tau === 1 ? fx : tf.add(tf.mul(x, 1 - tau), tf.mul(fx, tau));
  });
}
