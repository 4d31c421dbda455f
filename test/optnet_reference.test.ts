/**
 * The OptNet layer (Amos & Kolter 2017): solutions and gradients against an
 * independent float64 active-set enumeration (test/helpers/qp_reference.ts) and its
 * central finite differences, in the float64 core and in the layer on every backend;
 * infeasible QPs and solves that miss their tolerance. Arguments, training and saving:
 * test/optnet_config_models.test.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import * as nm from '../src/index.js';
import { qpBackward, solveQPBatch, type QPData } from '../src/solvers/qp/qp_solve.js';
import { BACKENDS, useBackend } from './helpers/backends.js';
import { expectClose } from './helpers/close.js';
import { referenceQP } from './helpers/qp_reference.js';
import { centeredRng } from './helpers/rng.js';

/** Float64 parameters of a fully-connected OptNet layer (row-major). */
interface Params {
  nIn: number;
  n: number;
  m: number;
  p: number;
  eps: number;
  W: number[];
  c: number[];
  L: number[];
  G: number[];
  h: number[];
  A: number[];
  b: number[];
}
type Key = 'W' | 'c' | 'L' | 'G' | 'h' | 'A' | 'b';
const KEYS: Key[] = ['W', 'c', 'L', 'G', 'h', 'A', 'b'];

/** Values rounded to float32 (what the layer's weights hold). */
const f32 = (v: number[]) => Array.from(Float32Array.from(v));

function makeParams(seed: number, nIn: number, n: number, m: number, p: number): Params {
  const r = centeredRng(seed);
  const mk = (k: number, f: () => number) => f32(Array.from({ length: k }, f));
  const G = mk(m * n, () => 2 * r());
  const h = mk(m, () => 0.2 + Math.abs(r()));
  const A = mk(p * n, () => 2 * r());
  // b = A·z0 for a small z0 that satisfies Gz0 < h: the QP is feasible.
  const z0 = Array.from({ length: n }, () => 0.05 * r());
  const b = f32(Array.from({ length: p }, (_, e) => z0.reduce((acc, zk, k) => acc + A[e * n + k] * zk, 0)));
  return {
    nIn,
    n,
    m,
    p,
    eps: 1e-3,
    W: mk(nIn * n, () => 2 * r()),
    c: mk(n, () => r()),
    L: mk(n * n, () => 1.2 * r()),
    G,
    h,
    A,
    b,
  };
}

/** Q = tril(L)·tril(L)ᵀ + εI in float64. */
function quadratic(P: Params): number[] {
  const { n, L, eps } = P;
  const Q = new Array<number>(n * n).fill(0);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let v = 0;
      for (let k = 0; k <= Math.min(i, j); k++) v += L[i * n + k] * L[j * n + k];
      Q[i * n + j] = v + (i === j ? Math.fround(eps) : 0);
    }
  }
  return Q;
}

/** The reference layer output `[batch, n]` (active-set enumeration per row) and each row's solution. */
function referenceLayer(P: Params, x: number[], batch: number) {
  const { nIn, n, m, p, W, c, G, h, A, b } = P;
  const Q = quadratic(P);
  const z: number[] = [];
  const rows = [];
  for (let r = 0; r < batch; r++) {
    const q = Array.from({ length: n }, (_, k) => c[k] + Array.from({ length: nIn }, (_, i) => x[r * nIn + i] * W[i * n + k]).reduce((a, v) => a + v, 0));
    const sol = referenceQP({ n, m, p, Q, q, G, h, A, b });
    if (sol == null) throw new Error(`reference: row ${r} infeasible`);
    z.push(...sol.z);
    rows.push({ ...sol, q });
  }
  return { z, rows, Q };
}

