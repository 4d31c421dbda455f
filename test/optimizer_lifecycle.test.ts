/**
 * The fused optimizers' surface beyond one step: learning-rate schedules change the
 * step exactly as they change tfjs' optimizers, and a disposed optimizer refuses to go on.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { BACKENDS, useBackend } from './helpers/backends.js';
import { classificationData, denseModel, diff, randomVariables, worstDifferences } from './helpers/optimizers.js';

const { worst, note } = worstDifferences();
afterAll(() => console.log('fused optimizers vs tfjs under a learning-rate schedule, worst differences:', JSON.stringify(worst)));

/** A warm-up from 0 over 4 steps, then a decay: the step size of global step s. */
const schedule = (base: number) => (s: number) => (s < 4 ? (base * s) / 4 : base / (1 + 0.3 * (s - 4)));

/** How a schedule hands the new step size to an optimizer. */
type SetRate = (opt: tf.Optimizer, lr: number) => void;
const bySetter: SetRate = (opt, lr) => (opt as tf.SGDOptimizer).setLearningRate(lr);
const byField: SetRate = (opt, lr) => void ((opt as unknown as { learningRate: number }).learningRate = lr);

/** model.fit for 3 epochs of 5 batches, a callback setting the step size before every batch; the float weights after. */
async function fitWithSchedule(opt: tf.Optimizer, setRate: SetRate, lr: (step: number) => number): Promise<Float32Array[]> {
  const { x, y } = classificationData(40, 11);
  const model = denseModel(7);
  model.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
  let step = 0;
  await model.fit(x, y, {
    epochs: 3,
    batchSize: 8,
    shuffle: false,
    verbose: 0,
    callbacks: { onBatchBegin: async () => setRate(opt, lr(step++)) },
  });
  expect(step).toBe(15);
  const out = model
    .getWeights()
    .filter((w) => w.dtype === 'float32')
    .map((w) => Float32Array.from(w.dataSync()));
  model.dispose();
  opt.dispose();
  tf.dispose([x, y]);
  return out;
}

describe.each(BACKENDS)('learning-rate schedules on %s', (backend) => {
  beforeAll(async () => useBackend(backend));

  it.each([
    ['setLearningRate', bySetter],
    ['assigning learningRate', byField],
  ] as const)('nm.optimizers.sgd, %s: the same weights as tf.train.momentum with setLearningRate', async (how, setRate) => {
    const lr = schedule(0.1);
    const ref = await fitWithSchedule(tf.train.momentum(0.1, 0.9, true), bySetter, lr);
    const got = await fitWithSchedule(nm.optimizers.sgd({ learningRate: 0.1, momentum: 0.9, useNesterov: true }), setRate, lr);
    const unscheduled = await fitWithSchedule(nm.optimizers.sgd({ learningRate: 0.1, momentum: 0.9, useNesterov: true }), () => {}, lr);
    got.forEach((g, i) => {
      const d = diff(g, ref[i]);
      note(`${backend} sgd ${how}`, d);
      if (backend === 'cpu') expect(d.abs).toBe(0);
      expect(d.rel).toBeLessThanOrEqual(1e-6);
    });
    // The schedule matters: without it the weights are far from tfjs'.
    expect(Math.max(...unscheduled.map((u, i) => diff(u, ref[i]).rel))).toBeGreaterThan(1e-3);
  });

  it.each([
    ['setLearningRate', bySetter],
    ['assigning learningRate', byField],
  ] as const)('nm.optimizers.adam, %s: the same weights as tf.train.adam with its learningRate assigned', async (how, setRate) => {
    const lr = schedule(0.05);
    const ref = await fitWithSchedule(tf.train.adam(0.05, 0.9, 0.999, 1e-7), byField, lr);
    const got = await fitWithSchedule(nm.optimizers.adam({ learningRate: 0.05 }), setRate, lr);
    const unscheduled = await fitWithSchedule(nm.optimizers.adam({ learningRate: 0.05 }), () => {}, lr);
    got.forEach((g, i) => {
      const d = diff(g, ref[i]);
      note(`${backend} adam ${how}`, d);
      if (backend === 'cpu') expect(d.abs).toBe(0);
      expect(d.rel).toBeLessThanOrEqual(1e-6);
    });
    expect(Math.max(...unscheduled.map((u, i) => diff(u, ref[i]).rel))).toBeGreaterThan(1e-3);
  });

  it('the step size set is checked, kept and saved with the config', () => {
    const sgd = nm.optimizers.sgd({ learningRate: 0.1 });
    const adam = nm.optimizers.adam();
    sgd.setLearningRate(0.03);
    adam.learningRate = 0;
    expect(sgd.learningRate).toBe(0.03);
    expect(sgd.getConfig().learningRate).toBe(0.03);
    expect(adam.getConfig().learningRate).toBe(0);
    expect(() => sgd.setLearningRate(NaN)).toThrow(/optimizers\.sgd: 'learningRate' must be a finite number in \[0, inf\); received NaN\./);
    expect(() => (adam.learningRate = -1)).toThrow(/optimizers\.adam: 'learningRate' must be a finite number in \[0, inf\); received -1\./);
    expect(() => adam.setLearningRate('0.1' as never)).toThrow(nm.ConfigError);
    expect(adam.learningRate).toBe(0);
    sgd.dispose();
    adam.dispose();
  });
});

describe.each(BACKENDS)('a disposed fused optimizer on %s', (backend) => {
  beforeAll(async () => useBackend(backend));

  it.each([
    ['adam', () => nm.optimizers.adam()],
    ['sgd', () => nm.optimizers.sgd({ momentum: 0.9 })],
  ] as const)('nm.optimizers.%s: a step, getWeights and setWeights throw, naming it; a second dispose is harmless', async (name, make) => {
    const vars = randomVariables(40);
    const loss = () => tf.addN(vars.map((v) => tf.sum(tf.square(v)))) as tf.Scalar;
    const opt = make();
    opt.minimize(loss, false, vars);
    const saved = await opt.getWeights();
    const weights = saved.map((w) => ({ name: w.name, tensor: w.tensor.clone() }));
    opt.dispose();
    const disposed = new RegExp(
      `optimizers\\.${name}: applyGradients\\(\\) on an optimizer that was disposed \\(dispose\\(\\) freed its state\\); create a new nm\\.optimizers\\.${name}`,
    );
    const before = vars.map((v) => v.dataSync().slice());
    expect(() => opt.minimize(loss, false, vars)).toThrow(disposed);
    expect(() => opt.minimize(loss, false, vars)).toThrow(nm.ConfigError);
    // Nothing moved.
    vars.forEach((v, i) => expect(Array.from(v.dataSync())).toEqual(Array.from(before[i])));
    await expect(opt.getWeights()).rejects.toThrow(new RegExp(`optimizers\\.${name}: getWeights\\(\\) on an optimizer that was disposed`));
    await expect(opt.setWeights(weights)).rejects.toThrow(new RegExp(`optimizers\\.${name}: setWeights\\(\\) on an optimizer that was disposed`));
    expect(() => opt.dispose()).not.toThrow();
    tf.dispose([...vars, ...weights.map((w) => w.tensor)]);
  });
});
