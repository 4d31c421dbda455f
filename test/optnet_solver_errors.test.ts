/**
 * The OptNet QP solver's error verdicts: infeasible constraints are an error naming the
 * constraint weights however the solve stops and whatever `onNonConvergence` says;
 * NaN/Inf or overflowing weights give a NonFiniteError naming the weight. Known answers
 * and constraints infeasible by construction. Feasible QPs: test/optnet_solver_accuracy.test.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as nm from '../src/index.js';
import { solveQPBatch, type QPData } from '../src/solvers/qp/qp_solve.js';
import { useBackend } from './helpers/backends.js';
import { layerWith, type Constraints } from './helpers/optnet_layer.js';
import { rng } from './helpers/rng.js';

/** A multiple of 1/64 in [lo, hi]: exact in float32, and so are the small sums of such. */
const grid = (r: () => number, lo: number, hi: number) => Math.round((lo + (hi - lo) * r()) * 64) / 64;

/** Gz ≤ h infeasible by construction, exactly in float32: rows 0..k−1 sum to zero and their bounds to a negative number. */
function infeasibleInequalities(seed: number): Constraints {
  const r = rng(seed);
  const n = 2 + Math.floor(r() * 4);
  const m = n + 1 + Math.floor(r() * (n + 2));
  const G = Array.from({ length: m * n }, () => grid(r, -1, 1));
  const h = Array.from({ length: m }, () => grid(r, 0.1, 1.2));
  const last = 1 + Math.floor(r() * (m - 1));
  for (let c = 0; c < n; c++) G[last * n + c] = -Array.from({ length: last }, (_, i) => G[i * n + c]).reduce((a, v) => a + v, 0);
  h[last] = -h.slice(0, last).reduce((a, v) => a + v, 0) - grid(r, 0.25, 2);
  return { n, G, h, A: [], b: [] };
}

/** A box |z_k| ≤ u_k and one or two equality rows whose right-hand sides lie outside what the box can reach. */
function unreachableEqualities(seed: number): Constraints {
  const r = rng(seed);
  const n = 2 + Math.floor(r() * 4);
  const p = 1 + Math.floor(r() * Math.min(2, n - 1));
  const u = Array.from({ length: n }, () => grid(r, 0.25, 1));
  const G: number[] = [];
  const h: number[] = [];
  for (let k = 0; k < n; k++) {
    for (const sign of [1, -1]) {
      G.push(...Array.from({ length: n }, (_, j) => (j === k ? sign : 0)));
      h.push(u[k]);
    }
  }
  const A = Array.from({ length: p * n }, () => grid(r, -1, 1));
  const b = Array.from({ length: p }, (_, e) => {
    const reach = u.reduce((a, uk, k) => a + Math.abs(A[e * n + k]) * uk, 0);
    return ((r() < 0.5 ? -1 : 1) * Math.round(reach * grid(r, 1.2, 3) * 64)) / 64;
  });
  return { n, G, h, A, b };
}

