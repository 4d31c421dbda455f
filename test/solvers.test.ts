import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, useBackend } from './helpers/backends.js';
import { refSolveSample } from './helpers/reference.js';
import * as solvers from '../src/solvers/index.js';
import { Random } from '../src/utils/random.js';
import { expectClose } from './helpers/close.js';

const n = 6;
const B = 3;
const r = new Random(9);
const a = Float64Array.from({ length: n * n }, (_, i) => (Math.floor(i / n) === i % n ? 0 : 0.5 * r.normal()));
// Scale A to spectral radius below 1 in a crude but safe way (row sums).
const rowMax = Math.max(...Array.from({ length: n }, (_, j) => a.slice(j * n, j * n + n).reduce((s, v) => s + Math.abs(v), 0)));
for (let i = 0; i < a.length; i++) a[i] *= 0.8 / rowMax;
const c = Array.from({ length: B }, () => Array.from({ length: n }, () => r.normal()));

function problem() {
  const aT = tf.tensor2d(Float32Array.from(a), [n, n]);
  const cT = tf.tensor2d(c);
  const f: solvers.FixedPointMap = (x) => tf.add(cT, tf.matMul(tf.tanh(x), aT)) as tf.Tensor2D;
  f.jacobian = (x) => tf.mul(tf.expandDims(tf.sub(1, tf.square(tf.tanh(x))), 2), tf.expandDims(aT, 0)) as tf.Tensor3D;
  return f;
}

describe.each(BACKENDS)('solvers on %s', (backend) => {
  beforeAll(async () => useBackend(backend));

  for (const method of solvers.SOLVER_NAMES) {
    it(`${method} solves x = c + tanh(x)·A to the float64 reference, with the shared stats keys`, () => {
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        const opts = solvers.resolveSolverOptions({ method, tol: 1e-6, maxIter: 200 });
        const sol = solvers.getSolver(method)(problem(), tf.zeros([B, n]), opts);
        expect(sol.result).toBe('successful');
        expect(Object.keys(sol.stats).sort()).toEqual(['converged', 'fallbacks', 'iterations', 'residual', 'worstRow']);
        expect(sol.stats.converged).toBe(true);
        expect(sol.stats.residual).toBeLessThanOrEqual(1e-6);
        const got = sol.value.arraySync() as number[][];
        c.forEach((row, b) => {
          const ref = refSolveSample(row, a, n, 'tanh');
          expectClose(got[b], ref, { atol: 1e-5 }, `${method} row ${b}`);
        });
        sol.value.dispose();
      });
      expect(tf.memory().numTensors).toBe(before);
    });

    it(`${method} stops at maxIter and says so`, () => {
      tf.tidy(() => {
        const sol = solvers.getSolver(method)(problem(), tf.zeros([B, n]), solvers.resolveSolverOptions({ method, tol: 1e-12, maxIter: 1 }));
        expect(sol.result).toBe('maxIterationsReached');
        expect(sol.stats).toMatchObject({ iterations: 1, converged: false });
        expect(sol.stats.residual).toBeGreaterThan(1e-12);
        sol.value.dispose();
      });
    });
  }

  it("'auto' is the default method, for the layer's forward and backward solves", () => {
    expect(solvers.resolveSolverOptions(undefined).method).toBe('auto');
    expect(solvers.DEFAULT_SOLVER).toMatchObject({ method: 'auto', tol: 1e-4, maxIter: 50, switchRatio: 0.5 });
  });

  it("auto hands Picard's iterate to Anderson on a slow contraction without leaking a tensor", () => {
    // x ↦ c + x·D, D diagonal with entries up to 0.97: a slow linear contraction, fixed point c/(1 − d).
    const d = Array.from({ length: n }, (_, i) => 0.97 - 0.05 * i);
    const dT = tf.tidy(() => tf.diag(tf.tensor1d(d)) as tf.Tensor2D);
    const cT = tf.tensor2d(c);
    const x0 = tf.zeros([B, n]) as tf.Tensor2D;
    const its: Record<string, number> = {};
    for (const method of ['picard', 'anderson', 'auto'] as const) {
      // No enclosing tidy: a tensor the solve forgets to free stays counted.
      const before = tf.memory().numTensors;
      const sol = solvers.getSolver(method)(
        (x) => tf.add(cT, tf.matMul(x, dT)) as tf.Tensor2D,
        x0,
        solvers.resolveSolverOptions({ method, tol: 1e-6, maxIter: 1000 }),
      );
      expect(sol.stats.converged).toBe(true);
      its[method] = sol.stats.iterations;
      const got = sol.value.arraySync() as number[][];
      sol.value.dispose();
      expect(tf.memory().numTensors, method).toBe(before);
      // The error is about the residual over (1 − 0.97): relative 1e-6·33.
      c.forEach((row, b) =>
        expectClose(
          got[b],
          row.map((v, k) => v / (1 - d[k])),
          { atol: 1e-4, rtol: 1e-4 },
          `${method} row ${b}`,
        ),
      );
    }
    for (const t of [dT, cT, x0]) t.dispose();
    expect(its.auto * 3).toBeLessThan(its.picard);
    // The Picard checks before the switch, and Anderson's history starting afresh from there.
    expect(its.auto).toBeLessThanOrEqual(its.anderson + 8);
  });

  it('checkEvery skips convergence checks but still stops converged', () => {
    tf.tidy(() => {
      const sol = solvers.picard(problem(), tf.zeros([B, n]), solvers.resolveSolverOptions({ method: 'picard', tol: 1e-6, maxIter: 500, checkEvery: 7 }));
      expect(sol.stats.converged).toBe(true);
      expect(sol.stats.iterations % 7).toBe(0);
      sol.value.dispose();
    });
  });

  it('anderson falls back to picard on a non-finite Gram system and counts it; the result is flagged', () => {
    tf.tidy(() => {
      const base = problem();
      const nanRow = tf.tensor2d([
        [NaN, NaN, NaN, NaN, NaN, NaN],
        [0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0],
      ]);
      let calls = 0;
      const f: solvers.FixedPointMap = (x) => (++calls === 3 ? (tf.add(base(x), nanRow) as tf.Tensor2D) : base(x));
      const sol = solvers.anderson(f, tf.zeros([B, n]), solvers.resolveSolverOptions({ method: 'anderson', tol: 1e-9, maxIter: 6 }));
      expect(sol.stats.fallbacks).toBeGreaterThan(0);
      expect(sol.result).toBe('nonFinite');
      sol.value.dispose();
    });
  });

  it('newton without a jacobian is a clear error', () => {
    const f: solvers.FixedPointMap = (x) => tf.clone(x);
    expect(() => solvers.newton(f, tf.zeros([1, 2]), solvers.resolveSolverOptions('newton'))).toThrow(/'newton': the fixed-point map has no 'jacobian'/);
  });
});
