/**
 * modulePartition's `decayWhenSettled` and `nm.analysis.adjustedRandIndex`.
 * Known answers: ARI values of small labelings (scikit-learn's documented examples) and a
 * brute-force pair count on random labelings; the decay's rates against the formula
 * lr₀·factor^((e − s + 1)/(E − s)) from the epoch s after `patience` unchanged epochs; the
 * proximal steps stay at lr₀ throughout; nothing decays while the graph is all singletons.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { SettleDecay, resolveDecayWhenSettled } from '../src/callbacks/settle_decay.js';
import { rng } from './helpers/rng.js';
import { proximalL1Layer } from './helpers/proximal_layer.js';

/** The ARI from pair counts over all pairs (O(n²)), independent of the contingency table. */
function bruteForceAri(a: number[], b: number[]): number {
  const n = a.length;
  let both = 0;
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const x = a[i] === a[j];
      const y = b[i] === b[j];
      if (x) sa++;
      if (y) sb++;
      if (x && y) both++;
    }
  const expected = (sa * sb) / ((n * (n - 1)) / 2);
  return (both - expected) / ((sa + sb) / 2 - expected);
}

describe('nm.analysis.adjustedRandIndex', () => {
  it('gives the known values', () => {
    const ari = nm.analysis.adjustedRandIndex;
    expect(ari([0, 0, 1, 1], [0, 0, 1, 1])).toBe(1);
    expect(ari([0, 0, 1, 1], [1, 1, 0, 0])).toBe(1);
    expect(ari([0, 0, 1, 2], [0, 0, 1, 1])).toBeCloseTo(0.5714285714285715, 15);
    expect(ari([0, 0, 1, 1], [0, 1, 0, 1])).toBeCloseTo(-0.5, 15);
    expect(ari([0, 0, 0, 0], [0, 1, 2, 3])).toBe(0);
    expect(ari([0, 1, 2, 3], [3, 2, 1, 0])).toBe(1); // two all-singleton partitions are identical
  });

  it('matches a brute-force pair count on random labelings', () => {
    const r = rng(12345);
    const rand = (k: number) => Math.floor(r() * k);
    for (let t = 0; t < 20; t++) {
      const n = 30 + t * 7;
      const a = Array.from({ length: n }, () => rand(3 + (t % 5)));
      const b = t % 2 ? a.map((v, i) => (i % 4 === 0 ? rand(6) : v)) : Array.from({ length: n }, () => rand(4));
      expect(nm.analysis.adjustedRandIndex(a, Int32Array.from(b))).toBeCloseTo(bruteForceAri(a, b), 12);
    }
  });

  it('labels every node with its module (nm.analysis.moduleLabels)', () => {
    expect(Array.from(nm.analysis.moduleLabels([[2], [0, 3], [1]]))).toEqual([1, 2, 0, 1]);
    expect(nm.analysis.adjustedRandIndex(nm.analysis.moduleLabels([[2], [0, 3], [1]]), [5, 6, 7, 5])).toBe(1);
  });

  it('names the argument of bad input', () => {
    expect(() => nm.analysis.adjustedRandIndex([0, 1], [0])).toThrow(/adjustedRandIndex: 'b.length' must be the length of a \(2\)/);
    expect(() => nm.analysis.adjustedRandIndex([0, 0.5], [0, 1])).toThrow(/'a\[1\]' must be an integer label; received 0.5/);
  });
});

