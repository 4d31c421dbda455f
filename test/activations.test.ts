/**
 * Every pointwise tfjs-layers activation (plus 'leakyRelu') in the Neural Module and
 * URN layers: the tensor formulas against tfjs' own activations, f' against central
 * differences and the float64 closed form, host against tensor, sup|f'| against the
 * Lipschitz constants, erf against an independent series / continued fraction, NaN
 * and huge inputs; then each activation end to end (layer vs the float64 reference
 * solve, gradients vs central differences) on cpu and wasm, both engines, and the
 * URN layer vs its float64 reference, with config round trips.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { erf, erfc, LEAKY_RELU_ALPHA, NODE_ACTIVATIONS, nodeActivation, type NodeActivationName } from '../src/activations/index.js';
import * as nm from '../src/index.js';
import { arenaBytes, sparseKernels } from '../src/kernels/index.js';
import { BACKENDS, useBackend } from './helpers/backends.js';
import { df64, erfcCf, erfRef, f64, refForward, refMask } from './helpers/reference.js';
import * as U from './helpers/urn_reference.js';
import { setKernelAndGraph } from './helpers/nm_weights.js';
import { Random } from '../src/utils/random.js';

const ACTS = NODE_ACTIVATIONS;
/** Where f' jumps: central differences skip these. */
const KINKS: Partial<Record<NodeActivationName, number[]>> = {
  relu: [0],
  relu6: [0, 6],
  hardSigmoid: [-2.5, 2.5],
  leakyRelu: [0],
  elu: [0],
  selu: [0],
};
const HUGE = [-1e30, -1e4, -100, -30, 30, 100, 1e4, 1e30];
/** A grid over [−12, 12] (kinks included exactly) plus huge values, as float32. */
const GRID = Float32Array.from([...Array.from({ length: 1201 }, (_, i) => -12 + i * 0.02), 0, 6, -2.5, 2.5, 1e-7, -1e-7, ...HUGE]);
const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(1, Math.abs(b));
/** Largest errors measured, printed once at the end (for the record). */
const measured: Record<string, Record<string, number>> = {};
const note = (act: string, what: string, err: number) => {
  measured[act] ??= {};
  measured[act][what] = Math.max(measured[act][what] ?? 0, err);
};

/** tfjs' own activation: the layer with the same identifier ('leakyRelu': tf.layers.leakyReLU with our α). */
function tfjsActivation(name: NodeActivationName, x: tf.Tensor): Float32Array {
  const layer = name === 'leakyRelu' ? tf.layers.leakyReLU({ alpha: LEAKY_RELU_ALPHA }) : tf.layers.activation({ activation: name as 'relu' });
  return tf.tidy(() => (layer.apply(x) as tf.Tensor).dataSync() as Float32Array);
}

/** hostApply / hostDerivative on arena views of the real (wasm-simd or js) kernels. */
function host(name: NodeActivationName, xs: Float32Array) {
  const k = sparseKernels();
  k.arena.reset(arenaBytes([xs.length, xs.length, xs.length]));
  const x = k.arena.f32(xs.length);
  const fx = k.arena.f32(xs.length);
  const d = k.arena.f32(xs.length);
  x.set(xs);
  const act = nodeActivation(name);
  act.hostApply(x, fx, k);
  act.hostDerivative(x, fx, d);
  return { f: Float32Array.from(fx), d: Float32Array.from(d) };
}

describe('erf (float64, Cody) against an independent series / continued fraction', () => {
  it('is accurate to < 1e-12 on [−6, 6] and erfc to 1e-13 relative in the tail', () => {
    let worst = 0;
    for (let x = -6; x <= 6; x += 1e-3) worst = Math.max(worst, Math.abs(erf(x) - erfRef(x)));
    expect(worst).toBeLessThan(1e-12);
    let worstTail = 0;
    for (let x = 3; x <= 26; x += 0.01) worstTail = Math.max(worstTail, Math.abs(erfc(x) - erfcCf(x)) / erfcCf(x));
    expect(worstTail).toBeLessThan(1e-13);
    expect(erfc(-2)).toBeCloseTo(1 + erfRef(2), 14);
    expect([erf(Infinity), erf(-Infinity), erf(100), erf(0)]).toEqual([1, -1, 1, 0]);
    expect(erf(NaN)).toBeNaN();
    note('gelu', 'erf abs err', worst);
  });
});

