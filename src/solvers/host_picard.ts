/**
 * Picard iteration on the host: `x ← (1−τ)·x + τ·f(x)`, the {@link picard} solver
 * on typed arrays (no tensor op, no device sync per iteration). The synchronous
 * update of Neural Modules v3/v4.
 * @example hostPicard(f, x0, resolveSolverOptions({ method: 'picard' }), ws)
 */
import { hostSolver, hostStepResiduals, type HostMethodInit } from './host_types.js';

/** `init` of host Picard: buffers x_t, f(x_t) and the damped x_{t+1}; the residual f(x) − x is never stored (its norms come from one kernel pass). */
export const hostPicardMethod: HostMethodInit = (f, x0, options, ws) => {
  const len = x0.length;
  const tau = options.damping;
  let [x, fx, next] = ws.arrays.slice(0, 3).map((a) => a.subarray(0, len));
  x.set(x0);
  let evaluated = false;
  return {
    batch: ws.batch,
    step() {
      if (evaluated) {
        // Advance: x_{t+1} is f(x_t) (undamped) or the damped mix; the old x is free.
        if (tau === 1) [x, fx] = [fx, x];
        else [x, next] = [next, x];
      }
      f(x, fx);
      if (tau !== 1) for (let i = 0; i < len; i++) next[i] = (1 - tau) * x[i] + tau * fx[i];
      evaluated = true;
    },
    residuals: (out) => hostStepResiduals(ws, fx, x, out),
    answer: () => (evaluated ? fx : x),
    fallbacks: () => 0,
    dispose: () => {},
  };
};

export const hostPicard = hostSolver(hostPicardMethod);
