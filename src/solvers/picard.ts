/**
 * Picard (fixed-point) iteration with optional damping:
 * `x ← (1−τ)·x + τ·f(x)`. Converges linearly when f is a contraction; the cheapest
 * step, and the most robust one for well-conditioned (small) modules.
 * Neural Modules v3/v4 solve each module by this synchronous update.
 * @example picard(f, x0, resolveSolverOptions({ method: 'picard', damping: 0.8 }))
 */
import * as tf from '@tensorflow/tfjs-core';
import { solveFixedPoint } from './loop.js';
import { HeldTensors, tensorRowResiduals } from './tensor_state.js';
import type { FixedPointMap, FixedPointMethod, ResolvedSolverOptions, Solution } from './solver_types.js';

/** `init` of tensor Picard: the state is x_t, f(x_t) and x_{t+1}. */
export function picardMethod(f: FixedPointMap, x0: tf.Tensor2D, options: ResolvedSolverOptions): FixedPointMethod<tf.Tensor2D> {
  const tau = options.damping;
  const held = new HeldTensors();
  let x = tf.clone(x0);
  let evalX: tf.Tensor2D | null = null;
  let evalF: tf.Tensor2D | null = null;
  held.hold([x]);
  return {
    batch: x0.shape[0],
    step() {
      const cur = x;
      const [fx, next] = tf.tidy(() => {
        const fx = f(cur);
        return [fx, tau === 1 ? fx : (tf.add(tf.mul(cur, 1 - tau), tf.mul(fx, tau)) as tf.Tensor2D)];
      });
      [evalX, evalF, x] = [cur, fx, next];
      held.hold([evalX, evalF, x]);
    },
    residuals(out) {
      tf.tidy(() => tensorRowResiduals(tf.sub(evalF!, evalX!) as tf.Tensor2D, evalX!, out));
    },
    answer: () => tf.clone(evalF ?? x),
    fallbacks: () => 0,
    dispose: () => held.dispose(),
  };
}

export function picard(f: FixedPointMap, x0: tf.Tensor2D, options: ResolvedSolverOptions): Solution {
  return solveFixedPoint(picardMethod(f, x0, options), options);
}