describe('activation math (float64 closed forms, host)', () => {
  it.each(ACTS)("sup|f'| equals the Lipschitz constant (%s)", (name) => {
    let sup = 0;
    for (let x = -20; x <= 20; x += 1e-4) sup = Math.max(sup, Math.abs(df64[name](x)));
    const L = nodeActivation(name).lipschitz;
    expect(sup).toBeLessThanOrEqual(L);
    expect(L - sup).toBeLessThan(2e-4);
  });

  it.each(ACTS)('host apply and derivative match the float64 closed forms, propagate NaN, stay finite at huge inputs (%s)', (name) => {
    const { f, d } = host(name, GRID);
    let ef = 0;
    let ed = 0;
    for (let i = 0; i < GRID.length; i++) {
      const v = GRID[i];
      ef = Math.max(ef, rel(f[i], f64[name](v)));
      if (!(KINKS[name] ?? []).includes(v)) ed = Math.max(ed, rel(d[i], df64[name](v)));
    }
    note(name, 'host f vs f64', ef);
    note(name, "host f' vs f64", ed);
    // 3e-7: float32 rounding; the host tanh (and sigmoid through it) is a rational approximation to 2.2e-7.
    expect(ef).toBeLessThan(3e-7);
    expect(ed).toBeLessThan(name === 'tanh' || name === 'sigmoid' ? 6e-7 : 3e-7);
    for (const v of [...f, ...d]) expect(Number.isFinite(v)).toBe(true);
    const nan = host(name, Float32Array.from([NaN, 1, NaN]));
    expect([nan.f[0], nan.d[0], nan.f[2], nan.d[2]].every(Number.isNaN)).toBe(true);
  });
});

describe.each(BACKENDS)('activation tensors on %s', (backend) => {
  beforeAll(async () => useBackend(backend));

  it.each(ACTS)("apply equals tfjs' own activation; derivative equals central differences, the f64 form and the host one (%s)", (name) => {
    const act = nodeActivation(name);
    const xT = tf.tensor1d(GRID);
    const { f, d } = tf.tidy(() => {
      const fx = act.apply(xT);
      return { f: fx.dataSync() as Float32Array, d: act.derivative(xT, fx).dataSync() as Float32Array };
    });
    const ours = f;
    const theirs = tfjsActivation(name, xT);
    const hostValues = host(name, GRID);
    let eTf = 0;
    let eF64 = 0;
    let eHost = 0;
    let eD64 = 0;
    let eDHost = 0;
    for (let i = 0; i < GRID.length; i++) {
      const v = GRID[i];
      eTf = Math.max(eTf, rel(ours[i], theirs[i]));
      eF64 = Math.max(eF64, rel(ours[i], f64[name](v)));
      eHost = Math.max(eHost, rel(hostValues.f[i], ours[i]));
      eDHost = Math.max(eDHost, rel(hostValues.d[i], d[i]));
      if (!(KINKS[name] ?? []).includes(v)) eD64 = Math.max(eD64, rel(d[i], df64[name](v)));
    }
    note(name, `tensor f vs tfjs (${backend})`, eTf);
    note(name, `tensor f vs f64 (${backend})`, eF64);
    note(name, `host f vs tensor (${backend})`, eHost);
    note(name, `tensor f' vs f64 (${backend})`, eD64);
    note(name, `host f' vs tensor (${backend})`, eDHost);
    expect(eTf).toBeLessThan(1e-6);
    expect(eF64).toBeLessThan(3e-6);
    expect(eHost).toBeLessThan(3e-6);
    expect(eD64).toBeLessThan(1e-5);
    expect(eDHost).toBeLessThan(1e-5);
    for (const v of [...ours, ...d]) expect(Number.isFinite(v)).toBe(true);
    // Central differences of the float32 tensor apply, away from kinks.
    const h = 1e-2;
    const xs = Array.from({ length: 241 }, (_, i) => -12 + i * 0.1 + 0.013).filter((v) => (KINKS[name] ?? []).every((k) => Math.abs(v - k) > 2 * h));
    const [fp, fm, dd] = tf.tidy(() => {
      const x = tf.tensor1d(xs);
      return [act.apply(tf.add(x, h)).dataSync(), act.apply(tf.sub(x, h)).dataSync(), act.derivative(x, act.apply(x)).dataSync()];
    });
    let eFd = 0;
    xs.forEach((_, i) => (eFd = Math.max(eFd, rel(dd[i], (fp[i] - fm[i]) / (2 * h)))));
    note(name, `tensor f' vs central diff (${backend})`, eFd);
    expect(eFd).toBeLessThan(2e-3);
    // NaN goes through the tensor apply (the engines detect a NaN solution).
    expect(Number.isNaN(tf.tidy(() => act.apply(tf.tensor1d([NaN])).dataSync()[0]))).toBe(true);
    xT.dispose();
  });
});

