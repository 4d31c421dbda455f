/**
 * URN layer: forward pass against a float64 reference of eqs. 3 / 6 / 7, shapes and
 * weight order, the activity value, and argument errors.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { useBackend } from './helpers/backends.js';
import { expectClose } from './helpers/close.js';
import { refActivity, refForward, seededNormal, type Act, type RefSpec, type Residual } from './helpers/urn_reference.js';

const S = 9;
const D_IN = 3;
const D_OUT = 2;
const I = 3;

function problem(seed: number, batch = 5) {
  const rnd = seededNormal(seed);
  const W = Float64Array.from({ length: S * S }, () => rnd() * 0.5);
  const b = Float64Array.from({ length: S }, () => rnd() * 0.2);
  const x = Array.from({ length: batch }, () => Array.from({ length: D_IN }, () => rnd()));
  return { W, b, x };
}

function built(args: Partial<nm.layers.URNLayerArgs>, W: Float64Array, b: Float64Array) {
  const layer = nm.layers.urn({ inputShape: [D_IN], neurons: S, iterations: I, outputUnits: D_OUT, ...args });
  const model = tf.sequential({ layers: [layer] });
  tf.tidy(() => layer.setWeights([tf.tensor2d(Float32Array.from(W), [S, S]), tf.tensor1d(Float32Array.from(b))]));
  return { layer, model };
}

describe.each(['cpu', 'wasm'])('URN forward on %s', (backend) => {
  beforeAll(async () => useBackend(backend));

  const cases: [Residual, Act][] = [];
  for (const r of ['none', 'output', 'input'] as Residual[]) for (const a of ['relu', 'tanh', 'sigmoid', 'linear'] as Act[]) cases.push([r, a]);

  it.each(cases)('matches the float64 reference (residual %s, %s)', (residual, activation) => {
    const { W, b, x } = problem(11);
    const { layer, model } = built({ residual, activation, activityL1: 0.3 }, W, b);
    const spec: RefSpec = { S, I, dOut: D_OUT, activation, residual };
    const ref = refForward(x, W, b, spec).flat();
    const got = tf.tidy(() => (model.predict(tf.tensor2d(x)) as tf.Tensor).dataSync());
    expect(got.length).toBe(x.length * D_OUT);
    expectClose(got, ref, { atol: 1e-5, rtol: 1e-5 }, `forward (${residual}, ${activation})`);
    // The activity value (c_N · Σ_l |N⁽ˡ⁾|₁ / batch) against the reference.
    const act = tf.tidy(() => layer.activityPenalty(tf.tensor2d(x)));
    expect(act).toBeCloseTo(0.3 * refActivity(x, W, b, spec), 4);
    model.dispose();
  });

  it('has weights [kernel (S × S), bias (S)] and output [batch, d_out]', () => {
    const layer = nm.layers.urn({ inputShape: [D_IN], neurons: S, outputUnits: D_OUT });
    const model = tf.sequential({ layers: [layer] });
    expect(layer.getWeights().map((w) => w.shape)).toEqual([[S, S], [S]]);
    expect(layer.weights.map((w) => w.name.split('/').pop())).toEqual(['kernel', 'bias']);
    expect(model.outputs[0].shape).toEqual([null, D_OUT]);
    expect(layer.resolved.iterations).toBe(4);
    expect(layer.resolved.activation).toBe('relu');
    expect(layer.resolved.residual).toBe('none');
    model.dispose();
  });

  it('initializes the kernel He-normal: variance 2/fan_in (truncated at 2σ), not Glorot 2/(fan_in + fan_out)', () => {
    // A large kernel so the sample variance is sharp: S² = 40 000 samples, relative
    // standard error of the variance ≈ 0.6 %. fan_in = fan_out = S for the S × S kernel,
    // so Glorot's variance is half of He's.
    const big = 200;
    const layer = nm.layers.urn({ inputShape: [D_IN], neurons: big, outputUnits: D_OUT });
    const model = tf.sequential({ layers: [layer] });
    const w = layer.getWeights()[0].dataSync();
    let sum = 0;
    for (const v of w) sum += v;
    const mean = sum / w.length;
    let ss = 0;
    for (const v of w) ss += (v - mean) ** 2;
    const variance = ss / (w.length - 1);
    // tfjs draws a normal truncated at ±2σ (no rescaling): variance factor E[z²; |z| ≤ 2] / P(|z| ≤ 2).
    const phi = (z: number) => Math.exp((-z * z) / 2) / Math.sqrt(2 * Math.PI);
    let num = 0;
    let den = 0;
    const steps = 4000;
    for (let i = 0; i <= steps; i++) {
      const z = -2 + (4 * i) / steps;
      const wgt = (i === 0 || i === steps ? 1 : i % 2 ? 4 : 2) * (4 / steps / 3); // Simpson
      num += wgt * z * z * phi(z);
      den += wgt * phi(z);
    }
    const trunc = num / den; // ≈ 0.774
    const he = (trunc * 2) / big;
    const glorot = (trunc * 2) / (big + big);
    expect(Math.abs(mean)).toBeLessThan(0.05 * Math.sqrt(he)); // ~10 standard errors
    // 5 % tolerance: ~8 standard errors around He, and 47 % away from Glorot.
    expect(variance / he).toBeGreaterThan(0.95);
    expect(variance / he).toBeLessThan(1.05);
    expect(Math.abs(variance / glorot - 1)).toBeGreaterThan(0.5);
    model.dispose();
  });

  it('embeds the input in the first d_in neurons: N⁽⁰⁾ = [u, 0, …]', () => {
    const { W, b, x } = problem(3, 2);
    const { layer, model } = built({}, W, b);
    const states = tf.tidy(() => layer.states(tf.tensor2d(x)));
    expect(states.length).toBe(I + 1);
    expect(Array.from(states[0].dataSync())).toEqual(x.flatMap((u) => [...u.map((v) => Math.fround(v)), ...new Array(S - D_IN).fill(0)]));
    tf.dispose(states);
    model.dispose();
  });
});

describe('URN argument errors', () => {
  const base = { inputShape: [D_IN], neurons: S, outputUnits: D_OUT };
  const cases: [string, object, RegExp][] = [
    ['neurons not an integer', { neurons: 4.5 }, /urn: 'neurons' must be an integer >= 2; received 4\.5/],
    ['iterations 0', { iterations: 0 }, /urn: 'iterations' must be an integer in \[1, 1000\]; received 0/],
    ['outputUnits ≥ S', { outputUnits: S }, /urn: 'outputUnits' must be an integer in \[1, 8\]; received 9/],
    [
      'activation softmax',
      { activation: 'softmax' },
      /urn: 'activation' must be a pointwise activation, one of 'tanh', .*'leakyRelu'; received "softmax"\. 'softmax' is not pointwise/,
    ],
    [
      'unknown activation',
      { activation: 'swiss' },
      /urn: 'activation' must be one of 'tanh', 'sigmoid', 'relu', 'softplus', 'linear', 'elu', 'selu', 'swish', 'gelu', 'gelu_new', 'mish', 'softsign', 'relu6', 'hardSigmoid', 'leakyRelu'; received "swiss"/,
    ],
    ['residual', { residual: 'both' }, /urn: 'residual' must be one of 'none', 'output', 'input'; received "both"/],
    ['negative weightL1', { weightL1: -1 }, /urn: 'weightL1' must be a finite number in \[0, inf\); received -1/],
    ['NaN activityL1', { activityL1: NaN }, /urn: 'activityL1' must be a finite number in \[0, inf\); received NaN/],
    ['typo', { nuerons: 5 }, /urn: unknown option 'nuerons'/],
    ['unknown initializer', { kernelInitializer: 'noSuchInit' }, /urn: 'kernelInitializer' names an unknown class "noSuchInit"/],
    [
      'synaptic length of the wrong size',
      { synapticLength: { rate: 1, geometry: { inputGrid: [1, 3], lattice: [2, 2, 1] } } },
      /urn: 'synapticLength' must be one that places exactly neurons = 9 neurons; received "a regularizer placing 7 neurons"/,
    ],
  ];
  it.each(cases)('rejects %s', (_name, bad, message) => {
    expect(() => nm.layers.urn({ ...base, ...bad } as nm.layers.URNLayerArgs)).toThrow(message);
  });

  it('rejects an input wider than S − d_out when built', () => {
    expect(() => tf.sequential({ layers: [nm.layers.urn({ inputShape: [8], neurons: S, outputUnits: D_OUT })] })).toThrow(
      /urn: 'neurons' must be at least d_in \+ outputUnits = 8 \+ 2 = 10 for an input of width 8; received 9/,
    );
  });

  it('rejects bad synaptic-length arguments', () => {
    expect(() => nm.regularizers.synapticLength({ rate: -1, positions: [[0, 0, 0]] })).toThrow(
      /synapticLength: 'rate' must be a finite number in \[0, inf\); received -1/,
    );
    expect(() => nm.regularizers.synapticLength({ rate: 1 })).toThrow(/give exactly one of 'positions' and 'geometry'; received neither/);
    expect(() => nm.regularizers.synapticLength({ rate: 1, positions: [[0, 0]] })).toThrow(
      /synapticLength: 'positions\[0\]' must be an array of 3 finite numbers \[x, y, z\]; received \[0, 0\]/,
    );
    expect(() => nm.regularizers.synapticLength({ rate: 1, geometry: { inputGrid: [8, 8], lattice: [2, 2] as never } })).toThrow(
      /synapticLength: 'geometry.lattice' must be an array \[X, Y, Z\]; received \[2, 2\]/,
    );
    expect(() => nm.regularizers.synapticLength({ rate: 1, positions: [[0, 0, 0]], pairs: 'lower' as never })).toThrow(
      /'pairs' must be one of 'all', 'upper'; received "lower"/,
    );
    const reg = nm.regularizers.synapticLength({
      rate: 1,
      positions: [
        [0, 0, 0],
        [1, 0, 0],
      ],
    });
    expect(() => tf.tidy(() => reg.apply(tf.zeros([3, 3])))).toThrow(/must be 2 × 2 .*received shape \[3, 3\]/);
  });
});
