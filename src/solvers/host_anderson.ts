/**
 * Anderson acceleration (type II, Walker & Ni 2011) on the host: the
 * {@link anderson} solver on typed arrays. Same algorithm and the same per-sample
 * Tikhonov-regularized least squares, but the Gram matrices ΔRᵀΔR are updated
 * incrementally (one new row per iteration, with the arena kernels) and the k×k
 * systems are solved in float64 without any device transfer. A sample whose system
 * is singular takes a plain (mixed) Picard step, counted in `stats.fallbacks`.
 * @example hostAnderson(f, x0, resolveSolverOptions({ method: 'anderson', memory: 5 }), ws)
 */
import { hostIterate, type HostFixedPointMap, type HostSolution, type HostWorkspace } from './host_types.js';
import { luSolveInPlace } from './small_linear.js';
import type { ResolvedSolverOptions } from './types.js';

export function hostAnderson(f: HostFixedPointMap, x0: Float32Array, options: ResolvedSolverOptions, ws: HostWorkspace): HostSolution {
  const { memory: m, beta, lambda } = options;
  const { kernels, n, batch: B } = ws;
  const len = x0.length;
  const view = (i: number) => ws.arrays[i].subarray(0, len);
  const [g, r, prevX, prevG, prevR] = [2, 3, 4, 5, 6].map(view);
  const dG = Array.from({ length: m }, (_, i) => view(7 + i));
  const dR = Array.from({ length: m }, (_, i) => view(7 + m + i));
  const dX = beta === 1 ? [] : Array.from({ length: m }, (_, i) => view(7 + 2 * m + i));
  const negGamma = ws.small.slice(0, m);
  const dots = ws.small[m];
  const gram = new Float64Array(B * m * m); // per sample, over ring slots
  const mat = new Float64Array(m * m);
  const rhs = new Float64Array(m);
  const ok = new Uint8Array(B);
  let count = 0; // differences stored (≤ m)
  let pushes = 0;
  let fallbacks = 0;
  const dot = (a: Float32Array, c: Float32Array) => {
    dots.fill(0);
    kernels.dotRows(a, c, 0, n, B, dots);
    return dots;
  };

  const step = (x: Float32Array, next: Float32Array, t: number) => {
    f(x, g);
    if (t === 1) {
      kernels.andersonDiffs(g, x, prevG, prevR, r, null, null);
    } else {
      const s = pushes % m;
      pushes++;
      count = Math.min(count + 1, m);
      kernels.andersonDiffs(g, x, prevG, prevR, r, dG[s], dR[s]);
      if (beta !== 1) for (let i = 0; i < len; i++) dX[s][i] = x[i] - prevX[i];
      for (let j = 0; j < count; j++) {
        const d = dot(dR[s], dR[j]);
        for (let b = 0; b < B; b++) gram[b * m * m + s * m + j] = gram[b * m * m + j * m + s] = d[b];
      }
    }
    if (beta !== 1) prevX.set(x);
    const k = count;
    if (k === 0) {
      for (let i = 0; i < len; i++) next[i] = beta * g[i] + (1 - beta) * x[i];
      return;
    }
    for (let j = 0; j < k; j++) negGamma[j].set(dot(dR[j], r));
    for (let b = 0; b < B; b++) {
      let trace = 0;
      for (let i = 0; i < k; i++) trace += gram[b * m * m + i * m + i];
      const reg = lambda * (trace / k) + 1e-20;
      for (let i = 0; i < k; i++) {
        for (let j = 0; j < k; j++) mat[i * k + j] = gram[b * m * m + i * m + j];
        mat[i * k + i] += reg;
        rhs[i] = negGamma[i][b];
      }
      let good = luSolveInPlace(mat, rhs, k);
      for (let i = 0; i < k && good; i++) if (!Number.isFinite(rhs[i])) good = false;
      ok[b] = good ? 1 : 0;
      for (let i = 0; i < k; i++) negGamma[i][b] = good ? -rhs[i] : 0;
      if (!good) fallbacks++;
    }
    next.set(g);
    for (let j = 0; j < k; j++) kernels.axpyRows(negGamma[j], dG[j], 0, n, B, next);
    if (beta !== 1) {
      // next = β(g − ΔGγ) + (1−β)(x − ΔXγ); r is free now and holds x − ΔXγ.
      r.set(x);
      for (let j = 0; j < k; j++) kernels.axpyRows(negGamma[j], dX[j], 0, n, B, r);
      for (let i = 0; i < len; i++) next[i] = beta * next[i] + (1 - beta) * r[i];
    }
    for (let b = 0; b < B; b++) {
      if (ok[b]) continue;
      for (let row = 0; row < n; row++) {
        const i = row * B + b;
        next[i] = beta * g[i] + (1 - beta) * x[i];
      }
    }
  };
  const buffers: [Float32Array, Float32Array] = [view(0), view(1)];
  return hostIterate(x0, options, ws, buffers, step, () => fallbacks);
}