// ---- end to end: the Neural Module layer against the float64 reference ----------

const P = 7;
const N = 4;
const B = 3;
const DENSITY = 0.4;

function rng(seed: number) {
  const r = new Random(seed);
  return () => r.next() * 2 - 1;
}

/** ‖A‖₂ of a p×p row-major matrix by power iteration on AᵀA. */
function spectralNorm(a: Float64Array, p: number): number {
  let v = Array.from({ length: p }, (_, i) => 1 + 0.1 * i);
  let s = 0;
  for (let it = 0; it < 300; it++) {
    const av = Array.from({ length: p }, (_, j) => v.reduce((t, vk, k) => t + a[j * p + k] * vk, 0));
    const atav = Array.from({ length: p }, (_, k) => av.reduce((t, w, j) => t + a[j * p + k] * w, 0));
    s = Math.sqrt(Math.hypot(...atav) / Math.hypot(...v));
    const n = Math.hypot(...atav);
    v = atav.map((t) => t / n);
  }
  return s;
}

/** A random graph whose masked part has ‖A‖₂·sup|f'| = 0.5. */
function contractiveGraph(name: NodeActivationName, seed: number) {
  const rand = rng(seed);
  const w = Float64Array.from({ length: P * P }, (_, i) => (i % (P + 1) === 0 ? 0.4 * rand() : rand()));
  const mask = refMask(w, P, DENSITY, 'graph');
  const scale =
    0.5 /
    (spectralNorm(
      Float64Array.from(w, (v, i) => (mask[i] ? v : 0)),
      P,
    ) *
      nodeActivation(name).lipschitz);
  for (let i = 0; i < P * P; i++) if (i % (P + 1) !== 0) w[i] *= scale;
  return { w, mask, a0: Float64Array.from(w, (v, i) => (mask[i] ? v : 0)) };
}

const CASES = BACKENDS.flatMap((backend) => (['host', 'tensor'] as const).map((engine) => [backend, engine] as const));