describe('SettleDecay', () => {
  const labels = (...l: number[]) => [Int32Array.from(l)];

  it('starts the decay the epoch after `patience` unchanged epochs and follows the formula', () => {
    const s = new SettleDecay(resolveDecayWhenSettled('t', { patience: 2, agreement: 0.9, factor: 0.25 }));
    s.observe(0, labels(0, 0, 1, 2), true);
    s.observe(1, labels(0, 0, 0, 1), true); // changed
    expect(s.start).toBeNull();
    s.observe(2, labels(1, 1, 1, 0), true); // same modules, relabelled: streak 1
    expect(s.start).toBeNull();
    s.observe(3, labels(0, 0, 0, 1), true); // streak 2
    expect(s.start).toBe(4);
    expect(s.rateFactor(3, 10)).toBe(1);
    for (let e = 4; e < 10; e++) expect(s.rateFactor(e, 10)).toBeCloseTo(Math.pow(0.25, (e - 4 + 1) / 6), 15);
    expect(s.rateFactor(9, 10)).toBeCloseTo(0.25, 15);
  });

  it('starts at ⌊latest·E⌋ when that comes before the settled epoch', () => {
    const s = new SettleDecay(resolveDecayWhenSettled('t', { patience: 1, latest: 0.4 }));
    expect(s.startIn(10)).toBe(4);
    s.observe(0, labels(0, 0, 1), true);
    s.observe(1, labels(0, 0, 1), true); // settled: start 2
    expect(s.startIn(10)).toBe(2);
    expect(s.startIn(3)).toBe(1); // ⌊0.4·3⌋ = 1 is earlier
    expect(s.rateFactor(1, 3)).toBeCloseTo(Math.pow(0.1, 1 / 2), 15);
  });

  it('does not count an all-singleton graph as settled, and a change resets the streak', () => {
    const s = new SettleDecay(resolveDecayWhenSettled('t', { patience: 2 }));
    for (let e = 0; e < 5; e++) s.observe(e, labels(0, 1, 2, 3), false);
    expect(s.start).toBeNull();
    s.observe(5, labels(0, 0, 1, 2), true);
    s.observe(6, labels(0, 0, 1, 2), true);
    s.observe(7, labels(0, 1, 1, 2), true);
    s.observe(8, labels(0, 1, 1, 2), true);
    expect(s.start).toBeNull();
    s.observe(9, labels(0, 1, 1, 2), true);
    expect(s.start).toBe(10);
  });
});

/** A model whose graph is complete (one module of P nodes) and barely moves, so its partition settles at once. */
async function fitSettled(opts: { nested: boolean; sgd: boolean; epochs: number; decay: object | boolean | null; schedule?: (epoch: number) => number }) {
  const P = 5;
  const { layer, reg, rates } = proximalL1Layer({ units: P, l1: 1e-4, graphSeed: 3, inputSeed: 4 });
  let model: tf.LayersModel;
  if (opts.nested) {
    const inner = tf.sequential({ layers: [layer] });
    model = tf.sequential({ layers: [inner, tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }) })] });
  } else model = tf.sequential({ layers: [layer] });
  const lr0 = 0.002;
  const optimizer = opts.sgd ? tf.train.sgd(lr0) : tf.train.adam(lr0);
  model.compile({ optimizer, loss: 'meanSquaredError' });
  const x = tf.randomNormal([16, 3], 0, 1, 'float32', 1);
  const y = tf.randomNormal([16, opts.nested ? 2 : P], 0, 0.3, 'float32', 2);
  const partition = nm.callbacks.modulePartition({ every: 'batch', proximalRate: 'initial', decayWhenSettled: opts.decay });
  const schedule = opts.schedule;
  // the reference: the same rates set by hand (setLearningRate: SGD caches a scalar made from its rate)
  const byHand = { onEpochBegin: async (epoch: number) => void (schedule && (optimizer as tf.SGDOptimizer).setLearningRate?.(schedule(epoch))) };
  if (schedule && !opts.sgd)
    byHand.onEpochBegin = async (epoch: number) => void ((optimizer as unknown as { learningRate: number }).learningRate = schedule(epoch));
  const h = await model.fit(x, y, { epochs: opts.epochs, batchSize: 8, shuffle: false, verbose: 0, callbacks: [byHand, partition] });
  const lastRate = (optimizer as unknown as { learningRate: number }).learningRate;
  const weights = model.getWeights().map((w) => Array.from(w.dataSync()));
  model.dispose();
  reg.dispose();
  tf.dispose([x, y]);
  return { lr0, history: h.history, proximalRates: rates, lastRate, weights };
}

