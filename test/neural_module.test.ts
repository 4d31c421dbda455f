import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { BACKENDS, useBackend } from './helpers/backends.js';
import { type Act, refForward, refMask } from './helpers/reference.js';
import { setKernelAndGraph } from './helpers/nm_weights.js';
import { DENSITY, handGraph, N, P, rng, STRONG } from './helpers/nm_hand_graph.js';
import { expectClose } from './helpers/close.js';

const B = 3;

function buildLayerOn(args: Partial<nm.layers.NeuralModuleLayerArgs>, w: Float64Array, kernel: Float64Array) {
  const layer = nm.layers.neuralModule({ units: P, density: DENSITY, solver: { method: 'anderson', tol: 1e-7, maxIter: 200 }, ...args });
  layer.build([null, N]);
  setKernelAndGraph(layer, tf.tensor2d(Float32Array.from(kernel), [N, P]), tf.tensor2d(Float32Array.from(w), [P, P]));
  return layer;
}

function toRows(t: tf.Tensor): number[][] {
  return t.arraySync() as number[][];
}

const CASES = BACKENDS.flatMap((backend) => (['host', 'tensor'] as const).map((engine) => [backend, engine] as const));

describe.each(CASES)('NeuralModule layer on %s, %s engine', (backend, engine) => {
  beforeAll(async () => useBackend(backend));
  const buildLayer = (args: Partial<nm.layers.NeuralModuleLayerArgs>, w: Float64Array, kernel: Float64Array) => {
    const layer = buildLayerOn({ engine, ...args }, w, kernel);
    expect(layer.activeEngine()).toBe(engine);
    return layer;
  };

  const rand = rng(7);
  const kernel = Float64Array.from({ length: N * P }, () => 0.6 * rand());
  const uRows = Array.from({ length: B }, () => Array.from({ length: N }, () => rand()));
  const w = handGraph();

  it('finds the hand-built modules, in topological order', () => {
    const layer = buildLayer({}, w, kernel);
    const s = layer.structure();
    const sets = s.modules.map((m) => m.join(',')).sort();
    expect(sets).toEqual(['0,1,2', '3', '4,5', '6', '7,8', '9'].sort());
    const pos = (node: number) => s.modules.findIndex((m) => m.includes(node));
    for (const [j, k] of STRONG) if (pos(j) !== pos(k)) expect(pos(j)).toBeLessThan(pos(k));
    expect(s.edges).toBe(STRONG.length);
    expect(s.largestModule).toBe(3);
  });

  const methods = engine === 'host' ? (['picard', 'anderson', 'auto'] as const) : (['picard', 'anderson', 'broyden', 'newton', 'auto'] as const);
  for (const method of methods) {
    it(`forward output matches the float64 reference (${method})`, () => {
      const layer = buildLayer({ solver: { method, tol: 1e-7, maxIter: 300 } }, w, kernel);
      const out = toRows(layer.apply(tf.tensor2d(uRows)) as tf.Tensor);
      const ref = refForward(uRows, kernel, w, refMask(w, P, DENSITY, 'graph'), P, 'tanh');
      expectClose(out.flat(), ref.flat(), { atol: 1e-4 }, method);
      expect(layer.solverStats().forward, JSON.stringify(layer.solverStats().forward)).toMatchObject({ converged: true });
    });
  }

  for (const act of ['tanh', 'sigmoid', 'softplus'] as const) {
    it(`every gradient matches central differences of the reference (${act})`, () => {
      const layer = buildLayer({ activation: act, backwardSolver: { method: 'anderson', tol: 1e-8, maxIter: 300 } }, w, kernel);
      const R = Array.from({ length: B }, () => Array.from({ length: P }, () => rand()));
      const rT = tf.tensor2d(R);
      const uT = tf.tensor2d(uRows);
      const loss = (u: tf.Tensor) => tf.sum(tf.mul(layer.apply(u) as tf.Tensor, rT)) as tf.Scalar;
      const { grads } = tf.variableGrads(() => loss(uT));
      const gU = Array.from(grads[layer.weights[0].name].dataSync());
      const gW = Array.from(grads[layer.weights[1].name].dataSync());
      const gu = toRows(tf.grad(loss)(uT));
      const mask = refMask(w, P, DENSITY, 'graph');
      const a0 = Float64Array.from(w, (v, i) => (mask[i] ? v : 0));
      const refLoss = (uu: number[][], kk: Float64Array, ww: Float64Array, aa: Float64Array) =>
        refForward(uu, kk, ww, mask, P, act as Act, aa).reduce((s, row, b) => s + row.reduce((t, h, k) => t + h * R[b][k], 0), 0);
      const eps = 1e-6;
      const check = (analytic: number, plus: number, minus: number) => {
        const fd = (plus - minus) / (2 * eps);
        expectClose([analytic], [fd], { atol: 2e-3, rtol: 2e-3 }, 'gradient vs central difference');
      };
      // Off-diagonal edges, active AND masked (straight-through: ∂L/∂A[j,k]).
      let maskedChecked = 0;
      for (let j = 0; j < P; j++) {
        for (let k = 0; k < P; k++) {
          if (j === k) continue;
          const ap = a0.slice();
          ap[j * P + k] += eps;
          const am = a0.slice();
          am[j * P + k] -= eps;
          check(gW[j * P + k], refLoss(uRows, kernel, w, ap), refLoss(uRows, kernel, w, am));
          if (!mask[j * P + k]) maskedChecked++;
        }
      }
      expect(maskedChecked).toBeGreaterThan(70);
      // Diagonal = bias.
      for (let k = 0; k < P; k++) {
        const wp = w.slice();
        wp[k * P + k] += eps;
        const wm = w.slice();
        wm[k * P + k] -= eps;
        check(gW[k * P + k], refLoss(uRows, kernel, wp, a0), refLoss(uRows, kernel, wm, a0));
      }
      // Input kernel.
      for (let i = 0; i < N * P; i++) {
        const kp = kernel.slice();
        kp[i] += eps;
        const km = kernel.slice();
        km[i] -= eps;
        check(gU[i], refLoss(uRows, kp, w, a0), refLoss(uRows, km, w, a0));
      }
      // Layer input.
      for (let b = 0; b < B; b++) {
        for (let i = 0; i < N; i++) {
          const up = uRows.map((r) => r.slice());
          up[b][i] += eps;
          const um = uRows.map((r) => r.slice());
          um[b][i] -= eps;
          check(gu[b][i], refLoss(up, kernel, w, a0), refLoss(um, kernel, w, a0));
        }
      }
    });
  }

  it("'dag' topology is explicit: zero iterations, reference values, no gradient to the lower triangle", () => {
    const rnd = rng(3);
    const wd = Float64Array.from({ length: P * P }, (_, i) => (Math.floor(i / P) < i % P ? 0.5 * rnd() : Math.floor(i / P) === i % P ? 0.2 * rnd() : 0));
    const layer = buildLayer({ topology: 'dag', density: 0.3 }, wd, kernel);
    const uT = tf.tensor2d(uRows);
    const out = toRows(layer.apply(uT) as tf.Tensor);
    const ref = refForward(uRows, kernel, wd, refMask(wd, P, 0.3, 'dag'), P, 'tanh');
    expectClose(out.flat(), ref.flat(), { atol: 1e-5 }, 'dag forward');
    const { grads } = tf.variableGrads(() => tf.sum(layer.apply(uT) as tf.Tensor) as tf.Scalar);
    const gW = grads[layer.weights[1].name].arraySync() as number[][];
    expect(layer.solverStats().forward.iterations).toBe(0);
    expect(layer.solverStats().backward.iterations).toBe(0);
    expect(layer.structure().largestModule).toBe(1);
    for (let j = 0; j < P; j++) for (let k = 0; k < j; k++) expect(gW[j][k]).toBe(0);
    expect(gW.some((row, j) => row.some((v, k) => k > j && v !== 0))).toBe(true);
  });

  it('agrees with the reference on a random graph (mask, modules and values)', () => {
    const p = 24;
    const rnd = rng(11);
    const wr = Float64Array.from({ length: p * p }, () => 0.6 * rnd());
    const kr = Float64Array.from({ length: N * p }, () => 0.5 * rnd());
    const layer = nm.layers.neuralModule({ units: p, density: 0.06, engine, solver: { tol: 1e-7, maxIter: 300 }, graphConstraint: null });
    layer.build([null, N]);
    setKernelAndGraph(layer, tf.tensor2d(Float32Array.from(kr), [N, p]), tf.tensor2d(Float32Array.from(wr), [p, p]));
    const out = toRows(layer.apply(tf.tensor2d(uRows)) as tf.Tensor);
    const ref = refForward(uRows, kr, wr, refMask(wr, p, 0.06, 'graph'), p, 'tanh');
    expectClose(out.flat(), ref.flat(), { atol: 1e-4 }, 'random graph forward');
  });

  afterAll(() => tf.disposeVariables());
});