describe.each(CASES)('Neural Module layer with every activation on %s, %s engine', (backend, engine) => {
  beforeAll(async () => useBackend(backend));
  afterAll(() => tf.disposeVariables());

  it.each(ACTS)('forward matches the float64 reference solve; every gradient matches central differences (%s)', (name) => {
    const seed = 3 + ACTS.indexOf(name);
    const rand = rng(100 + seed);
    const kernel = Float64Array.from({ length: N * P }, () => 0.9 * rand());
    const u = Array.from({ length: B }, () => Array.from({ length: N }, () => 2.5 * rand()));
    const R = Array.from({ length: B }, () => Array.from({ length: P }, () => rand()));
    const { w, mask, a0 } = contractiveGraph(name, seed);
    const solver = { method: 'anderson' as const, tol: 1e-7, maxIter: 300 };
    const layer = nm.layers.neuralModule({ units: P, density: DENSITY, activation: name, engine, solver, backwardSolver: solver });
    layer.build([null, N]);
    setKernelAndGraph(layer, tf.tensor2d(Float32Array.from(kernel), [N, P]), tf.tensor2d(Float32Array.from(w), [P, P]));
    expect(layer.activeEngine()).toBe(engine);

    const uT = tf.tensor2d(u);
    const rT = tf.tensor2d(R);
    const out = (layer.apply(uT) as tf.Tensor).arraySync() as number[][];
    expect(layer.solverStats().forward.converged).toBe(true);
    const ref = refForward(u, kernel, w, mask, P, name);
    let eFwd = 0;
    for (let b = 0; b < B; b++) for (let k = 0; k < P; k++) eFwd = Math.max(eFwd, Math.abs(out[b][k] - ref[b][k]));
    note(name, `layer forward vs f64 ref (${backend}, ${engine})`, eFwd);
    expect(eFwd).toBeLessThan(1e-4);

    const loss = (x: tf.Tensor) => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, rT)) as tf.Scalar;
    const { grads } = tf.variableGrads(() => loss(uT));
    const gU = grads[layer.weights[0].name].dataSync();
    const gW = grads[layer.weights[1].name].dataSync();
    const gu = tf.grad(loss)(uT).dataSync();
    const refLoss = (uu: number[][], kk: Float64Array, ww: Float64Array, aa: Float64Array) =>
      refForward(uu, kk, ww, mask, P, name, aa).reduce((s, row, b) => s + row.reduce((t, h, k) => t + h * R[b][k], 0), 0);
    const eps = 1e-6;
    let eGrad = 0;
    const check = (analytic: number, plus: number, minus: number) => {
      const fd = (plus - minus) / (2 * eps);
      eGrad = Math.max(eGrad, Math.abs(analytic - fd) / Math.max(1, Math.abs(fd)));
    };
    const bump = (arr: Float64Array, i: number, d: number) => {
      const c = arr.slice();
      c[i] += d;
      return c;
    };
    for (let i = 0; i < P * P; i++) {
      if (i % (P + 1) === 0)
        check(gW[i], refLoss(u, kernel, bump(w, i, eps), a0), refLoss(u, kernel, bump(w, i, -eps), a0)); // bias
      else check(gW[i], refLoss(u, kernel, w, bump(a0, i, eps)), refLoss(u, kernel, w, bump(a0, i, -eps))); // edge, kept or masked
    }
    for (let i = 0; i < N * P; i++) check(gU[i], refLoss(u, bump(kernel, i, eps), w, a0), refLoss(u, bump(kernel, i, -eps), w, a0));
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < N; i++) {
        const up = u.map((r) => r.slice());
        const um = u.map((r) => r.slice());
        up[b][i] += eps;
        um[b][i] -= eps;
        check(gu[b * N + i], refLoss(up, kernel, w, a0), refLoss(um, kernel, w, a0));
      }
    }
    note(name, `layer grads vs central diff (${backend}, ${engine})`, eGrad);
    expect(eGrad).toBeLessThan(2e-3);
    // Config round trip keeps the activation and the values.
    const copy = nm.layers.NeuralModuleLayer.fromConfig(nm.layers.NeuralModuleLayer, layer.getConfig()) as nm.layers.NeuralModuleLayer;
    expect(copy.getConfig().activation).toBe(name);
    copy.build([null, N]);
    copy.setWeights(layer.getWeights());
    const again = (copy.apply(uT) as tf.Tensor).dataSync();
    again.forEach((v, i) => expect(Math.abs(v - out[Math.floor(i / P)][i % P])).toBeLessThan(1e-6));
    tf.dispose([uT, rT]);
  });
});

// ---- the URN layer ----------------------------------------------------------------

const S = 7;
const D_IN = 3;
const D_OUT = 2;
const I = 3;

