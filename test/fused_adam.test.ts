/** nm.optimizers.adam: the same weights as tf.train.adam, serializable, no leaks, checked arguments. */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { FusedAdamOptimizer } from '../src/optimizers/fused_adam.js';
import { readView } from '../src/tfjs_internals/host_view.js';
import { BACKENDS, useBackend } from './helpers/backends.js';
import {
  KERNEL_NAME,
  classificationData,
  denseModel,
  diff,
  expectNoLeaks,
  expectTensorPathLikeTfjs,
  fitBoth,
  kernelsOn,
  randomVariables,
  runSteps,
  saveAndLoad,
  useTensorPathBackend,
  worstDifferences,
} from './helpers/optimizers.js';

const SETTINGS = { learningRate: 0.01, beta1: 0.8, beta2: 0.99, epsilon: 1e-6 };
const tfAdam = () => tf.train.adam(SETTINGS.learningRate, SETTINGS.beta1, SETTINGS.beta2, SETTINGS.epsilon);
/** The worst relative difference seen, per test, printed at the end (for the change report). */
const { worst, note } = worstDifferences();
afterAll(() => console.log('fused Adam vs tf.train.adam, worst differences:', JSON.stringify(worst)));

function nmModel(): tf.Sequential {
  const model = tf.sequential();
  model.add(
    nm.layers.neuralModule({
      inputShape: [6],
      units: 16,
      density: 0.2,
      solver: { method: 'anderson', tol: 1e-6, maxIter: 100 },
      graphInitializer: new nm.layers.ContractiveGraph({ density: 0.2, seed: 3 }),
      inputInitializer: tf.initializers.glorotNormal({ seed: 4 }),
    }),
  );
  model.add(tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotNormal({ seed: 5 }) }));
  return model;
}