const NAMES_BOTH = /infeasible: no z satisfies Gz ≤ h and Az = b .*'inequalityKernel'\/'inequalityBound' and 'equalityKernel'\/'equalityBound'/;
const NAMES_INEQ = /infeasible: no z satisfies Gz ≤ h \(.*'inequalityKernel'\/'inequalityBound' describe an empty set/;

let before = 0;
beforeAll(async () => {
  await useBackend('cpu');
  before = tf.memory().numTensors;
});
afterAll(() => expect(tf.memory().numTensors).toBe(before));

describe('OptNet: infeasible constraints are an error, however the solve stops', () => {
  it("z1 + z2 = 5 with z ≤ 1 throws naming the constraint weights and the rows that conflict, under 'warn', 'ignore' and 'throw'", () => {
    const issue: Constraints = { n: 2, G: [1, 0, 0, 1], h: [1, 1], A: [1, 1], b: [5] };
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const x = tf.tensor2d([0, 0, 1, 1, -3, 2], [3, 2]);
    for (const policy of ['warn', 'ignore', 'throw'] as const) {
      const layer = layerWith(issue, { onNonConvergence: policy });
      expect(() => layer.apply(x)).toThrow(nm.NonConvergenceError);
      expect(() => layer.apply(x)).toThrow(NAMES_BOTH);
      expect(() => layer.apply(x)).toThrow(/combines inequality rows \[(0, 1|1, 0)\] and equality rows \[0\]/);
      layer.dispose();
    }
    // (tfjs may print its one-time Node.js notice through console.warn.)
    expect(warn.mock.calls.filter((c) => String(c[0]).includes('optNet'))).toEqual([]);
    warn.mockRestore();
    x.dispose();
  });

  it("20 random infeasible inequality-only QPs and 10 unreachable equalities in a box all throw (none answered), with onNonConvergence 'ignore'", () => {
    const cases = [
      ...Array.from({ length: 20 }, (_, t) => ({ cs: infeasibleInequalities(1000 + t), re: NAMES_INEQ })),
      ...Array.from({ length: 10 }, (_, t) => ({ cs: unreachableEqualities(2000 + t), re: NAMES_BOTH })),
    ];
    let answered = 0;
    for (const [t, { cs, re }] of cases.entries()) {
      const layer = layerWith(cs, { onNonConvergence: 'ignore' });
      const x = tf.tidy(() => tf.mul(tf.randomUniform([4, cs.n], -1, 1, 'float32', t + 1), 2));
      try {
        (layer.apply(x) as tf.Tensor).dispose();
        answered++;
      } catch (e) {
        expect(e).toBeInstanceOf(nm.NonConvergenceError);
        expect((e as Error).message).toMatch(re);
      }
      x.dispose();
      layer.dispose();
    }
    expect(answered).toBe(0);
  });

  it('finds the certificate whatever the iteration cap, including the cap of 1 and the default (float64 core)', () => {
    for (const maxIter of [1, 2, 5, 30]) {
      for (let t = 0; t < 20; t++) {
        const { n, G, h } = infeasibleInequalities(1000 + t);
        const m = h.length;
        const Q = new Float64Array(n * n);
        for (let k = 0; k < n; k++) Q[k * n + k] = 1;
        const qp: QPData = { n, m, p: 0, Q, G: Float64Array.from(G), h: Float64Array.from(h), A: new Float64Array(0), b: new Float64Array(0) };
        const r = rng(t + 1);
        const q = Float64Array.from({ length: 3 * n }, () => 4 * r() - 2);
        const sol = solveQPBatch(qp, q, 3, { tol: 1e-8, maxIter });
        expect(sol.failure, `case ${t}, maxIter ${maxIter}`).toBe('infeasible');
        expect(sol.failedRow).toBe(0);
        // Checked at every iteration: with the default cap it is found before the cap, not in the extra steps after it.
        if (maxIter === 30) expect(sol.iterations, `case ${t}`).toBeLessThanOrEqual(30);
      }
    }
  });
});

describe('OptNet: NaN/Inf or overflowing weights name the weight', () => {
  const box: Constraints = { n: 2, G: [1, 0, 0, 1, -1, 0, 0, -1], h: [1, 1, 1, 1], A: [1, 1], b: [0] };
  const cases: [string, (l: nm.layers.OptNetLayer) => void, number, RegExp][] = [
    ['L = 1e30 (Q overflows float32)', () => {}, 1e30, /Q = LLᵀ \+ εI overflows float32: the weight 'cholesky' holds entries up to 1\.00e\+30/],
    ['L = NaN', () => {}, NaN, /the weight 'cholesky' has NaN\/Inf \(entry 0 is NaN\)/],
    ['inequalityBound = Inf', (l) => setWeight(l, 4, [1, Infinity, 1, 1]), 1, /the weight 'inequalityBound' has NaN\/Inf \(entry 1 is Infinity\)/],
    ['inequalityKernel = NaN', (l) => setWeight(l, 3, [1, 0, 0, NaN, -1, 0, 0, -1]), 1, /the weight 'inequalityKernel' has NaN\/Inf \(entry 3 is NaN\)/],
    ['equalityBound = −Inf', (l) => setWeight(l, 6, [-Infinity]), 1, /the weight 'equalityBound' has NaN\/Inf/],
    ['kernel = NaN', (l) => setWeight(l, 0, [1, NaN, 0, 1]), 1, /the weight 'kernel' has NaN\/Inf \(entry 1 is NaN\)/],
  ];
  function setWeight(l: nm.layers.OptNetLayer, index: number, values: number[]) {
    const w = l.getWeights();
    const replaced = w.map((t, i) => (i === index ? tf.tensor(values, t.shape) : t));
    l.setWeights(replaced);
    replaced[index].dispose();
  }
  for (const [label, spoil, lScale, re] of cases) {
    it(`${label}: a NonFiniteError, not 'linearly dependent'`, () => {
      const layer = layerWith(box, {}, lScale);
      spoil(layer);
      const x = tf.tensor2d([[0.5, -0.25]]);
      expect(() => layer.apply(x)).toThrow(nm.NonFiniteError);
      expect(() => layer.apply(x)).toThrow(re);
      x.dispose();
      layer.dispose();
    });
  }
});
