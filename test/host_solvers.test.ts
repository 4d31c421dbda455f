/**
 * Host (typed-array) solvers: known answers of linear fixed points, the shared
 * stats contract, non-finite and non-converged endings, on both kernel sets.
 */
import { describe, expect, it } from 'vitest';
import { sparseKernels } from '../src/kernels/index.js';
import { hostWorkspaceArrays, hostWorkspaceSmall, type HostWorkspace } from '../src/solvers/host_types.js';
import { blocked, type ColumnLayout } from '../src/kernels/blocked.js';
import { getHostSolver, resolveSolverOptions } from '../src/solvers/registry.js';
import { Random } from '../src/utils/random.js';
import { expectClose } from './helpers/close.js';

const n = 12;
const B = 5;

function workspace(kind: 'js' | 'wasm', options: ReturnType<typeof resolveSolverOptions>, layout: ColumnLayout = [0, B]) {
  const kernels = sparseKernels(kind);
  const count = hostWorkspaceArrays(options);
  kernels.arena.reset((count + 1) * (n * B * 4 + 32) + hostWorkspaceSmall(options) * (B * 4 + 32) + 1024);
  const arrays = Array.from({ length: count }, () => kernels.arena.f32(n * B));
  const small = Array.from({ length: hostWorkspaceSmall(options) }, () => kernels.arena.f32(B));
  const x0 = kernels.arena.f32(n * B);
  const ws: HostWorkspace = { kernels: blocked(kernels, B, n, layout), n, batch: B, arrays, small };
  return { ws, x0 };
}

/**
 * A random linear map x ↦ c + M·x (node-major) with ‖M‖∞ = rho (a contraction), and
 * its exact fixed point. `slow` makes M nearly diagonal with eigenvalues spread up to
 * rho, so Picard needs about log(tol)/log(rho) iterations.
 */
function linearProblem(rho: number, seed: number, slow = false) {
  const r = new Random(seed);
  const m = Float64Array.from({ length: n * n }, (_, i) =>
    slow ? (i % (n + 1) === 0 ? 1 - (Math.floor(i / n) * 0.5) / n : 0.02 * (r.next() * 2 - 1)) : r.next() * 2 - 1,
  );
  let norm = 0;
  for (let i = 0; i < n; i++)
    norm = Math.max(
      norm,
      m.slice(i * n, i * n + n).reduce((s, v) => s + Math.abs(v), 0),
    );
  for (let i = 0; i < n * n; i++) m[i] *= rho / norm;
  const c = Float64Array.from({ length: n * B }, () => r.next() * 2 - 1);
  const map = (x: Float32Array, out: Float32Array) => {
    for (let i = 0; i < n; i++) {
      for (let b = 0; b < B; b++) {
        let s = c[i * B + b];
        for (let j = 0; j < n; j++) s += m[i * n + j] * x[j * B + b];
        out[i * B + b] = s;
      }
    }
  };
  // Exact: (I − M) x = c per sample, Gaussian elimination in float64.
  const exact = new Float64Array(n * B);
  for (let b = 0; b < B; b++) {
    const a = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0) - m[i * n + j]));
    const y = Array.from({ length: n }, (_, i) => c[i * B + b]);
    for (let col = 0; col < n; col++) {
      let piv = col;
      for (let row = col + 1; row < n; row++) if (Math.abs(a[row][col]) > Math.abs(a[piv][col])) piv = row;
      [a[col], a[piv]] = [a[piv], a[col]];
      [y[col], y[piv]] = [y[piv], y[col]];
      for (let row = col + 1; row < n; row++) {
        const f = a[row][col] / a[col][col];
        for (let k = col; k < n; k++) a[row][k] -= f * a[col][k];
        y[row] -= f * y[col];
      }
    }
    for (let row = n - 1; row >= 0; row--) {
      let s = y[row];
      for (let k = row + 1; k < n; k++) s -= a[row][k] * y[k];
      y[row] = s / a[row][row];
    }
    for (let i = 0; i < n; i++) exact[i * B + b] = y[i];
  }
  return { map, exact };
}