describe.each(BACKENDS)('URN layer with every activation on %s', (backend) => {
  beforeAll(async () => useBackend(backend));
  afterAll(() => tf.disposeVariables());

  it.each(ACTS)('forward and gradients match the float64 reference; config round trip (%s)', (name) => {
    const residual = (['none', 'output', 'input'] as const)[ACTS.indexOf(name) % 3];
    const rnd = U.seededNormal(40 + ACTS.indexOf(name));
    const W = Float64Array.from({ length: S * S }, () => 0.5 * rnd());
    const bias = Float64Array.from({ length: S }, () => 0.2 * rnd());
    const x = Array.from({ length: 4 }, () => Array.from({ length: D_IN }, () => 1.5 * rnd()));
    const R = Array.from({ length: 4 }, () => Array.from({ length: D_OUT }, () => rnd()));
    const spec: U.RefSpec = { S, I, dOut: D_OUT, activation: name, residual };
    const layer = nm.layers.urn({ neurons: S, iterations: I, outputUnits: D_OUT, activation: name, residual });
    layer.build([null, D_IN]);
    layer.setWeights([tf.tensor2d(Float32Array.from(W), [S, S]), tf.tensor1d(Float32Array.from(bias))]);
    const xT = tf.tensor2d(x);
    const rT = tf.tensor2d(R);
    const got = tf.tidy(() => (layer.apply(xT) as tf.Tensor).dataSync());
    const ref = U.refForward(x, W, bias, spec).flat();
    note(name, `URN forward vs f64 ref (${backend})`, U.worstRatio(got, ref, 1, 0));
    expect(U.worstRatio(got, ref, 1e-5, 1e-5)).toBeLessThan(1);
    // Gradients (autodiff through the tfjs ops) against central differences of the reference.
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(xT) as tf.Tensor, rT)) as tf.Scalar);
    const g = [...grads[layer.weights[0].name].dataSync(), ...grads[layer.weights[1].name].dataSync()];
    const params = Float64Array.from([...W, ...bias]);
    const refLoss = () =>
      U.refForward(x, params.subarray(0, S * S), params.subarray(S * S), spec).reduce((s, row, b) => s + row.reduce((t, v, k) => t + v * R[b][k], 0), 0);
    const fd = U.finiteDiff(refLoss, params);
    note(name, `URN grads vs central diff (${backend})`, U.worstRatio(g, fd, 1, 0));
    expect(U.worstRatio(g, fd, 1e-4, 2e-3)).toBeLessThan(1);
    // getConfig → fromConfig keeps the activation and the values.
    const config = layer.getConfig();
    expect(config.activation).toBe(name);
    const copy = nm.layers.URNLayer.fromConfig(nm.layers.URNLayer, config) as nm.layers.URNLayer;
    expect(copy.getConfig()).toEqual(config);
    copy.build([null, D_IN]);
    copy.setWeights(layer.getWeights());
    const again = tf.tidy(() => (copy.apply(xT) as tf.Tensor).dataSync());
    expect(Array.from(again)).toEqual(Array.from(got));
    tf.dispose([xT, rT]);
  });
});

describe('activation arguments', () => {
  const nmLayer = (activation: unknown) => () => nm.layers.neuralModule({ units: 4, activation } as nm.layers.NeuralModuleLayerArgs);
  const urnLayer = (activation: unknown) => () => nm.layers.urn({ neurons: 5, outputUnits: 1, activation } as nm.layers.URNLayerArgs);
  const all = ACTS.map((a) => `'${a}'`).join(', ');

  it('accepts every name, in both layers', () => {
    for (const a of ACTS) {
      expect(nmLayer(a)().getConfig().activation).toBe(a);
      expect(urnLayer(a)().getConfig().activation).toBe(a);
    }
  });

  it('rejects softmax and logSoftmax as not pointwise', () => {
    for (const a of ['softmax', 'logSoftmax']) {
      for (const [make, where] of [
        [nmLayer, 'neuralModule'],
        [urnLayer, 'urn'],
      ] as const) {
        expect(make(a)).toThrow(new RegExp(`${where}: 'activation' must be a pointwise activation, one of .*; received "${a}"\\. '${a}' is not pointwise`));
      }
    }
  });

  it('names the argument, the value and every valid name for an unknown activation (exact spelling)', () => {
    for (const a of ['leakyReLU', 'leaky_relu', 'Gelu', 'gelu-new', 3]) {
      for (const [make, where] of [
        [nmLayer, 'neuralModule'],
        [urnLayer, 'urn'],
      ] as const) {
        expect(make(a)).toThrow(`${where}: 'activation' must be one of ${all}; received ${typeof a === 'string' ? `"${a}"` : a}.`);
      }
    }
  });
});

afterAll(() => {
  const rows = Object.entries(measured).map(
    ([act, m]) =>
      `${act}: ${Object.entries(m)
        .map(([k, v]) => `${k} ${v.toExponential(1)}`)
        .join('; ')}`,
  );
  if (process.env.ACT_REPORT) console.log(rows.join('\n'));
});
