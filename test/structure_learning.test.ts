/**
 * Structure learning where structure exists: the proximal mode of the graph
 * regularizers, the default contraction constraint, and a planted-module teacher
 * (bench/structure/teacher.ts) that the recipe must recover and the old defaults did not fit.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as nm from '../src/index.js';
import { proximalOffDiagonal } from '../src/regularizers/proximal.js';
import { Random } from '../src/utils/random.js';
import { adjustedRandIndex, makeTeacher, teacherData } from '../bench/structure/teacher.js';
import { withSeededRandom } from '../bench/uci/seeded_random.js';

describe('proximal operator', () => {
  it('soft-thresholds off-diagonal entries by η·c, sets exact zeros, leaves the diagonal', () => {
    const p = 3;
    const w = Float32Array.from([5, 0.3, -0.3, 0.05, -7, -0.02, 1, -1, 9]);
    const zeroed = proximalOffDiagonal(w, p, 0.1, 1, 'l1');
    const f = Math.fround;
    const shrunk = (v: number) => f(f(v) - 0.1);
    expect(Array.from(w)).toEqual([5, shrunk(0.3), -shrunk(0.3), 0, -7, 0, 0.9, -0.9, 9].map(f));
    expect(zeroed).toBe(2);
  });

  it('per-entry coefficients, and the l2 shrink w / (1 + 2ηc)', () => {
    const p = 2;
    const c = Float32Array.from([100, 2, 0, 100]);
    const w1 = Float32Array.from([1, 0.5, 0.5, 1]);
    proximalOffDiagonal(w1, p, 0.1, c, 'l1');
    expect(Array.from(w1)).toEqual([1, Math.fround(Math.fround(0.5) - 0.2), 0.5, 1]);
    const w2 = Float32Array.from([1, 0.5, 0.5, 1]);
    proximalOffDiagonal(w2, p, 0.1, c, 'l2');
    expect(w2[1]).toBeCloseTo(0.5 / 1.4, 6);
    expect(w2[2]).toBe(0.5);
    expect(w2[0]).toBe(1);
  });

  it('matches its definition bit for bit: one float32 rounding per operator, +0 when an entry vanishes, zeros and the diagonal kept', () => {
    // The definition, entry by entry in float64: the threshold (or shrink) of v, rounded to float32, then the
    // L1 threshold of that float32 value with η·l1, rounded again. Zero entries (+0 and −0) and the diagonal stay.
    const reference = (w: Float32Array, p: number, eta: number, c: number | Float32Array, norm: 'l1' | 'l2', l1: number) => {
      let zeroed = 0;
      for (let j = 0; j < p; j++) {
        for (let k = 0; k < p; k++) {
          const i = j * p + k;
          const v = w[i];
          if (j === k || v === 0) continue;
          const t = eta * (typeof c === 'number' ? c : c[i]);
          let u: number;
          if (norm === 'l1') {
            const a = Math.abs(v) - t;
            if (!(a > 0)) {
              w[i] = 0;
              zeroed++;
              continue;
            }
            u = Math.fround(Math.sign(v) * a);
          } else {
            u = Math.fround(v / (1 + 2 * t));
          }
          w[i] = u;
          if (eta * l1 === 0 || u === 0) continue;
          const b = Math.abs(u) - eta * l1;
          w[i] = b > 0 ? Math.sign(u) * b : 0;
          if (!(b > 0)) zeroed++;
        }
      }
      return zeroed;
    };
    const r = new Random(11);
    const p = 37;
    // Weights on many scales, with +0, −0, values at the threshold and below float32's smallest normal.
    const w0 = Float32Array.from({ length: p * p }, (_, i) =>
      i % 17 === 0 ? 0 : i % 19 === 0 ? -0 : i % 23 === 0 ? 1e-3 : i % 29 === 0 ? -1e-39 : (r.next() - 0.5) * 10 ** (-4 * r.next()),
    );
    const c = Float32Array.from({ length: p * p }, () => (r.next() < 0.2 ? 0 : r.next()));
    const bitsOf = (a: Float32Array) => Array.from(new Uint32Array(a.buffer));
    let cases = 0;
    for (const norm of ['l1', 'l2'] as const) {
      for (const coeff of [c, 0.5, 0]) {
        for (const l1 of [0, 0.3]) {
          for (const eta of [2e-3, 0]) {
            const got = w0.slice();
            const want = w0.slice();
            const label = `${norm} c ${typeof coeff === 'number' ? coeff : 'per edge'} l1 ${l1} η ${eta}`;
            expect(proximalOffDiagonal(got, p, eta, coeff, norm, l1), label).toBe(reference(want, p, eta, coeff, norm, l1));
            expect(bitsOf(got), label).toEqual(bitsOf(want));
            cases++;
          }
        }
      }
    }
    expect(cases).toBe(24);
  });

  it('rejects a learning rate that is not a finite number >= 0', () => {
    expect(() => proximalOffDiagonal(new Float32Array(4), 2, NaN, 1, 'l1')).toThrow(/learning rate.*NaN/);
  });
});

describe('proximal mode of the graph regularizers', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('adds nothing to the loss, serializes, and validates its argument', () => {
    const w = tf.tensor2d([1, -2, 3, 4], [2, 2]);
    const plain = nm.regularizers.offDiagonalL1({ l1: 0.5 });
    const prox = nm.regularizers.offDiagonalL1({ l1: 0.5, proximal: true });
    expect(plain.apply(w).dataSync()[0]).toBeCloseTo(2.5, 6);
    expect(prox.apply(w).dataSync()[0]).toBe(0);
    expect(prox.getConfig()).toEqual({ l1: 0.5, proximal: true });
    expect(nm.regularizers.nm({ proximal: true }).getConfig().proximal).toBe(true);
    expect(() => nm.regularizers.offDiagonalL1({ proximal: 'yes' as unknown as boolean })).toThrow(/'proximal' must be a boolean; received "yes"/);
    tf.dispose(w);
    plain.dispose();
    prox.dispose();
  });

  it('modulePartition applies the step after every batch with the optimizer learning rate', async () => {
    const reg = nm.regularizers.offDiagonalL1({ l1: 0.5, proximal: true });
    const calls: number[] = [];
    const step = reg.proximalStep.bind(reg);
    reg.proximalStep = (w, p, lr) => {
      calls.push(lr);
      return step(w, p, lr);
    };
    const model = tf.sequential();
    model.add(nm.layers.neuralModule({ inputShape: [3], units: 6, density: 0.5, graphRegularizer: reg }));
    model.compile({ optimizer: tf.train.sgd(0.25), loss: 'meanSquaredError' });
    const x = tf.randomNormal([40, 3], 0, 1, 'float32', 1);
    const y = tf.randomNormal([40, 6], 0, 0.3, 'float32', 2);
    await model.fit(x, y, { epochs: 2, batchSize: 10, verbose: 0, callbacks: [nm.callbacks.modulePartition()] });
    expect(calls).toEqual(Array(8).fill(0.25));
    // η·λ = 0.125 per step over 8 steps removes every off-diagonal weight of this scale: no edge is kept.
    const layer = model.layers[0] as nm.layers.NeuralModuleLayer;
    const g = layer.graphValues();
    for (let j = 0; j < 6; j++) for (let k = 0; k < 6; k++) if (j !== k) expect(g[j * 6 + k]).toBe(0);
    expect(layer.structure().edges).toBe(0);
    model.dispose();
    reg.dispose();
    tf.dispose([x, y]);
  });

  it('warns once when nothing applies the proximal step', async () => {
    const reg = nm.regularizers.offDiagonalL1({ l1: 0.5, proximal: true });
    const model = tf.sequential();
    model.add(nm.layers.neuralModule({ inputShape: [3], units: 4, density: 0.5, graphRegularizer: reg }));
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError' });
    const x = tf.ones([40, 3]);
    const y = tf.zeros([40, 4]);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      await model.fit(x, y, { epochs: 2, batchSize: 5, verbose: 0 });
      const mine = warn.mock.calls.filter((c) => String(c[0]).includes('proximal mode'));
      expect(mine).toHaveLength(1);
      expect(String(mine[0][0])).toMatch(/nm\.callbacks\.modulePartition\(\)/);
    } finally {
      warn.mockRestore();
      model.dispose();
      tf.dispose([x, y]);
    }
  });
});

describe('default graph constraint', () => {
  it('is contractive (bound 0.9) on a complete graph, none on a DAG or when null is given', () => {
    const graph = nm.layers.neuralModule({ units: 4 });
    expect(graph.options.graphConstraint).toBeInstanceOf(nm.constraints.ContractiveConstraint);
    expect((graph.options.graphConstraint as nm.constraints.ContractiveConstraint).bound).toBe(0.9);
    expect(nm.layers.neuralModule({ units: 4, topology: 'dag' }).options.graphConstraint).toBeNull();
    expect(nm.layers.neuralModule({ units: 4, graphConstraint: null }).options.graphConstraint).toBeNull();
  });
});

describe('planted modules (teacher network, wasm)', () => {
  let previous = '';
  beforeAll(async () => {
    previous = tf.getBackend();
    await tf.setBackend('wasm');
  });
  afterAll(async () => {
    await tf.setBackend(previous);
  });

  const teacher = makeTeacher({ k: 5, m: 6, n: 8, inside: 0.3, between: 2, gain: 0.8, seed: 101 });
  const p = teacher.p;
  const rows = 1500;
  const data = teacherData(teacher, rows, 201);
  const density = teacher.edges.length / (p * (p - 1));

  async function fit(layerArgs: Partial<nm.layers.NeuralModuleLayerArgs>, every: 'epoch' | 'batch', epochs: number) {
    const layer = nm.layers.neuralModule({
      inputShape: [8],
      units: p,
      density,
      inputInitializer: tf.initializers.glorotUniform({ seed: 1001 }),
      graphInitializer: { className: 'NMContractiveGraph', config: { gain: 0.5, density, seed: 2001 } },
      onNonConvergence: 'ignore',
      ...layerArgs,
    });
    const model = tf.sequential();
    model.add(layer);
    model.compile({ optimizer: tf.train.adam(1e-2), loss: 'meanSquaredError' });
    const x = tf.tensor2d(data.u, [rows, 8]);
    const y = tf.tensor2d(data.h, [rows, p]);
    await withSeededRandom(7001, () =>
      model.fit(x, y, { epochs, batchSize: 64, shuffle: true, verbose: 0, callbacks: [nm.callbacks.modulePartition({ every })] }),
    );
    const pred = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
    let mse = 0;
    for (let i = 0; i < pred.length; i++) mse += (pred[i] - data.clean[i]) ** 2;
    const ari = adjustedRandIndex(nm.analysis.moduleLabels(layer.structure().modules), teacher.moduleOf);
    model.dispose();
    tf.dispose([x, y]);
    return { mse: mse / pred.length, ari };
  }

  it('the teacher data: the adjusted Rand index is 1 for the same partition, ~0 for a shuffled one', () => {
    expect(adjustedRandIndex(teacher.moduleOf, teacher.moduleOf)).toBe(1);
    expect(adjustedRandIndex([0, 0, 1, 1], [1, 1, 0, 0])).toBe(1);
    expect(adjustedRandIndex([0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2])).toBeLessThan(0);
  });

  it('per-epoch re-partition: the default contraction keeps the fit; without it the solves blow up', async () => {
    const safe = await fit({}, 'epoch', 12);
    const unsafe = await fit({ graphConstraint: null }, 'epoch', 12);
    expect(safe.mse).toBeLessThan(0.06);
    expect(unsafe.mse).toBeGreaterThan(2 * safe.mse);
  });

  it('the recipe (proximal L1, re-partition every batch) recovers the planted modules', async () => {
    const reg = nm.regularizers.offDiagonalL1({ l1: 0.05, proximal: true });
    const r = await fit({ graphRegularizer: reg }, 'batch', 60);
    reg.dispose();
    expect(r.ari).toBeGreaterThan(0.9);
    expect(r.mse).toBeLessThan(1e-3);
  });
});
