/**
 * The OptNet QP solver on feasible QPs: each row's stopping test is relative to that
 * row's own magnitudes (an inactive bound of 1e10…1e20 or an input of 1e10 changes
 * nothing it should not); larger QPs satisfy the KKT conditions; dependent active rows
 * still converge; the backward pass at polished solutions is finite. Known answers and the
 * independent active-set reference (test/helpers/qp_reference.ts). Infeasible QPs and
 * non-finite weights: test/optnet_solver_errors.test.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { qpBackward, solveQPBatch, type QPData } from '../src/solvers/qp/qp_solve.js';
import { useBackend } from './helpers/backends.js';
import { layerWith, type Constraints } from './helpers/optnet_layer.js';
import { referenceQP } from './helpers/qp_reference.js';
import { rng } from './helpers/rng.js';

let before = 0;
beforeAll(async () => {
  await useBackend('cpu');
  before = tf.memory().numTensors;
});
afterAll(() => expect(tf.memory().numTensors).toBe(before));

describe('OptNet: each row is tested against its own magnitudes', () => {
  // min ½(1 + ε)|z|² + xᵀz, loss ℓ = 0.6·z0 − 1.1·z1.
  const x = [-0.3, -0.7];
  const eps = 1e-4;
  const e = 1 + Math.fround(eps);
  const solve = (cs: Constraints) => {
    const layer = layerWith(cs, { eps });
    const xt = tf.tensor2d([x]);
    const R = tf.tensor1d([0.6, -1.1]);
    const z = layer.apply(xt) as tf.Tensor;
    const dx = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(layer.apply(v) as tf.Tensor, R)))(xt);
    const out = { z: Array.from(z.dataSync()), dx: Array.from(dx.dataSync()), stats: layer.solverStats().forward };
    tf.dispose([xt, R, z, dx]);
    layer.dispose();
    return out;
  };
  // z1 ≤ 2 (inactive: z = −x/(1 + ε)) and z1 ≤ 0.5 (active: z1 = 0.5, dz1/dx = 0).
  const bases = [
    { row: 2, z: [0.3 / e, Math.fround(0.7) / e], dx: [-0.6 / e, 1.1 / e] },
    { row: 0.5, z: [0.3 / e, 0.5], dx: [-0.6 / e, 0] },
  ];

  for (const base of bases) {
    it(`an inactive bound z0 ≤ 1e10, 1e15 or 1e20 gives the answer and the gradient of the QP without it, to 1e-5 (with z1 ≤ ${base.row})`, () => {
      const without = solve({ n: 2, G: [0, 1], h: [base.row], A: [], b: [] });
      for (let k = 0; k < 2; k++) {
        expect(without.z[k]).toBeCloseTo(base.z[k], 6);
        expect(without.dx[k]).toBeCloseTo(base.dx[k], 5);
      }
      for (const bound of [1e10, 1e15, 1e20]) {
        const got = solve({ n: 2, G: [0, 1, 1, 0], h: [base.row, bound], A: [], b: [] });
        expect(got.stats.converged).toBe(true);
        for (let k = 0; k < 2; k++) {
          expect(Math.abs(got.z[k] - without.z[k]), `z${k} with z0 ≤ ${bound}`).toBeLessThan(1e-5);
          expect(Math.abs(got.dx[k] - without.dx[k]), `dℓ/dx${k} with z0 ≤ ${bound}`).toBeLessThan(1e-5);
        }
      }
    });
  }

  it('a box |z| ≤ 1 with input ±1e10 answers exactly at the bounds, converged', () => {
    const box: Constraints = { n: 2, G: [1, 0, 0, 1, -1, 0, 0, -1], h: [1, 1, 1, 1], A: [], b: [] };
    const layer = layerWith(box);
    const xt = tf.tensor2d([
      [1e10, -1e10],
      [-1e10, 0.5],
    ]);
    const z = layer.apply(xt) as tf.Tensor;
    const got = Array.from(z.dataSync());
    const want = [-1, 1, 1, -0.5 / (1 + Math.fround(1e-4))];
    got.forEach((v, i) => expect(Math.abs(v - want[i]), `entry ${i}: ${v}`).toBeLessThan(1e-5));
    expect(layer.solverStats().forward.converged).toBe(true);
    tf.dispose([xt, z]);
    layer.dispose();
  });

  it('random feasible QPs with tight, duplicated, opposite (an equality as two rows), zero and 1e10-scale rows match the reference (float64 core)', () => {
    let worst = 0;
    for (let t = 0; t < 60; t++) {
      const r = rng(5000 + t);
      const n = 1 + Math.floor(r() * 5);
      const p = Math.floor(r() * Math.min(3, n));
      const z0 = Array.from({ length: n }, () => 2 * r() - 1);
      const G: number[] = [];
      const h: number[] = [];
      const row = () => Array.from({ length: n }, () => (r() < 0.2 ? 0 : 2 * r() - 1));
      const at = (g: number[]) => g.reduce((a, v, k) => a + v * z0[k], 0);
      for (let i = 0, m = Math.floor(r() * 7); i < m; i++) {
        const g = row();
        G.push(...g);
        h.push(r() < 0.3 ? at(g) : r() < 0.2 ? 1e10 * (1 + r()) : at(g) + 2 * r());
      }
      const g = row();
      const extra = t % 4;
      if (extra === 0) {
        // An equality written as two opposite inequalities.
        G.push(...g, ...g.map((v) => -v));
        h.push(at(g), -at(g));
      } else if (extra === 1 && h.length > 0) {
        G.push(...G.slice(0, n));
        h.push(h[0]);
      } else if (extra === 2) {
        G.push(...new Array<number>(n).fill(0));
        h.push(r());
      }
      const m = h.length;
      const A = Array.from({ length: p * n }, () => 2 * r() - 1);
      const b = Array.from({ length: p }, (_, e) => at(A.slice(e * n, (e + 1) * n)));
      const L = Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 0.5 + r() : r() - 0.5));
      const Q = Array.from({ length: n * n }, (_, ij) => {
        const [i, j] = [Math.floor(ij / n), ij % n];
        let v = i === j ? 1e-3 : 0;
        for (let k = 0; k <= Math.min(i, j); k++) v += L[i * n + k] * L[j * n + k];
        return v;
      });
      const q = Array.from({ length: n }, () => Math.pow(10, 3 * r() - 1) * (2 * r() - 1));
      const qp: QPData = {
        n,
        m,
        p,
        Q: Float64Array.from(Q),
        G: Float64Array.from(G),
        h: Float64Array.from(h),
        A: Float64Array.from(A),
        b: Float64Array.from(b),
      };
      const sol = solveQPBatch(qp, Float64Array.from(q), 1, { tol: 1e-9, maxIter: 60 });
      const ref = referenceQP({ n, m, p, Q, q, G, h, A, b }, 1e-9)!;
      expect(sol.failure, `case ${t}`).toBe('none');
      expect(sol.converged, `case ${t}`).toBe(true);
      const scale = Math.max(1, ...ref.z.map(Math.abs));
      for (let k = 0; k < n; k++) worst = Math.max(worst, Math.abs(sol.z[k] - ref.z[k]) / scale);
    }
    expect(worst).toBeLessThan(1e-7);
  });
});

describe('OptNet: larger QPs satisfy the KKT conditions (an independent check)', () => {
  it('30 variables, 40 inequalities and 2 equalities, a batch of 16: feasible, λ ≥ 0, stationary and complementary to 1e-7', () => {
    const r = rng(77);
    const [n, m, p, batch] = [30, 40, 2, 16];
    // Parameters under which the polish's first guesses of the active set are sometimes wrong.
    const G = Array.from({ length: m * n }, () => (r() - 0.5) * 0.39);
    const h = new Array<number>(m).fill(1);
    const A = Array.from({ length: p * n }, () => (r() - 0.5) * 0.39);
    const b = Array.from({ length: p }, () => (r() - 0.5) * 0.1);
    const L = Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0.3 * (r() - 0.5)));
    const Q = Array.from({ length: n * n }, (_, ij) => {
      const [i, j] = [Math.floor(ij / n), ij % n];
      let v = i === j ? 1e-4 : 0;
      for (let k = 0; k <= Math.min(i, j); k++) v += L[i * n + k] * L[j * n + k];
      return v;
    });
    const q = Array.from({ length: batch * n }, () => 4 * (r() - 0.5));
    const qp: QPData = { n, m, p, Q: Float64Array.from(Q), G: Float64Array.from(G), h: Float64Array.from(h), A: Float64Array.from(A), b: Float64Array.from(b) };
    const sol = solveQPBatch(qp, Float64Array.from(q), batch, { tol: 1e-9, maxIter: 30 });
    expect(sol.converged).toBe(true);
    let worst = 0;
    let active = 0;
    const dot = (M: number[], row: number, z: Float64Array, zo: number) => {
      let v = 0;
      let a = 0;
      for (let k = 0; k < n; k++) {
        v += M[row * n + k] * z[zo + k];
        a += Math.abs(M[row * n + k] * z[zo + k]);
      }
      return [v, a];
    };
    for (let s = 0; s < batch; s++) {
      const zo = s * n;
      for (let i = 0; i < m; i++) {
        const [gz, a] = dot(G, i, sol.z, zo);
        const lam = sol.lam[s * m + i];
        expect(lam).toBeGreaterThanOrEqual(0);
        worst = Math.max(worst, Math.max(0, gz - h[i]) / (1 + h[i] + a), Math.min(lam, h[i] - gz) / (1 + h[i] + a + lam));
        if (lam > 1e-6) active++;
      }
      for (let e = 0; e < p; e++) {
        const [az, a] = dot(A, e, sol.z, zo);
        worst = Math.max(worst, Math.abs(az - b[e]) / (1 + Math.abs(b[e]) + a));
      }
      for (let k = 0; k < n; k++) {
        const terms = [
          q[zo + k],
          ...Array.from({ length: n }, (_, j) => Q[k * n + j] * sol.z[zo + j]),
          ...Array.from({ length: m }, (_, i) => G[i * n + k] * sol.lam[s * m + i]),
          ...Array.from({ length: p }, (_, e) => A[e * n + k] * sol.nu[s * p + e]),
        ];
        const v = terms.reduce((acc, t) => acc + t, 0);
        const a = terms.reduce((acc, t) => acc + Math.abs(t), 0);
        worst = Math.max(worst, Math.abs(v) / (1 + a));
      }
    }
    expect(active).toBeGreaterThan(batch); // the constraints matter
    expect(worst).toBeLessThan(1e-7);
  });
});

describe('OptNet: dependent active rows', () => {
  // An equality written as two opposite inequalities (rows 0 and 4 of the first, 1 and 5
  // of the second, scaled 2.7e5 and 1e9 apart) with solutions of size 5e4 and 1.5e8: as
  // s/λ → 0 on those rows the dual-form KKT system becomes singular to working precision.
  const cases = [
    {
      n: 2,
      Q: [0.2712832368089938, 0.14008017654381466, 0.14008017654381466, 1.2234448782691227],
      q: [95792.27861437992, -61125.3726081013],
      G: [
        -0.0165491514668777, 0.024547968644730564, 1.5598219883240265, 4.008672055231429, 0.29478520134085695, -0.10951797923547121, 1205.6885268164494,
        -1604.8623343301815, 4492.391994784018, -6663.731252234578,
      ],
      h: [-0.02072661857247495, -0.027197624861663595, 0.8936392592629424, 1452.523736441928, 5626.396950942616],
    },
    {
      n: 2,
      Q: [0.3080534417129324, -0.24267613085154735, -0.24267613085154735, 1.1680294311727208],
      q: [59426565.60394025, -530069.241035469],
      G: [
        0.0000033900971679087126, -0.000006191092631189951, 3517.691163028957, -2902.4237299768224, 0, 0.005188265070749741, 0.00000387501869944186,
        -0.0000062921766608830066, 0.000047531440962588624, -0.00000977323517797028, -0.4130629024801476, 0.7543473136908145,
      ],
      h: [-0.0000019255247522972294, 58829.31821565084, 0.0017419008573165253, 0.000008573099880523937, -0.000001135191761122941, 0.2346135829115203],
    },
  ];
  it('still converge to the reference (the dual-form system is regularized when they make it singular)', () => {
    for (const [t, c] of cases.entries()) {
      const m = c.h.length;
      const qp: QPData = {
        n: c.n,
        m,
        p: 0,
        Q: Float64Array.from(c.Q),
        G: Float64Array.from(c.G),
        h: Float64Array.from(c.h),
        A: new Float64Array(0),
        b: new Float64Array(0),
      };
      const sol = solveQPBatch(qp, Float64Array.from(c.q), 1, { tol: 1e-8, maxIter: 30 });
      const ref = referenceQP({ ...c, m, p: 0, A: [], b: [] }, 1e-9)!;
      expect(sol.converged, `case ${t}`).toBe(true);
      const scale = Math.max(...ref.z.map(Math.abs));
      ref.z.forEach((v, k) => expect(Math.abs(sol.z[k] - v) / scale, `case ${t}, z${k}`).toBeLessThan(1e-7));
    }
  });
});

describe('OptNet: the backward pass at polished solutions', () => {
  it('a degenerate row (tight at the unconstrained minimum, λ = 0) gives one of the one-sided derivatives, finite', () => {
    // min ½|z|² + qᵀz, z1 ≤ 0.5, q = (−0.3, −0.5): z = (0.3, 0.5) on the bound with λ = 0.
    const qp: QPData = {
      n: 2,
      m: 1,
      p: 0,
      Q: Float64Array.from([1, 0, 0, 1]),
      G: Float64Array.from([0, 1]),
      h: Float64Array.from([0.5]),
      A: new Float64Array(0),
      b: new Float64Array(0),
    };
    const sol = solveQPBatch(qp, Float64Array.from([-0.3, -0.5]), 1, { tol: 1e-10, maxIter: 30 });
    expect(sol.converged).toBe(true);
    expect(Array.from(sol.z)).toEqual([expect.closeTo(0.3, 9), expect.closeTo(0.5, 9)]);
    const g = qpBackward(qp, sol, Float64Array.from([0.6, -1.1]), 1);
    expect(g.ok).toBe(true);
    // dℓ/dq = −R with the row inactive, (−0.6, 0) with it active; dℓ/dh = 0 or −1.1.
    expect(g.dq[0]).toBeCloseTo(-0.6, 9);
    expect(
      [1.1, 0].some((v) => Math.abs(g.dq[1] - v) < 1e-9),
      `dq1 = ${g.dq[1]}`,
    ).toBe(true);
    expect([...g.dq, ...g.dQ, ...g.dG, ...g.dh].every(Number.isFinite)).toBe(true);
  });
});
