/**
 * modulePartition's `proximalRate`: the proximal steps at the optimizer's current rate
 * (default) or at its rate when `fit` began, while a schedule changes the optimizer's
 * rate. Known answer: with the optimizer's rate set to 0 by the schedule (SGD then
 * leaves the weights unchanged), n proximal L1 steps at η₀ shrink every off-diagonal
 * weight by exactly n·η₀·λ (soft threshold), and at the current rate 0 they do nothing.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { proximalL1Layer } from './helpers/proximal_layer.js';

const P = 5;
const LAMBDA = 0.01;
const ETA0 = 0.25;

/** The graph before and after 2 epochs of 4 batches whose optimizer rate a schedule sets to `rate(epoch)`. */
async function fitWith(
  proximalRate: 'current' | 'initial' | undefined,
  rate: (epoch: number) => number,
): Promise<{ before: Float32Array; after: Float32Array; rates: number[] }> {
  const { layer, reg, rates } = proximalL1Layer({ units: P, l1: LAMBDA, graphSeed: 7 });
  const model = tf.sequential();
  model.add(layer);
  const optimizer = tf.train.sgd(ETA0);
  model.compile({ optimizer, loss: 'meanSquaredError' });
  const before = layer.graphValues();
  const schedule = {
    onEpochBegin: async (epoch: number) => {
      optimizer.setLearningRate(rate(epoch)); // SGD caches −η: set it through setLearningRate
    },
  };
  const x = tf.randomNormal([32, 3], 0, 1, 'float32', 1);
  const y = tf.randomNormal([32, P], 0, 0.3, 'float32', 2);
  const partition = nm.callbacks.modulePartition(proximalRate ? { every: 'epoch', proximalRate } : { every: 'epoch' });
  await model.fit(x, y, { epochs: 2, batchSize: 8, shuffle: false, verbose: 0, callbacks: [schedule, partition] });
  const after = layer.graphValues();
  model.dispose();
  reg.dispose();
  tf.dispose([x, y]);
  return { before, after, rates };
}

describe('modulePartition({ proximalRate })', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it("'initial' steps at the rate fit began with: n soft thresholds of η₀·λ while the optimizer's rate is 0", async () => {
    const { before, after, rates } = await fitWith('initial', () => 0);
    expect(rates).toEqual(Array(8).fill(ETA0));
    let checked = 0;
    for (let i = 0; i < P * P; i++) {
      const w0 = before[i];
      // float64 reference of 8 soft thresholds by η₀·λ (off the diagonal; the diagonal untouched)
      const want = i % (P + 1) === 0 ? w0 : Math.sign(w0) * Math.max(0, Math.abs(w0) - 8 * ETA0 * LAMBDA);
      expect(after[i]).toBeCloseTo(want, 6);
      if (i % (P + 1) !== 0 && Math.abs(w0) > 8 * ETA0 * LAMBDA) checked++;
    }
    expect(checked).toBeGreaterThan(5); // the reference is not all zeros
  });

  it("'current' (the default) follows the schedule: at rate 0 the proximal steps do nothing", async () => {
    const current = await fitWith(undefined, () => 0);
    expect(current.rates).toEqual(Array(8).fill(0));
    expect(Array.from(current.after)).toEqual(Array.from(current.before));
    const halved = await fitWith('current', (epoch) => ETA0 * 0.5 ** (epoch + 1));
    expect(halved.rates).toEqual([...Array(4).fill(ETA0 / 2), ...Array(4).fill(ETA0 / 4)]);
    const held = await fitWith('initial', (epoch) => ETA0 * 0.5 ** (epoch + 1));
    expect(held.rates).toEqual(Array(8).fill(ETA0));
  });

  it('round-trips through getConfig and rejects other values', () => {
    const cb = nm.callbacks.modulePartition({ every: 'batch', proximalRate: 'initial' });
    expect(cb.getConfig()).toEqual({ every: 'batch', verbose: false, proximalRate: 'initial', decayWhenSettled: null });
    expect(new nm.callbacks.ModulePartitionCallback(cb.getConfig()).getConfig()).toEqual(cb.getConfig());
    expect(nm.callbacks.modulePartition().getConfig().proximalRate).toBe('current');
    expect(() => nm.callbacks.modulePartition({ proximalRate: 'first' as 'initial' })).toThrow(
      /modulePartition: 'proximalRate' must be 'current' or 'initial'; received "first"/,
    );
  });
});