function buildLayer(P: Params, extra: Partial<nm.layers.OptNetLayerArgs> = {}): nm.layers.OptNetLayer {
  const layer = nm.layers.optNet({ units: P.n, inequalities: P.m, equalities: P.p, eps: P.eps, ...extra });
  layer.apply(tf.input({ shape: [P.nIn] })); // builds it (symbolically: no solve)
  const { nIn, n, m, p } = P;
  const w = [tf.tensor2d(P.W, [nIn, n]), tf.tensor1d(P.c), tf.tensor2d(P.L, [n, n])];
  if (m > 0) w.push(tf.tensor2d(P.G, [m, n]), tf.tensor1d(P.h));
  if (p > 0) w.push(tf.tensor2d(P.A, [p, n]), tf.tensor1d(P.b));
  layer.setWeights(w);
  tf.dispose(w);
  return layer;
}

const BATCH = 6;
const CASES = [
  { name: 'inequalities and one equality', seed: 11, nIn: 3, n: 4, m: 5, p: 1 },
  { name: 'inequalities only', seed: 5, nIn: 2, n: 3, m: 4, p: 0 },
  { name: 'equalities only', seed: 7, nIn: 2, n: 3, m: 0, p: 2 },
];

/** Input rows, float32-exact. */
const inputs = (seed: number, nIn: number) => f32(Array.from({ length: BATCH * nIn }, centeredRng(seed * 7 + 1)).map((v) => 4 * v));
/** Weights of the test loss Σ R⊙z. */
const lossWeights = (n: number) => Array.from({ length: BATCH * n }, centeredRng(99));

const report: string[] = [];
afterEach(() => {
  if (report.length) console.log(report.splice(0).join('\n'));
});

describe('OptNet numerical core (float64) against the active-set reference', () => {
  for (const cs of CASES) {
    it(`solves and differentiates the QPs: ${cs.name}`, () => {
      const P = makeParams(cs.seed, cs.nIn, cs.n, cs.m, cs.p);
      const x = inputs(cs.seed, cs.nIn);
      const ref = referenceLayer(P, x, BATCH);
      const { n, m, p } = P;
      // The cases must exercise both active and inactive inequalities, each clearly so (strict complementarity).
      if (m > 0) {
        const active = ref.rows.reduce((a, r) => a + r.active.length, 0);
        expect(active).toBeGreaterThan(0);
        expect(active).toBeLessThan(BATCH * m);
        for (const r of ref.rows) for (const i of r.active) expect(r.lam[i]).toBeGreaterThan(1e-3);
      }
      const qp: QPData = {
        n,
        m,
        p,
        Q: Float64Array.from(ref.Q),
        G: Float64Array.from(P.G),
        h: Float64Array.from(P.h),
        A: Float64Array.from(P.A),
        b: Float64Array.from(P.b),
      };
      const q = Float64Array.from(ref.rows.flatMap((r) => r.q));
      const sol = solveQPBatch(qp, q, BATCH, { tol: 1e-11, maxIter: 60 });
      expect(sol.converged).toBe(true);
      const cz = expectClose(sol.z, ref.z, { atol: 1e-8 }, 'z*');
      const cl = expectClose(
        sol.lam,
        ref.rows.flatMap((r) => r.lam),
        { atol: 1e-7 },
        'λ*',
      );
      const cn = expectClose(
        sol.nu,
        ref.rows.flatMap((r) => r.nu),
        { atol: 1e-7 },
        'ν*',
      );
      // Gradients of ℓ = Σ R⊙z* against central differences of the reference.
      const R = lossWeights(n);
      const g = qpBackward(qp, sol, Float64Array.from(R), BATCH);
      expect(g.ok).toBe(true);
      const loss = (d: { Q: number[]; q: number[]; G: number[]; h: number[]; A: number[]; b: number[] }) => {
        let acc = 0;
        for (let r = 0; r < BATCH; r++) {
          const s = referenceQP({ n, m, p, Q: d.Q, q: d.q.slice(r * n, (r + 1) * n), G: d.G, h: d.h, A: d.A, b: d.b })!;
          for (let k = 0; k < n; k++) acc += R[r * n + k] * s.z[k];
        }
        return acc;
      };
      const base = { Q: ref.Q, q: Array.from(q), G: P.G, h: P.h, A: P.A, b: P.b };
      const delta = 1e-6;
      const fd = (key: keyof typeof base, i: number, j = -1) => {
        const bump = (sgn: number) => {
          const d = { ...base, [key]: [...base[key]] };
          if (key === 'Q' && j >= 0 && j !== i) {
            // A symmetric perturbation: the directional derivative equals the symmetric dQ[i, j].
            d.Q[i * n + j] += (sgn * delta) / 2;
            d.Q[j * n + i] += (sgn * delta) / 2;
          } else d[key][key === 'Q' ? i * n + i : i] += sgn * delta;
          return loss(d);
        };
        return (bump(1) - bump(-1)) / (2 * delta);
      };
      let worst = 0;
      const check = (label: string, got: Float64Array, want: number[]) =>
        (worst = Math.max(worst, expectClose(got, want, { atol: 1e-6, rtol: 1e-5 }, label).maxAbs));
      check(
        'dq',
        g.dq,
        Array.from(q, (_, i) => fd('q', i)),
      );
      const dQ: number[] = [];
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) dQ.push(fd('Q', i, j));
      check('dQ', g.dQ, dQ);
      check(
        'dG',
        g.dG,
        P.G.map((_, i) => fd('G', i)),
      );
      check(
        'dh',
        g.dh,
        P.h.map((_, i) => fd('h', i)),
      );
      check(
        'dA',
        g.dA,
        P.A.map((_, i) => fd('A', i)),
      );
      check(
        'db',
        g.db,
        P.b.map((_, i) => fd('b', i)),
      );
      report.push(
        `[optnet core, ${cs.name}] iterations ${sol.iterations}, max |z − ref| ${cz.maxAbs.toExponential(2)}, |λ − ref| ${cl.maxAbs.toExponential(2)}, |ν − ref| ${cn.maxAbs.toExponential(2)}, max |grad − FD| ${worst.toExponential(2)}`,
      );
    });
  }
});

