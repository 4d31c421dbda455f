/**
 * Emergent-structure analysis: an MLP embedded by hand in W as in the paper's eq. 1
 * is recovered layer by layer with a prune check of 0; the geometric counts, the
 * SVG pictures, the uplift geometry and the concentric-shells data set.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { useBackend } from './helpers/backends.js';
import { expectClose } from './helpers/close.js';
import { seededNormal } from './helpers/urn_reference.js';

// Neuron blocks: inputs 0–3, h1 4–9, h2 10–14, dead 15–20, outputs 21–23.
const IN = [0, 1, 2, 3];
const H1 = [4, 5, 6, 7, 8, 9];
const H2 = [10, 11, 12, 13, 14];
const DEAD = [15, 16, 17, 18, 19, 20];
const OUT = [21, 22, 23];
const S = 24;

function embeddedMlp() {
  const rnd = seededNormal(5);
  const w = () => {
    const v = rnd() * 0.8 + 0.3;
    return Math.sign(v || 1) * Math.max(Math.abs(v), 0.05);
  };
  const W = new Float32Array(S * S);
  const b = new Float32Array(S);
  const blocks: [number[], number[]][] = [
    [IN, H1],
    [H1, H2],
    [H2, OUT],
  ];
  const layers = blocks.map(([from, to]) => from.map((j) => to.map((k) => (W[j * S + k] = w()))));
  for (const k of [...H1, ...H2, ...OUT]) b[k] = -0.1 * Math.abs(rnd()); // b ≤ 0: nothing fires before its input arrives
  for (const k of DEAD) b[k] = -5;
  // Distractors outside the structure: from dead neurons to everything, weak synapses into dead neurons,
  // an inhibitory backward synapse h2 → h1 and a backward synapse out → h1 (its effect would come after I).
  for (const j of DEAD) for (let k = 0; k < S; k++) W[j * S + k] = rnd();
  for (const j of H1) for (const k of DEAD) W[j * S + k] = 0.1 * rnd();
  W[H2[0] * S + H1[0]] = -0.7;
  W[OUT[0] * S + H1[1]] = 0.9;
  const x = Array.from({ length: 64 }, () => IN.map(() => rnd()));
  return { W, b, x, layers };
}

function mlpReference(x: number[][], W: Float32Array, b: Float32Array): number[][] {
  const relu = (v: number) => Math.max(0, v);
  const dense = (u: number[], from: number[], to: number[]) => to.map((k) => relu(from.reduce((s, j, i) => s + u[i] * W[j * S + k], b[k])));
  return x.map((u) => dense(dense(dense(u, IN, H1), H1, H2), H2, OUT));
}

describe.each(['cpu', 'wasm'])('emergent structure on %s', (backend) => {
  beforeAll(async () => useBackend(backend));

  it('recovers an MLP embedded in W as block sub-diagonal (eq. 1), prune check 0', () => {
    const { W, b, x } = embeddedMlp();
    const layer = nm.layers.urn({ inputShape: [IN.length], neurons: S, iterations: 3, outputUnits: OUT.length });
    const model = tf.sequential({ layers: [layer] });
    tf.tidy(() => layer.setWeights([tf.tensor2d(W, [S, S]), tf.tensor1d(b)]));
    // The URN computes the MLP.
    const y = tf.tidy(() => Array.from((model.predict(tf.tensor2d(x)) as tf.Tensor).dataSync()));
    const ref = mlpReference(x, W, b).flat();
    expectClose(y, ref, { atol: 5e-5 }, 'URN vs embedded MLP');

    const before = tf.memory().numTensors;
    const s = nm.analysis.emergentStructure(layer, x, { eps: 1e-6, weightThreshold: 1e-2 });
    expect(tf.memory().numTensors).toBe(before);
    const expected = new Int32Array(S).fill(-1);
    [IN, H1, H2, OUT].forEach((block, l) => block.forEach((i) => (expected[i] = l)));
    expect(Array.from(s.layerOf)).toEqual(Array.from(expected));
    expect(s.activeCount).toBe(IN.length + H1.length + H2.length + OUT.length);
    expect(s.layerWidths).toEqual([4, 6, 5, 3]);
    expect(s.hiddenLayerWidths).toEqual([6, 5, 0]);
    expect(s.multiIteration).toBe(0);
    expect(s.active).toEqual([...IN, ...H1, ...H2, ...OUT]);
    // Block sub-diagonal in the paper's orientation: every synapse among active neurons
    // goes from layer l to layer l + 1, except the two planted backward ones.
    const mlpSynapses = 4 * 6 + 6 * 5 + 5 * 3;
    expect(s.weights).toMatchObject({ forward: mlpSynapses, skip: 0, backward: 2, lateral: 0 });
    for (const j of s.active) {
      for (const k of s.active) {
        if (Math.abs(W[j * S + k]) > 1e-2 && s.layerOf[k] !== s.layerOf[j] + 1) {
          expect([`${H2[0]}→${H1[0]}`, `${OUT[0]}→${H1[1]}`]).toContain(`${j}→${k}`);
        }
      }
    }
    let touchingDead = 0;
    for (let j = 0; j < S; j++) for (let k = 0; k < S; k++) if (Math.abs(W[j * S + k]) > 1e-2 && (DEAD.includes(j) || DEAD.includes(k))) touchingDead++;
    expect(touchingDead).toBeGreaterThan(150);
    expect(s.weights.inactive).toBe(touchingDead);
    // The unrolled structure keeps exactly the MLP's blocks; zeroing everything else changes nothing.
    expect(s.prune.keptWeights).toBe(mlpSynapses);
    expect(s.prune.maxDiff).toBeLessThan(1e-6);
    expect(s.prune.thresholdMaxDiff).toBeLessThan(1e-6);
    expect(s.prune.outputScale).toBeGreaterThan(0.1);

    const svg = nm.analysis.renderUrnWeights(layer, s);
    expect(svg.startsWith('<svg')).toBe(true);
    const cells = (svg.match(/fill="#c81e1e"/g) ?? []).length + (svg.match(/fill="#1e3cc8"/g) ?? []).length;
    expect(cells).toBe(mlpSynapses + 2);
    for (const label of ['>L0<', '>L1<', '>L2<', '>L3<']) expect(svg).toContain(label);
    model.dispose();
  });

  it('a reading that misses a needed inhibition shows in the prune check', () => {
    const { W, b, x } = embeddedMlp();
    // Input 0 is a constant 1 that holds neuron D down at iteration 1 only; D fires at
    // iteration 2 and feeds h2[1]. The unrolled structure has no D-active-at-1 edge, so
    // it prunes in0 → D: D then fires at iteration 1 too and changes h2[1] and the output.
    for (const u of x) u[0] = 1;
    const D = DEAD[0];
    for (let k = 0; k < S; k++) W[D * S + k] = 0;
    for (let j = 0; j < S; j++) W[j * S + D] = 0;
    b[D] = 0.5;
    W[IN[0] * S + D] = -5;
    W[D * S + H2[1]] = 1;
    const layer = nm.layers.urn({ inputShape: [IN.length], neurons: S, iterations: 3, outputUnits: OUT.length });
    const model = tf.sequential({ layers: [layer] });
    tf.tidy(() => layer.setWeights([tf.tensor2d(W, [S, S]), tf.tensor1d(b)]));
    const s = nm.analysis.emergentStructure(layer, x);
    expect(s.layerOf[D]).toBe(2);
    expect(s.prune.maxDiff).toBeGreaterThan(0.1);
    model.dispose();
  });

  it('classifies synapses by height and measures their length (Fig. 6)', () => {
    const reg = nm.regularizers.synapticLength({ rate: 0.01, geometry: { inputGrid: [2, 2], lattice: [2, 2, 1], outputs: 2 }, beta: 4 });
    expect(reg.positions()).toEqual([
      [0, 0, 1],
      [1, 0, 1],
      [0, 1, 1],
      [1, 1, 1],
      [0, 0, 2],
      [1, 0, 2],
      [0, 1, 2],
      [1, 1, 2],
      [0, 0.5, 3],
      [1, 0.5, 3],
    ]);
    const n = 10;
    const layer = nm.layers.urn({ inputShape: [4], neurons: n, iterations: 2, outputUnits: 2, residual: 'output', synapticLength: reg });
    const model = tf.sequential({ layers: [layer] });
    const W = new Float32Array(n * n);
    for (let i = 0; i < 4; i++) W[i * n + 4 + i] = 1; // input i → lattice i (straight up, length √β = 2)
    W[4 * n + 8] = 1; // lattice 0 → output 0: dx 0, dy .5, dz 1 → √(.25 + 4)
    W[7 * n + 9] = 1; // lattice 3 → output 1: same length
    W[5 * n + 1] = -0.5; // lattice 1 → input 1: backward, length 2
    W[5 * n + 6] = 0.5; // lattice 1 → lattice 2: lateral, length √2
    tf.tidy(() => layer.setWeights([tf.tensor2d(W, [n, n]), tf.tensor1d(new Float32Array(n))]));
    const x = [[1, 2, 3, 4]];
    const s = nm.analysis.emergentStructure(layer, x);
    expect(s.geometric).not.toBeNull();
    expect(s.geometric).toMatchObject({ forward: 6, backward: 1, lateral: 1 });
    const lengths = [2, 2, 2, 2, Math.sqrt(4.25), Math.sqrt(4.25), 2, Math.SQRT2];
    expect(s.geometric!.meanLength).toBeCloseTo(lengths.reduce((a, v) => a + v) / lengths.length, 6);
    const weights = [1, 1, 1, 1, 1, 1, 0.5, 0.5];
    expect(s.geometric!.weightedMeanLength).toBeCloseTo(lengths.reduce((a, v, i) => a + v * weights[i], 0) / 7, 6);
    // The regularizer's value: rate · Σ |W| · d.
    const penalty = tf.tidy(() => reg.apply(layer.getWeights()[0]).dataSync()[0]);
    expect(penalty).toBeCloseTo(0.01 * lengths.reduce((a, v, i) => a + v * weights[i], 0), 5);
    const svg = nm.analysis.renderConnectome(layer, s);
    expect((svg.match(/stroke="#d62728"/g) ?? []).length).toBe(6);
    expect((svg.match(/stroke="#2ca02c"/g) ?? []).length).toBe(1);
    expect((svg.match(/stroke="#000000"/g) ?? []).length).toBe(1);
    model.dispose();
    reg.dispose();
  });
});

describe('uplift geometry and data', () => {
  it('spreads the lattice over the input grid and charges all or only upper pairs', () => {
    const reg = nm.regularizers.synapticLength({ rate: 1, geometry: { inputGrid: [8, 8], lattice: [4, 4, 2] } });
    expect(reg.numNeurons).toBe(64 + 32);
    const p = reg.positions();
    expect(p[9]).toEqual([1, 1, 1]); // pixel (row 1, col 1)
    expect(p[64]).toEqual([0.5, 0.5, 2]);
    expect(p[64 + 5]).toEqual([2.5, 2.5, 2]);
    expect(p[95]).toEqual([6.5, 6.5, 3]);
    const two = [
      [0, 0, 0],
      [3, 4, 0],
    ];
    const all = nm.regularizers.synapticLength({ rate: 2, positions: two, power: 2 });
    const upper = nm.regularizers.synapticLength({ rate: 2, positions: two, power: 2, pairs: 'upper' });
    const W = tf.tensor2d([
      [7, 1],
      [-3, 9],
    ]);
    expect(tf.tidy(() => all.apply(W).dataSync()[0])).toBeCloseTo(2 * (1 + 3) * 25, 3);
    expect(tf.tidy(() => upper.apply(W).dataSync()[0])).toBeCloseTo(2 * 1 * 25, 3);
    W.dispose();
    all.dispose();
    upper.dispose();
  });

  it('draws two balanced, seeded, uniform-in-volume concentric shells', () => {
    const t = nm.datasets.concentricShells({ dims: 10, samples: 4000, seed: 3 });
    const again = nm.datasets.concentricShells({ dims: 10, samples: 4000, seed: 3 });
    expect(Array.from(again.x.subarray(0, 50))).toEqual(Array.from(t.x.subarray(0, 50)));
    expect(t.numFeatures).toBe(10);
    expect(t.classes).toEqual(['inner', 'outer']);
    const radii = [
      [0.6, 0.9],
      [1.1, 1.4],
    ];
    const count = [0, 0];
    const belowMedian = [0, 0];
    for (let i = 0; i < t.numSamples; i++) {
      const c = t.y[i];
      count[c]++;
      const r = Math.hypot(...t.x.subarray(i * 10, i * 10 + 10));
      expect(r).toBeGreaterThanOrEqual(radii[c][0] - 1e-6);
      expect(r).toBeLessThanOrEqual(radii[c][1] + 1e-6);
      const median = ((radii[c][0] ** 10 + radii[c][1] ** 10) / 2) ** 0.1; // half the shell's volume lies below it
      if (r < median) belowMedian[c]++;
    }
    expect(count).toEqual([2000, 2000]);
    for (const c of [0, 1]) expect(Math.abs(belowMedian[c] / 2000 - 0.5)).toBeLessThan(0.04);
    expect(() => nm.datasets.concentricShells({ radii: [[1, 0.5], 2] })).toThrow(
      /concentricShells: 'radii\[0\]\[1\]' must be a finite number in \[1, inf\); received 0.5/,
    );
  });
});
