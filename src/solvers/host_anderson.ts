/**
 * Anderson acceleration (type II, Walker & Ni 2011) on the host: the
 * {@link anderson} solver on typed arrays. Same algorithm and the same per-sample
 * Tikhonov-regularized least squares, but the Gram matrices ΔRᵀΔR are updated
 * incrementally (one new row per iteration, with the arena kernels) and the k×k
 * systems are solved in float64 without any device transfer. A sample whose system
 * is singular takes a plain (mixed) Picard step, counted in `stats.fallbacks`.
 * @example hostAnderson(f, x0, resolveSolverOptions({ method: 'anderson', memory: 5 }), ws)
 */
import { ANDERSON_FIXED_ARRAYS, hostRowResiduals, hostSolver, type HostMethodInit } from './host_types.js';
import { regularizedSolveInPlace } from './small_linear.js';

/** The named views of Anderson's workspace: fixed arrays first, then the ring histories. */
function andersonViews(arrays: Float32Array[], len: number, m: number, withDX: boolean) {
  const view = (i: number) => arrays[i].subarray(0, len);
  const [x, next, g, r, prevX, prevG, prevR, tmp] = Array.from({ length: ANDERSON_FIXED_ARRAYS }, (_, i) => view(i));
  const ring = (slot: number) => Array.from({ length: m }, (_, i) => view(ANDERSON_FIXED_ARRAYS + slot * m + i));
  return { x, next, g, r, prevX, prevG, prevR, tmp, dG: ring(0), dR: ring(1), dX: withDX ? ring(2) : [] };
}

/** `init` of host Anderson. */
export const hostAndersonMethod: HostMethodInit = (f, x0, options, ws) => {
  const { memory: m, beta, lambda } = options;
  const { kernels, n, batch: B } = ws;
  const len = x0.length;
  const v = andersonViews(ws.arrays, len, m, beta !== 1);
  let { x, next } = v;
  const { g, r, prevX, prevG, prevR, tmp, dG, dR, dX } = v;
  const negGamma = ws.small.slice(0, m);
  const gramRow = ws.small.slice(m, 2 * m); // ΔR_sᵀΔR_j of the newest slot s, per sample
  const gram = new Float64Array(B * m * m); // per sample, over ring slots
  const mat = new Float64Array(m * m);
  const rhs = new Float64Array(m);
  const ok = new Uint8Array(B);
  let count = 0; // differences stored (≤ m)
  let pushes = 0;
  let fallbacks = 0;
  let evaluated = false;
  x.set(x0);

  const step = (t: number) => {
    if (evaluated) [x, next] = [next, x];
    f(x, g);
    evaluated = true;
    const s = pushes % m; // the slot of this iteration's differences (t > 1)
    if (t === 1) {
      kernels.andersonDiffs(g, x, prevG, prevR, r, null, null);
    } else {
      pushes++;
      count = Math.min(count + 1, m);
      kernels.andersonDiffs(g, x, prevG, prevR, r, dG[s], dR[s]);
      if (beta !== 1) for (let i = 0; i < len; i++) dX[s][i] = x[i] - prevX[i];
    }
    if (beta !== 1) prevX.set(x);
    const k = count;
    if (k === 0) {
      for (let i = 0; i < len; i++) next[i] = beta * g[i] + (1 - beta) * x[i];
      return;
    }
    // Every dot product of the iteration in one parallel batch (they read, never write, the
    // histories): the new Gram row ΔR_sᵀΔR_j (k > 0 means a difference was just pushed) and ΔR_jᵀr.
    for (let j = 0; j < k; j++) {
      gramRow[j].fill(0);
      negGamma[j].fill(0);
    }
    for (let j = 0; j < k; j++) kernels.queueDotRows(dR[s], dR[j], gramRow[j]);
    for (let j = 0; j < k; j++) kernels.queueDotRows(dR[j], r, negGamma[j]);
    kernels.runDotRows();
    for (let j = 0; j < k; j++) {
      const d = gramRow[j];
      for (let b = 0; b < B; b++) gram[b * m * m + s * m + j] = gram[b * m * m + j * m + s] = d[b];
    }
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < k; i++) {
        for (let j = 0; j < k; j++) mat[i * k + j] = gram[b * m * m + i * m + j];
        rhs[i] = negGamma[i][b];
      }
      const good = regularizedSolveInPlace(mat, rhs, k, lambda);
      ok[b] = good ? 1 : 0;
      for (let i = 0; i < k; i++) negGamma[i][b] = good ? -rhs[i] : 0;
      if (!good) fallbacks++;
    }
    next.set(g);
    for (let j = 0; j < k; j++) kernels.axpyRows(negGamma[j], dG[j], next);
    if (beta !== 1) {
      // next = β(g − ΔGγ) + (1−β)(x − ΔXγ); tmp holds x − ΔXγ.
      tmp.set(x);
      for (let j = 0; j < k; j++) kernels.axpyRows(negGamma[j], dX[j], tmp);
      for (let i = 0; i < len; i++) next[i] = beta * next[i] + (1 - beta) * tmp[i];
    }
    for (let b = 0; b < B; b++) {
      if (ok[b]) continue;
      for (let row = 0; row < n; row++) {
        const i = kernels.index(n, row, b);
        next[i] = beta * g[i] + (1 - beta) * x[i];
      }
    }
  };
  return {
    batch: B,
    step,
    residuals: (out) => hostRowResiduals(ws, r, x, out),
    answer: () => (evaluated ? g : x),
    fallbacks: () => fallbacks,
    dispose: () => {},
  };
};

export const hostAnderson = hostSolver(hostAndersonMethod);
