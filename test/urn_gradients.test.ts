/**
 * URN loss terms (task, weight L1, activity L1, synaptic length): tfjs gradients,
 * taken exactly as model.fit takes them (task loss + layer.calculateLosses() inside
 * one tape), against central finite differences of the float64 reference; and the
 * proof that the activity term's gradient reaches W in a real model.fit step.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { finiteDiff, refActivity, refForward, refMse, seededNormal, type Act, type RefSpec, type Residual } from './helpers/urn_reference.js';
import { useBackend } from './helpers/backends.js';
import { closeness, expectClose } from './helpers/close.js';

const S = 8;
const D_IN = 3;
const D_OUT = 2;
const I = 3;
const B = 4;

interface Terms {
  task: boolean;
  cW: number;
  cN: number;
  syn: { rate: number; positions: number[][]; beta: number; power: number } | null;
}

function problem(seed: number) {
  const rnd = seededNormal(seed);
  // Keep every weight away from 0 so |W| is differentiable at the test point.
  const W = Float64Array.from({ length: S * S }, () => {
    const v = rnd() * 0.5;
    return Math.sign(v || 1) * Math.max(Math.abs(v), 0.02);
  });
  const b = Float64Array.from({ length: S }, () => 0.1 + rnd() * 0.2);
  const x = Array.from({ length: B }, () => Array.from({ length: D_IN }, () => rnd()));
  const t = Array.from({ length: B }, () => Array.from({ length: D_OUT }, () => rnd()));
  const positions = Array.from({ length: S }, () => [rnd(), rnd(), 1 + Math.abs(rnd())]);
  return { W, b, x, t, positions };
}

/** Total loss of the float64 reference; params = [W (S·S), b (S)]. */
function refLoss(params: Float64Array, x: number[][], t: number[][], spec: RefSpec, terms: Terms): number {
  const W = params.subarray(0, S * S);
  const b = params.subarray(S * S);
  let loss = terms.task ? refMse(refForward(x, W, b, spec), t) : 0;
  if (terms.cW > 0) for (const w of W) loss += terms.cW * Math.abs(w);
  if (terms.cN > 0) loss += terms.cN * refActivity(x, W, b, spec);
  if (terms.syn) {
    const { rate, positions: p, beta, power } = terms.syn;
    for (let j = 0; j < S; j++) {
      for (let k = 0; k < S; k++) {
        if (j === k) continue;
        const d = Math.sqrt((p[j][0] - p[k][0]) ** 2 + (p[j][1] - p[k][1]) ** 2 + beta * (p[j][2] - p[k][2]) ** 2);
        loss += rate * Math.abs(W[j * S + k]) * d ** power;
      }
    }
  }
  return loss;
}

function makeLayer(spec: RefSpec, terms: Terms, W: Float64Array, b: Float64Array) {
  const layer = nm.layers.urn({
    inputShape: [D_IN],
    neurons: S,
    iterations: I,
    outputUnits: D_OUT,
    activation: spec.activation,
    residual: spec.residual,
    weightL1: terms.cW,
    activityL1: terms.cN,
    synapticLength: terms.syn,
  });
  const model = tf.sequential({ layers: [layer] });
  tf.tidy(() => layer.setWeights([tf.tensor2d(Float32Array.from(W), [S, S]), tf.tensor1d(Float32Array.from(b))]));
  return { layer, model };
}

/** Gradient of task + layer losses, taken the way LayersModel.fit does it. */
function tfGradient(layer: nm.layers.URNLayer, x: number[][], t: number[][], task: boolean): Float64Array {
  const vars = layer.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(() => {
    const y = layer.apply(tf.tensor2d(x), { training: true }) as tf.Tensor;
    let loss: tf.Tensor = task ? tf.mean(tf.square(tf.sub(y, tf.tensor2d(t)))) : tf.scalar(0);
    for (const l of layer.calculateLosses()) loss = tf.add(loss, l);
    return loss as tf.Scalar;
  }, vars);
  const out = new Float64Array(S * S + S);
  // A variable the loss does not touch (the bias under a pure weight penalty) gets no entry: zero.
  if (grads[vars[0].name]) out.set(grads[vars[0].name].dataSync(), 0);
  if (grads[vars[1].name]) out.set(grads[vars[1].name].dataSync(), S * S);
  tf.dispose([value, grads]);
  return out;
}

