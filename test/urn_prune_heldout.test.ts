/**
 * The prune check on held-out inputs (emergentStructure's `heldOut`): the structure
 * is read on training inputs, everything else is zeroed, and the pruned URN must give
 * the unpruned URN's outputs on NEW inputs from the same distribution, equal to a
 * hand-pruned float64 reference. A neuron that fires only on held-out inputs shows
 * as an output change there (and not on the training inputs).
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { BACKENDS, useBackend } from './helpers/backends.js';
import { expectClose } from './helpers/close.js';
import { refStates } from './helpers/urn_reference.js';
import { seededNormal } from './helpers/urn_reference.js';

// Neuron blocks: inputs 0–2, h1 3–8, h2 9–12, D 13 (fires only when input 0 > 3), dead 14–17, outputs 18–19.
const IN = [0, 1, 2];
const H1 = [3, 4, 5, 6, 7, 8];
const H2 = [9, 10, 11, 12];
const D = 13;
const DEAD = [14, 15, 16, 17];
const OUT = [18, 19];
const S = 20;
const I = 3;
const spec = { S, I, dOut: OUT.length, activation: 'relu' as const, residual: 'none' as const };

function planted() {
  const rnd = seededNormal(17);
  const W = new Float32Array(S * S);
  const b = new Float32Array(S);
  const w = () => {
    const v = rnd() * 0.8;
    return Math.sign(v || 1) * Math.max(Math.abs(v), 0.1);
  };
  for (const [from, to] of [
    [IN, H1],
    [H1, H2],
    [H2, OUT],
  ]) {
    for (const j of from) for (const k of to) W[j * S + k] = w();
  }
  for (const k of [...H1, ...H2, ...OUT]) b[k] = -0.05 * Math.abs(rnd());
  // D: silent on the training inputs (|x0| < 2.5), fires for x0 > 3 and then drives h2[0].
  W[IN[0] * S + D] = 1;
  b[D] = -3;
  W[D * S + H2[0]] = 2;
  // Dead neurons: strongly negative bias, loud outgoing weights (pruning them is safe).
  for (const k of DEAD) b[k] = -5;
  for (const j of DEAD) for (let k = 0; k < S; k++) W[j * S + k] = rnd();
  const sample = (n: number) => Array.from({ length: n }, () => IN.map(() => Math.max(-2.4, Math.min(2.4, rnd()))));
  return { W, b, train: sample(80), test: sample(60) };
}

/** The pruned kernel by hand: only the planted MLP blocks (and nothing of D or the dead neurons). */
function handPruned(W: Float32Array, b: Float32Array) {
  const W1 = new Float32Array(S * S);
  for (const [from, to] of [
    [IN, H1],
    [H1, H2],
    [H2, OUT],
  ]) {
    for (const j of from) for (const k of to) W1[j * S + k] = W[j * S + k];
  }
  const b1 = Float32Array.from(b, (v, i) => ([...H1, ...H2, ...OUT].includes(i) ? v : 0));
  return { W1, b1 };
}

const outputsOf = (x: number[][], W: ArrayLike<number>, b: ArrayLike<number>) =>
  refStates(x, W, b, spec)
    .map((st) => st[I].slice(S - OUT.length))
    .flat();

