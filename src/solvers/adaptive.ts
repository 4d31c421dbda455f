/**
 * `method: 'auto'`: Picard while it contracts fast, Anderson once it does not
 * (the default solver). Picard's step is the cheapest (one evaluation of f and one
 * residual pass); Anderson's bookkeeping costs about as much again per iteration
 * and only pays off when the contraction is slow. So the solve starts with Picard
 * and, at the first check where the worst row's residual fell by less than the
 * factor `switchRatio` since the previous check (ratio r_t / r_{t−1} > switchRatio),
 * continues with Anderson from the newest iterate f(x_t): no evaluation is repeated.
 * A solve that converges within a few Picard steps never pays for Anderson.
 *
 * Both engines use this one composite; the stopping rule, stats and errors are the
 * shared loop's ({@link solveFixedPoint}), and `stats.iterations` counts both phases.
 * Caveat: the switch is decided at residual checks, so with `checkEvery` > 1 it is
 * seen only every `checkEvery` iterations.
 * @example resolveSolverOptions({ method: 'auto', switchRatio: 0.5 })
 */
import { terminate } from './loop.js';
import type { FixedPointMethod } from './solver_types.js';

/**
 * The composite method: `first` (Picard) until the residual ratio between two
 * consecutive checks exceeds `switchRatio`, then `then(x0)` (Anderson) started from
 * `first.answer()`; `release` frees that handed-over iterate (a tensor) once `then`
 * has taken its copy.
 */
export function adaptiveMethod<T>(
  first: FixedPointMethod<T>,
  then: (x0: T) => FixedPointMethod<T>,
  release: (x: T) => void,
  switchRatio: number,
): FixedPointMethod<T> {
  let current = first;
  let switchedAt = 0; // iterations done before the switch (0: not switched)
  let previous = NaN; // worst residual at the last check
  let slow = false;
  let earlierFallbacks = 0;
  return {
    batch: first.batch,
    step(t) {
      if (slow && switchedAt === 0) {
        const x0 = current.answer();
        let next: FixedPointMethod<T>;
        try {
          next = then(x0);
        } finally {
          release(x0);
        }
        earlierFallbacks = current.fallbacks();
        current.dispose();
        current = next;
        switchedAt = t - 1;
      }
      current.step(t - switchedAt);
    },
    residuals(out) {
      current.residuals(out);
      if (switchedAt !== 0) return;
      // The loop's own verdict gives the worst row (NaN ends the solve there anyway).
      const { worst } = terminate(out, 0);
      if (previous > 0 && worst > switchRatio * previous) slow = true;
      previous = worst;
    },
    answer: () => current.answer(),
    fallbacks: () => earlierFallbacks + current.fallbacks(),
    dispose: () => current.dispose(),
  };
}
