/**
 * Picard iteration on the host: `x ← (1−τ)·x + τ·f(x)`, the {@link picard} solver
 * on typed arrays (no tensor op, no device sync per iteration). The synchronous
 * update of Neural Modules v3/v4.
 * @example hostPicard(f, x0, resolveSolverOptions({ method: 'picard' }), ws)
 */
import { hostIterate, type HostFixedPointMap, type HostSolution, type HostWorkspace } from './host_types.js';
import type { ResolvedSolverOptions } from './types.js';

export function hostPicard(f: HostFixedPointMap, x0: Float32Array, options: ResolvedSolverOptions, ws: HostWorkspace): HostSolution {
  const len = x0.length;
  const tau = options.damping;
  const buffers: [Float32Array, Float32Array] = [ws.arrays[0].subarray(0, len), ws.arrays[1].subarray(0, len)];
  return hostIterate(x0, options, ws, buffers, (x, next) => {
    f(x, next);
    if (tau !== 1) for (let i = 0; i < len; i++) next[i] = (1 - tau) * x[i] + tau * next[i];
  });
}