describe('modulePartition({ decayWhenSettled })', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it.each([
    ['Adam, the layer at the top', false, false],
    ['SGD (setLearningRate), the layer in a nested model', true, true],
  ] as const)('%s: decays the rate from the settled epoch, proximal steps at lr₀', async (_name, nested, sgd) => {
    const E = 8;
    const { lr0, history, proximalRates, lastRate, weights } = await fitSettled({
      nested,
      sgd,
      epochs: E,
      decay: { patience: 2, agreement: 0.9, factor: 0.25 },
    });
    // epoch 0 has no previous partition; epochs 1 and 2 agree: the decay starts at epoch 3
    expect(history.nm_agreement[0]).toBeNaN();
    expect(history.nm_agreement.slice(1)).toEqual(Array(E - 1).fill(1));
    const want = Array.from({ length: E }, (_, e) => (e < 3 ? lr0 : lr0 * Math.pow(0.25, (e - 3 + 1) / (E - 3))));
    (history.nm_lr as number[]).forEach((r, e) => expect(r).toBeCloseTo(want[e], 12));
    expect(lastRate).toBeCloseTo(lr0 * 0.25, 12);
    expect(proximalRates).toEqual(Array(2 * E).fill(lr0));
    expect(history.nm_largest).toEqual(Array(E).fill(5));
    // the weights equal those of the same rates set by hand, to the bit
    const reference = await fitSettled({ nested, sgd, epochs: E, decay: null, schedule: (e) => want[e] });
    expect(weights).toEqual(reference.weights);
  });

  it('leaves the rate alone until it has settled, unless `latest` starts it', async () => {
    const { lr0, history } = await fitSettled({ nested: false, sgd: false, epochs: 4, decay: true });
    expect(history.nm_lr).toEqual(Array(4).fill(lr0)); // patience 10 > 4 epochs
    // latest 0.5 of 6 epochs: the decay starts at epoch 3 (patience 10 never reached)
    const forced = await fitSettled({ nested: false, sgd: false, epochs: 6, decay: { latest: 0.5, factor: 0.5 } });
    const want = [1, 1, 1, 0.5 ** (1 / 3), 0.5 ** (2 / 3), 0.5].map((f) => forced.lr0 * f);
    (forced.history.nm_lr as number[]).forEach((r, e) => expect(r).toBeCloseTo(want[e], 12));
  });

  it('round-trips through getConfig and rejects bad values', () => {
    const cb = nm.callbacks.modulePartition({ every: 'batch', decayWhenSettled: true });
    expect(cb.getConfig()).toEqual({
      every: 'batch',
      verbose: false,
      proximalRate: 'initial',
      decayWhenSettled: { factor: 0.1, patience: 10, agreement: 0.95, latest: null },
    });
    expect(new nm.callbacks.ModulePartitionCallback(cb.getConfig()).getConfig()).toEqual(cb.getConfig());
    expect(nm.callbacks.modulePartition().getConfig().decayWhenSettled).toBeNull();
    const bad: [object, RegExp][] = [
      [{ factor: 0 }, /'decayWhenSettled.factor' must be a finite number in \(0, 1\]; received 0/],
      [{ factor: 1.5 }, /'decayWhenSettled.factor' must be a finite number in \(0, 1\]; received 1.5/],
      [{ patience: 2.5 }, /'decayWhenSettled.patience' must be an integer >= 1; received 2.5/],
      [{ agreement: 0 }, /'decayWhenSettled.agreement' must be a finite number in \(0, 1\]/],
      [{ patiance: 3 }, /modulePartition.decayWhenSettled: unknown option 'patiance'/],
      [{ latest: 1 }, /'decayWhenSettled.latest' must be a finite number in \[0, 1\); received 1/],
    ];
    for (const [decayWhenSettled, re] of bad) expect(() => nm.callbacks.modulePartition({ decayWhenSettled })).toThrow(re);
    expect(() => nm.callbacks.modulePartition({ decayWhenSettled: 'yes' as unknown as boolean })).toThrow(/'decayWhenSettled' must be true or an object/);
    expect(() => nm.callbacks.modulePartition({ decayWhenSettled: true, proximalRate: 'current' })).toThrow(
      /'proximalRate' must be 'initial' when decayWhenSettled is set; received "current". The decay shrinks only/,
    );
  });
});