describe.each(['cpu', 'wasm'])('URN gradients on %s', (backend) => {
  beforeAll(async () => useBackend(backend));

  const cases: [string, Residual, Act, (p: ReturnType<typeof problem>) => Terms][] = [
    ['task loss', 'none', 'tanh', () => ({ task: true, cW: 0, cN: 0, syn: null })],
    ['task loss', 'output', 'relu', () => ({ task: true, cW: 0, cN: 0, syn: null })],
    ['task loss', 'input', 'sigmoid', () => ({ task: true, cW: 0, cN: 0, syn: null })],
    ['weight L1', 'none', 'relu', () => ({ task: false, cW: 0.05, cN: 0, syn: null })],
    ['activity L1', 'none', 'tanh', () => ({ task: false, cW: 0, cN: 0.07, syn: null })],
    ['activity L1', 'output', 'relu', () => ({ task: false, cW: 0, cN: 0.07, syn: null })],
    ['activity L1', 'input', 'tanh', () => ({ task: false, cW: 0, cN: 0.07, syn: null })],
    ['synaptic length', 'none', 'relu', (p) => ({ task: false, cW: 0, cN: 0, syn: { rate: 0.03, positions: p.positions, beta: 2, power: 1.5 } })],
    ['all terms', 'output', 'tanh', (p) => ({ task: true, cW: 0.01, cN: 0.05, syn: { rate: 0.02, positions: p.positions, beta: 0.5, power: 1 } })],
  ];

  it.each(cases)('%s (residual %s, %s) matches central finite differences', (_name, residual, activation, termsOf) => {
    const p = problem(7);
    const terms = termsOf(p);
    const spec: RefSpec = { S, I, dOut: D_OUT, activation, residual };
    const { layer, model } = makeLayer(spec, terms, p.W, p.b);
    const got = tfGradient(layer, p.x, p.t, terms.task);
    const params = new Float64Array(S * S + S);
    params.set(p.W, 0);
    params.set(p.b, S * S);
    const fd = finiteDiff(() => refLoss(params, p.x, p.t, spec, terms), params);
    expect(Math.max(...fd.map(Math.abs))).toBeGreaterThan(1e-3); // the check is not vacuous
    expectClose(got, fd, { atol: 2e-5, rtol: 2e-4 }, 'tfjs gradient vs finite differences');
    model.dispose();
  });

  it('model.fit applies the activity term: one SGD step equals −lr · ∇(task + c_W|W| + c_N·activity + synaptic length)', async () => {
    const p = problem(21);
    const terms: Terms = { task: true, cW: 0.02, cN: 0.5, syn: { rate: 0.01, positions: p.positions, beta: 1, power: 1 } };
    const spec: RefSpec = { S, I, dOut: D_OUT, activation: 'tanh', residual: 'none' };
    const { layer, model } = makeLayer(spec, terms, p.W, p.b);
    const lr = 0.1;
    model.compile({ optimizer: tf.train.sgd(lr), loss: 'meanSquaredError' });
    const xs = tf.tensor2d(p.x);
    const ts = tf.tensor2d(p.t);
    const history = await model.fit(xs, ts, { batchSize: B, epochs: 1, shuffle: false, verbose: 0 });
    const after = layer.getWeights().map((w) => w.dataSync());
    const step = new Float64Array(S * S + S);
    for (let e = 0; e < S * S; e++) step[e] = (Math.fround(p.W[e]) - after[0][e]) / lr;
    for (let e = 0; e < S; e++) step[S * S + e] = (Math.fround(p.b[e]) - after[1][e]) / lr;

    const params = new Float64Array(S * S + S);
    params.set(p.W, 0);
    params.set(p.b, S * S);
    const full = finiteDiff(() => refLoss(params, p.x, p.t, spec, terms), params);
    const withoutActivity = finiteDiff(() => refLoss(params, p.x, p.t, spec, { ...terms, cN: 0 }), params);
    // The step matches the full gradient ...
    expectClose(step, full, { atol: 2e-4, rtol: 2e-3 }, 'SGD step vs full gradient');
    // ... and clearly not the gradient without the activity term (this fails if c_N never reaches fit).
    expect(closeness(step, withoutActivity, { atol: 2e-4, rtol: 2e-3 }).worstRatio).toBeGreaterThan(20);
    // The reported training loss includes the activity term's value.
    expect(history.history.loss[0] as number).toBeCloseTo(refLoss(params, p.x, p.t, spec, terms), 4);
    tf.dispose([xs, ts]);
    model.dispose();
  });
});