describe.each(BACKENDS)('nm.optimizers.adam on %s', (backend) => {
  beforeAll(async () => useBackend(backend));

  it.each(kernelsOn(backend))('%s kernels: 12 minimize() steps give tf.train.adam’s weights (bit for bit on cpu)', (kernels) => {
    const init = randomVariables(1);
    const ref = runSteps(tfAdam(), init, 12);
    const opt = new FusedAdamOptimizer(SETTINGS.learningRate, SETTINGS.beta1, SETTINGS.beta2, SETTINGS.epsilon, kernels);
    const got = runSteps(opt, init, 12);
    expect(opt.kernelName).toBe(KERNEL_NAME[kernels]);
    got.forEach((g, i) => {
      const d = diff(g, ref[i]);
      note(`${backend} minimize ${kernels}`, d);
      if (backend === 'cpu') expect(d.abs).toBe(0);
      expect(d.rel).toBeLessThanOrEqual(1e-6);
    });
    opt.dispose();
    tf.dispose(init);
  });

  it('model.fit of a small dense model: the same weights as with tf.train.adam', async () => {
    const { ref, fused } = await fitBoth(() => denseModel(7), tfAdam(), nm.optimizers.adam(SETTINGS));
    fused.forEach((f, i) => {
      const d = diff(f, ref[i]);
      note(`${backend} dense fit`, d);
      expect(d.rel).toBeLessThanOrEqual(1e-6);
    });
  });

  it('model.fit of a NeuralModule model: the same weights as with tf.train.adam', async () => {
    const { ref, fused } = await fitBoth(nmModel, tfAdam(), nm.optimizers.adam(SETTINGS));
    expect(fused.length).toBe(4);
    fused.forEach((f, i) => {
      const d = diff(f, ref[i]);
      note(`${backend} NeuralModule fit`, d);
      expect(d.rel).toBeLessThanOrEqual(1e-6);
    });
  });

  it(`reads tensors ${backend === 'wasm' ? "straight from the wasm backend's heap" : 'with dataSync()'}`, () => {
    const t = tf.randomNormal([5, 7], 0, 1, 'float32', 9);
    const view = readView(t);
    expect(Array.from(view)).toEqual(Array.from(t.dataSync()));
    const heap = (tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } }).wasm?.HEAPU8;
    if (backend === 'wasm')
      expect(view.buffer).toBe(heap?.buffer); // a view of the heap, not dataSync's copy
    else expect(view).toBe(t.dataSync());
    t.dispose();
  });

  it('leaks no tensor across steps, and dispose() frees its state', () => {
    expectNoLeaks(nm.optimizers.adam(), 2);
  });

  it('getWeights/setWeights: a restored optimizer continues exactly like the original', async () => {
    const init = randomVariables(30);
    const a = nm.optimizers.adam(SETTINGS);
    const varsA = init.map((t) => tf.variable(t.clone()));
    const loss = (vs: tf.Variable[]) => () => tf.addN(vs.map((v) => tf.sum(tf.sin(tf.mul(v, 3))))) as tf.Scalar;
    for (let i = 0; i < 4; i++) a.minimize(loss(varsA), false, varsA);
    const saved = await a.getWeights();
    expect(saved.map((w) => w.name)).toEqual(['iter', ...varsA.map((v) => `${v.name}/m`), ...varsA.map((v) => `${v.name}/v`)]);
    expect(saved[0].tensor.dataSync()[0]).toBe(4);
    // tfjs' own Adam reads the same layout.
    const t = tfAdam();
    await t.setWeights(saved.map((w) => ({ name: w.name, tensor: w.tensor.clone() })));
    const b = nm.optimizers.adam(SETTINGS);
    await b.setWeights(saved.map((w) => ({ name: w.name, tensor: w.tensor.clone() })));
    const varsB = varsA.map((v) => tf.variable(v.clone()));
    const varsT = varsA.map((v) => tf.variable(v.clone()));
    for (let i = 0; i < 3; i++) {
      a.minimize(loss(varsA), false, varsA);
      b.minimize(loss(varsB), false, varsB);
      t.minimize(loss(varsT), false, varsT);
    }
    // Restored, tfjs' Adam and this one both recompute beta^(t+1) with pow (not the
    // running product), so they match each other exactly on cpu and the original to rounding.
    varsA.forEach((v, i) => {
      const d = diff(varsB[i].dataSync(), varsT[i].dataSync());
      note(`${backend} restored`, d);
      if (backend === 'cpu') expect(d.abs).toBe(0);
      expect(d.rel).toBeLessThanOrEqual(1e-6);
      expect(diff(varsB[i].dataSync(), v.dataSync()).rel).toBeLessThanOrEqual(1e-6);
    });
    for (const o of [a, b, t]) o.dispose();
    tf.dispose([...init, ...varsA, ...varsB, ...varsT]);
  });

  it('model.save with includeOptimizer restores a FusedAdam with its state', async () => {
    const model = denseModel(40);
    model.compile({ optimizer: nm.optimizers.adam(SETTINGS), loss: 'categoricalCrossentropy' });
    const { x, y } = classificationData(16, 41);
    await model.fit(x, y, { epochs: 2, batchSize: 8, shuffle: false, verbose: 0 });
    const loaded = await saveAndLoad(model);
    expect(loaded.optimizer).toBeInstanceOf(FusedAdamOptimizer);
    expect(loaded.optimizer.getConfig()).toEqual(SETTINGS);
    expect(loaded.optimizer.iterations).toBe(4);
    for (const m of [model, loaded]) await m.fit(x, y, { epochs: 1, batchSize: 8, shuffle: false, verbose: 0 });
    // The loaded optimizer recomputes beta^(t+1) with pow, like tfjs' Adam after loading:
    // an ulp-level change of the bias corrections, so the weights agree to ~1e-6, not bit for bit.
    model.getWeights().forEach((w, i) => expect(diff(loaded.getWeights()[i].dataSync(), w.dataSync()).rel).toBeLessThanOrEqual(1e-5));
    model.optimizer.dispose();
    loaded.optimizer.dispose();
    model.dispose();
    loaded.dispose();
    tf.dispose([x, y]);
  });
});