describe.each(BACKENDS)('prune check on held-out inputs (%s)', (backend) => {
  beforeAll(async () => useBackend(backend));

  function build(W: Float32Array, b: Float32Array) {
    const layer = nm.layers.urn({ inputShape: [IN.length], neurons: S, iterations: I, outputUnits: OUT.length });
    const model = tf.sequential({ layers: [layer] });
    tf.tidy(() => layer.setWeights([tf.tensor2d(W, [S, S]), tf.tensor1d(b)]));
    return { layer, model };
  }

  it('structure read on training inputs; pruned held-out predictions equal the unpruned model and a hand-pruned reference', () => {
    const { W, b, train, test } = planted();
    const { layer, model } = build(W, b);
    const before = tf.memory().numTensors;
    const s = nm.analysis.emergentStructure(layer, train, { heldOut: test });
    expect(tf.memory().numTensors).toBe(before);
    expect(s.layerOf[D]).toBe(-1);
    expect(s.prune.keptWeights).toBe(IN.length * H1.length + H1.length * H2.length + H2.length * OUT.length);
    const h = s.prune.heldOut!;
    expect(h.numSamples).toBe(test.length);
    // The unpruned outputs are the model's predictions on the held-out inputs.
    const predicted = tf.tidy(() => Array.from((model.predict(tf.tensor2d(test)) as tf.Tensor).dataSync()));
    expectClose(h.outputs, predicted, { atol: 1e-5 }, 'held-out outputs vs model.predict');
    expect(h.outputScale).toBeGreaterThan(0.1);
    // Pruning removed only unused weights: the held-out predictions do not move …
    expectClose(h.prunedOutputs, h.outputs, { atol: 1e-5 }, 'pruned vs unpruned on held-out inputs');
    expect(h.maxDiff).toBeLessThan(1e-5);
    // … and they are those of the hand-pruned network (every used weight kept, every unused one gone).
    const { W1, b1 } = handPruned(W, b);
    expectClose(h.prunedOutputs, outputsOf(test, W1, b1), { atol: 1e-4, rtol: 1e-4 }, 'pruned vs hand-pruned reference');
    expectClose(h.outputs, outputsOf(test, W, b), { atol: 1e-4, rtol: 1e-4 }, 'unpruned vs float64 reference');
    // Every used weight matters: dropping any one of them moves some held-out output.
    for (const [j, k] of [
      [IN[1], H1[2]],
      [H1[0], H2[1]],
      [H2[2], OUT[0]],
    ]) {
      const Wd = Float32Array.from(W1);
      Wd[j * S + k] = 0;
      const moved = outputsOf(test, Wd, b1).reduce((m, v, i) => Math.max(m, Math.abs(v - h.prunedOutputs[i])), 0);
      expect(moved, `dropping ${j}→${k}`).toBeGreaterThan(1e-3);
    }
    model.dispose();
  });

  it('a neuron silent on the training inputs but used on a held-out input shows as a held-out output change', () => {
    const { W, b, train, test } = planted();
    const outlier = [4, 0.5, -0.5]; // x0 > 3: D fires and drives h2[0]
    const { layer, model } = build(W, b);
    const s = nm.analysis.emergentStructure(layer, train, { heldOut: [...test, outlier] });
    expect(s.prune.maxDiff).toBeLessThan(1e-5); // on the training inputs the reading is exact
    const h = s.prune.heldOut!;
    expect(h.maxDiff).toBeGreaterThan(0.05);
    // Only the outlier (the last row) moves.
    const moved = Array.from(h.outputs, (v, i) => Math.abs(h.prunedOutputs[i] - v));
    const last = test.length * OUT.length;
    expect(Math.max(...moved.slice(0, last))).toBeLessThan(1e-5);
    expect(Math.max(...moved.slice(last))).toBeGreaterThan(0.05);
    model.dispose();
  });

  it('rejects non-finite or mis-shaped held-out inputs, naming heldOut', () => {
    const { W, b, train } = planted();
    const { layer, model } = build(W, b);
    expect(() => nm.analysis.emergentStructure(layer, train, { heldOut: [[1, NaN, 0]] })).toThrow(
      /'heldOut' must be finite numbers; received NaN at row 0, column 1/,
    );
    expect(() => nm.analysis.emergentStructure(layer, train, { heldOut: [[1, 2]] })).toThrow(/'heldOut\[0\]' must be an array of 3 numbers/);
    const before = tf.memory().numTensors;
    const bad = tf.tensor2d([[1, 2, Infinity]]);
    expect(() => nm.analysis.emergentStructure(layer, train, { heldOut: bad as tf.Tensor2D })).toThrow(nm.NonFiniteError);
    bad.dispose();
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
