/**
 * The iteration loop shared by every solver: memory hygiene (one tidy per
 * iteration), convergence checks every `checkEvery` iterations (each check is one
 * device sync), the `maxIter` bound and uniform stats.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ResolvedSolverOptions, Solution, SolveResult } from './types.js';

/** Mutable counters a method may update while stepping. */
export interface LoopContext {
  fallbacks: number;
}

/** ‖a − b‖_F / (‖b‖_F + 1e-8) as a scalar tensor. */
export function relativeStep(next: tf.Tensor, prev: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.div(tf.sqrt(tf.sum(tf.squaredDifference(next, prev))), tf.add(tf.sqrt(tf.sum(tf.square(prev))), 1e-8)) as tf.Scalar);
}

/**
 * Runs `step` from x0 until the relative step falls below tol or maxIter is hit.
 * `step(x, t)` returns the next iterate (a new tensor; persistent method state must
 * be `tf.keep`-ed by the method and released in `cleanup`).
 */
export function iterate(
  x0: tf.Tensor2D,
  options: ResolvedSolverOptions,
  step: (x: tf.Tensor2D, t: number, ctx: LoopContext) => tf.Tensor2D,
  cleanup: (ctx: LoopContext) => void = () => {},
): Solution {
  const ctx: LoopContext = { fallbacks: 0 };
  let x = tf.keep(tf.clone(x0));
  let residual = Infinity;
  let iterations = 0;
  let result: SolveResult = 'maxIterationsReached';
  try {
    for (let t = 1; t <= options.maxIter; t++) {
      const prev = x;
      const next = tf.keep(tf.tidy(() => step(prev, t, ctx)));
      iterations = t;
      const check = t % options.checkEvery === 0 || t === options.maxIter;
      if (check) {
        const r = relativeStep(next, prev);
        residual = r.dataSync()[0];
        r.dispose();
      }
      prev.dispose();
      x = next;
      if (check && !Number.isFinite(residual)) {
        result = 'nonFinite';
        break;
      }
      if (check && residual <= options.tol) {
        result = 'successful';
        break;
      }
    }
  } finally {
    cleanup(ctx);
  }
  return {
    value: x,
    result,
    stats: { iterations, residual, converged: result === 'successful', fallbacks: ctx.fallbacks },
  };
}