describe('nm.optimizers.adam on a backend without the fused path', () => {
  beforeAll(useTensorPathBackend);
  afterAll(async () => useBackend('cpu'));

  it('runs tfjs’ op sequence (the same weights) and moves its state between the two paths', async () => {
    const init = randomVariables(50);
    await expectTensorPathLikeTfjs(nm.optimizers.adam(SETTINGS), runSteps(tfAdam(), init, 8), init, 2, note);
    tf.dispose(init);
  });
});

describe('nm.optimizers.adam: config and arguments', () => {
  it('round-trips its config through tfjs serialization', () => {
    const opt = nm.optimizers.adam(SETTINGS);
    expect(opt.getClassName()).toBe('FusedAdam');
    expect(opt.getConfig()).toEqual(SETTINGS);
    const entry = tf.serialization.SerializationMap.getMap().classNameMap['FusedAdam'];
    expect(entry).toBeDefined();
    const copy = entry[1](entry[0], JSON.parse(JSON.stringify(opt.getConfig())) as tf.serialization.ConfigDict);
    expect(copy).toBeInstanceOf(FusedAdamOptimizer);
    expect((copy as FusedAdamOptimizer).getConfig()).toEqual(SETTINGS);
    expect(nm.optimizers.adam().getConfig()).toEqual({ learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });
    expect(nm.optimizers.adam()).toBeInstanceOf(tf.Optimizer);
  });

  it('rejects bad arguments with ConfigErrors naming them', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ learningRate: 0 }, /optimizers\.adam: 'learningRate' must be a finite number in \(0, inf\); received 0/],
      [{ learningRate: NaN }, /'learningRate'/],
      [{ beta1: 1 }, /'beta1' must be a finite number in \[0, 1\); received 1/],
      [{ beta2: -0.1 }, /'beta2'/],
      [{ epsilon: -1 }, /'epsilon'/],
      [{ epsilon: '1e-7' }, /'epsilon' .* received "1e-7"/],
      [{ learningrate: 0.1 }, /unknown option 'learningrate'/],
      [5, /'args' must be an object/],
      [[], /'args' must be an object/],
    ];
    for (const [args, msg] of bad) {
      expect(() => nm.optimizers.adam(args as nm.optimizers.FusedAdamArgs)).toThrow(nm.ConfigError);
      expect(() => nm.optimizers.adam(args as nm.optimizers.FusedAdamArgs)).toThrow(msg);
    }
    const entry = tf.serialization.SerializationMap.getMap().classNameMap['FusedAdam'];
    expect(() => entry[1](entry[0], { learningRate: -0.1 })).toThrow(/'learningRate' must be/);
    expect(() => new FusedAdamOptimizer(0.1, 0.9, 0.999, 1e-7, 'gpu' as never)).toThrow(/'kernels' must be 'auto', 'heap', 'wasm' or 'js'/);
  });

  it('rejects a variable list that does not match its state, and non-float32 variables', async () => {
    await useBackend('cpu');
    const opt = nm.optimizers.adam();
    const a = tf.variable(tf.ones([3])),
      b = tf.variable(tf.ones([4]));
    opt.applyGradients([{ name: a.name, tensor: tf.ones([3]) }]);
    expect(() => opt.applyGradients([{ name: b.name, tensor: tf.ones([4]) }])).toThrow(/variable 0 \('.*'\) has 4 elements but .* has 3/);
    const i = tf.variable(tf.ones([2], 'int32'));
    expect(() => nm.optimizers.adam().applyGradients({ [i.name]: tf.ones([2]) })).toThrow(/dtype int32/);
    opt.dispose();
    tf.dispose([a, b, i]);
  });
});