describe.each(BACKENDS)('OptNet layer on %s', (backend) => {
  beforeAll(async () => useBackend(backend));

  for (const cs of CASES) {
    it(`matches the reference's output and finite-difference gradients wrt x and every weight: ${cs.name}`, () => {
      const P = makeParams(cs.seed, cs.nIn, cs.n, cs.m, cs.p);
      const x = inputs(cs.seed, cs.nIn);
      const ref = referenceLayer(P, x, BATCH);
      const layer = buildLayer(P);
      const xt = tf.tensor2d(x, [BATCH, P.nIn]);
      const z = layer.apply(xt) as tf.Tensor;
      const cz = expectClose(z, ref.z, { atol: 2e-5, rtol: 1e-4 }, 'z*');
      expect(layer.solverStats().forward.converged).toBe(true);
      z.dispose();
      // Layer gradients (float32) of ℓ = Σ R⊙z.
      const R = lossWeights(P.n);
      const Rt = tf.tensor2d(R, [BATCH, P.n]);
      const f = (xin: tf.Tensor) => tf.sum(tf.mul(layer.apply(xin) as tf.Tensor, Rt)) as tf.Scalar;
      const { grads } = tf.variableGrads(
        () => f(xt),
        layer.trainableWeights.map((w) => w.read() as tf.Variable),
      );
      const dx = tf.grad(f)(xt);
      // Reference: central differences of the float64 reference.
      const loss = (Pp: Params, xx: number[]) => referenceLayer(Pp, xx, BATCH).z.reduce((a, v, i) => a + R[i] * v, 0);
      const delta = 1e-6;
      const fdParam = (key: Key) =>
        P[key].map((_, i) => {
          const up = { ...P, [key]: P[key].map((v, j) => (j === i ? v + delta : v)) };
          const dn = { ...P, [key]: P[key].map((v, j) => (j === i ? v - delta : v)) };
          return (loss(up, x) - loss(dn, x)) / (2 * delta);
        });
      const tol = { atol: 2e-3, rtol: 2e-3 };
      let worst = expectClose(
        dx,
        x.map(
          (_, i) =>
            (loss(
              P,
              x.map((v, j) => (j === i ? v + delta : v)),
            ) -
              loss(
                P,
                x.map((v, j) => (j === i ? v - delta : v)),
              )) /
            (2 * delta),
        ),
        tol,
        'dℓ/dx',
      ).maxAbs;
      const present = KEYS.filter((k) => P[k].length > 0);
      expect(layer.trainableWeights.map((w) => w.originalName.split('/').pop())).toHaveLength(present.length);
      layer.trainableWeights.forEach((w, i) => {
        const key = present[i];
        const want = fdParam(key);
        // L: only its lower triangle enters Q; the upper triangle's gradient is 0.
        worst = Math.max(worst, expectClose(grads[w.name], want, tol, `dℓ/d${key}`).maxAbs);
      });
      report.push(`[optnet layer ${backend}, ${cs.name}] max |z − ref| ${cz.maxAbs.toExponential(2)}, max |grad − FD| ${worst.toExponential(2)}`);
      tf.dispose([xt, Rt, dx, ...Object.values(grads)]);
      layer.dispose();
    });
  }

  it('rejects infeasible QPs with an error that names the constraints', () => {
    // z ≤ -1 and -z ≤ -1 (z ≥ 1): empty.
    const P: Params = { nIn: 1, n: 1, m: 2, p: 0, eps: 1e-3, W: [1], c: [0], L: [1], G: [1, -1], h: [-1, -1], A: [], b: [] };
    const layer = buildLayer(P);
    const x = tf.ones([2, 1]);
    expect(() => layer.apply(x)).toThrow(nm.NonConvergenceError);
    expect(() => layer.apply(x)).toThrow(/infeasible: no z satisfies Gz ≤ h .*'inequalityKernel'\/'inequalityBound'/);
    layer.dispose();
    // A box |z_k| ≤ 1 with the equality z_0 = 5.
    const B: Params = {
      nIn: 1,
      n: 2,
      m: 4,
      p: 1,
      eps: 1e-3,
      W: [1, 1],
      c: [0, 0],
      L: [1, 0, 0, 1],
      G: [1, 0, 0, 1, -1, 0, 0, -1],
      h: [1, 1, 1, 1],
      A: [1, 0],
      b: [5],
    };
    const box = buildLayer(B);
    expect(() => box.apply(x)).toThrow(/infeasible: no z satisfies Gz ≤ h and Az = b/);
    box.dispose();
    // Linearly dependent equality rows.
    const D: Params = { nIn: 1, n: 2, m: 0, p: 2, eps: 1e-3, W: [1, 1], c: [0, 0], L: [1, 0, 0, 1], G: [], h: [], A: [1, 1, 2, 2], b: [0, 0] };
    const dep = buildLayer(D);
    expect(() => dep.apply(x)).toThrow(/equality rows A \(2 × 2\) are linearly dependent/);
    dep.dispose();
    // NaN input: a NonFiniteError, not an infeasibility verdict.
    const fine = buildLayer(makeParams(5, 2, 3, 4, 0));
    const nan = tf.tensor2d([0, NaN, 1, 1], [2, 2]);
    expect(() => fine.apply(nan)).toThrow(nm.NonFiniteError);
    expect(() => fine.apply(nan)).toThrow(/the QP of row 0 of 2 has NaN\/Inf data/);
    fine.dispose();
    tf.dispose([x, nan]);
  });

  it('applies onNonConvergence to a solve that misses its tolerance', () => {
    const P = makeParams(11, 3, 4, 5, 1);
    const x = tf.tensor2d(inputs(11, 3), [BATCH, 3]);
    const thrower = buildLayer(P, { solver: { maxIter: 2 }, onNonConvergence: 'throw' });
    expect(() => thrower.apply(x)).toThrow(/did not converge: scaled residual .* > tol 1e-8 .* after 2 iterations \(maxIter 2\)/);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const warner = buildLayer(P, { solver: { maxIter: 2 } });
    tf.dispose([warner.apply(x) as tf.Tensor, warner.apply(x) as tf.Tensor]);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warner.solverStats().forward).toMatchObject({ iterations: 2, converged: false });
    warn.mockRestore();
    tf.dispose(x);
    thrower.dispose();
    warner.dispose();
  });
});