describe.each(['js', 'wasm'] as const)('host solvers with %s kernels', (kind) => {
  for (const method of ['picard', 'anderson', 'auto'] as const) {
    it(`${method} reaches the exact fixed point of a linear contraction`, () => {
      const options = resolveSolverOptions({ method, tol: 1e-6, maxIter: 500 });
      const { ws, x0 } = workspace(kind, options);
      const { map, exact } = linearProblem(0.8, 3);
      const sol = getHostSolver(method)(map, x0, options, ws);
      expect(Object.keys(sol.stats).sort()).toEqual(['converged', 'fallbacks', 'iterations', 'residual', 'worstRow']);
      expect(sol.result).toBe('successful');
      expect(sol.stats.converged).toBe(true);
      expect(sol.stats.residual).toBeLessThanOrEqual(1e-6);
      expectClose(sol.value, exact, { atol: 2e-5 }, method);
    });
  }

  it('a solve on column blocks gives the same bits and iterations as on the plain layout', () => {
    // Three blocks of columns [0, 2), [2, 4), [4, 5): every array is laid out block by block.
    const layout: ColumnLayout = [0, 2, 4, 5];
    const view = blocked(sparseKernels(kind), B, n, layout);
    const toBlocked = (a: Float32Array, out: Float32Array) => {
      for (let i = 0; i < n; i++) for (let b = 0; b < B; b++) out[view.index(n, i, b)] = a[i * B + b];
    };
    const toPlain = (a: Float32Array) => {
      const out = new Float32Array(n * B);
      for (let i = 0; i < n; i++) for (let b = 0; b < B; b++) out[i * B + b] = a[view.index(n, i, b)];
      return out;
    };
    for (const [method, extra] of [
      ['picard', {}],
      ['anderson', {}],
      ['anderson', { beta: 0.7 }],
      ['auto', {}],
    ] as const) {
      const options = resolveSolverOptions({ method, tol: 1e-6, maxIter: 500, ...extra });
      const { map } = linearProblem(0.97, 5, true);
      const plain = workspace(kind, options);
      const a = getHostSolver(method)(map, plain.x0, options, plain.ws);
      const aValue = Float32Array.from(a.value);
      const blockedWs = workspace(kind, options, layout);
      const blockedMap = (x: Float32Array, out: Float32Array) => {
        const o = new Float32Array(n * B);
        map(toPlain(x), o);
        toBlocked(o, out);
      };
      const b = getHostSolver(method)(blockedMap, blockedWs.x0, options, blockedWs.ws);
      expect(b.stats.iterations, method).toBe(a.stats.iterations);
      expect(Array.from(toPlain(b.value)), `${method} ${JSON.stringify(extra)}`).toEqual(Array.from(aValue));
    }
  });

  it('anderson needs far fewer iterations than picard on a slow contraction', () => {
    const its: Record<string, number> = {};
    for (const method of ['picard', 'anderson'] as const) {
      const options = resolveSolverOptions({ method, tol: 1e-6, maxIter: 2000 });
      const { ws, x0 } = workspace(kind, options);
      its[method] = getHostSolver(method)(linearProblem(0.97, 5, true).map, x0, options, ws).stats.iterations;
    }
    expect(its.anderson * 3).toBeLessThan(its.picard);
  });

  it('auto is Picard on a fast contraction (same iterates) and switches to Anderson on a slow one', () => {
    const run = (method: 'picard' | 'anderson' | 'auto', rho: number, slow: boolean) => {
      const options = resolveSolverOptions({ method, tol: 1e-6, maxIter: 2000 });
      const { ws, x0 } = workspace(kind, options);
      const { map, exact } = linearProblem(rho, 5, slow);
      const sol = getHostSolver(method)(map, x0, options, ws);
      return { its: sol.stats.iterations, value: Float32Array.from(sol.value), exact, converged: sol.stats.converged };
    };
    // Fast (ρ = 0.2): every check falls by more than switchRatio 0.5, so auto never switches.
    const [p, a] = [run('picard', 0.2, false), run('auto', 0.2, false)];
    expect(a.its).toBe(p.its);
    expect(Array.from(a.value)).toEqual(Array.from(p.value));
    // Slow (ρ = 0.97): auto switches after two Picard checks and ends close to Anderson's count.
    const [ps, as, an] = [run('picard', 0.97, true), run('auto', 0.97, true), run('anderson', 0.97, true)];
    expect(as.converged).toBe(true);
    expect(as.its * 3).toBeLessThan(ps.its);
    expect(as.its).toBeLessThanOrEqual(an.its + 3);
    expectClose(as.value, as.exact, { atol: 2e-5 }, 'auto, slow');
  });

  it('damped picard and mixed anderson (beta < 1) still reach the fixed point', () => {
    for (const options of [
      resolveSolverOptions({ method: 'picard', damping: 0.6, tol: 1e-6, maxIter: 2000 }),
      resolveSolverOptions({ method: 'anderson', beta: 0.7, tol: 1e-6, maxIter: 500 }),
    ]) {
      const { ws, x0 } = workspace(kind, options);
      const { map, exact } = linearProblem(0.7, 9);
      const sol = getHostSolver(options.method)(map, x0, options, ws);
      expect(sol.stats.converged).toBe(true);
      expectClose(sol.value, exact, { atol: 2e-5 }, options.method);
    }
  });

  it('stops at maxIter, reports the residual, and checks every checkEvery iterations', () => {
    const options = resolveSolverOptions({ method: 'picard', tol: 1e-12, maxIter: 7, checkEvery: 3 });
    const { ws, x0 } = workspace(kind, options);
    const sol = getHostSolver('picard')(linearProblem(0.9, 1).map, x0, options, ws);
    expect(sol.result).toBe('maxIterationsReached');
    expect(sol.stats).toMatchObject({ iterations: 7, converged: false });
    expect(sol.stats.residual).toBeGreaterThan(1e-12);
    const early = resolveSolverOptions({ method: 'picard', tol: 1e-3, maxIter: 100, checkEvery: 4 });
    const w2 = workspace(kind, early);
    const s2 = getHostSolver('picard')(linearProblem(0.5, 1).map, w2.x0, early, w2.ws);
    expect(s2.stats.converged).toBe(true);
    expect(s2.stats.iterations % 4).toBe(0);
  });

  it('reports a NaN map as nonFinite', () => {
    for (const method of ['picard', 'anderson', 'auto'] as const) {
      const options = resolveSolverOptions({ method, maxIter: 20 });
      const { ws, x0 } = workspace(kind, options);
      const sol = getHostSolver(method)((_x, out) => out.fill(NaN), x0, options, ws);
      expect(sol.result).toBe('nonFinite');
      expect(sol.stats.converged).toBe(false);
      expect(Number.isFinite(sol.stats.residual)).toBe(false);
    }
  });

  it('rejects a method the host engine does not implement, listing the valid ones', () => {
    expect(() => getHostSolver('newton')).toThrow(/'method' must be one of 'picard', 'anderson', 'auto'.*received "newton"/);
  });
});
