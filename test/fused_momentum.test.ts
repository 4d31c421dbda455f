/** nm.optimizers.sgd: the same weights as tf.train.momentum, its kernel, serializable, no leaks, checked arguments. */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { FusedMomentumOptimizer } from '../src/optimizers/fused_momentum.js';
import { arenaBytes, createJsKernels, createWasmKernels, wasmSimdSupported, type SparseKernels } from '../src/kernels/index.js';
import type { MomentumCoefficients } from '../src/kernels/catalog.js';
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

/** The three rules: heavy ball, Nesterov, and momentum 0 (plain SGD). */
const VARIANTS = [
  { learningRate: 0.02, momentum: 0.9, useNesterov: false },
  { learningRate: 0.02, momentum: 0.85, useNesterov: true },
  { learningRate: 0.05, momentum: 0, useNesterov: false },
] as const;
type Settings = (typeof VARIANTS)[number];
const SETTINGS = VARIANTS[1];
const tfMomentum = (s: Settings = SETTINGS) => tf.train.momentum(s.learningRate, s.momentum, s.useNesterov);
const label = (s: Settings) => `momentum ${s.momentum}${s.useNesterov ? ' (Nesterov)' : ''}`;
const { worst, note } = worstDifferences();
afterAll(() => console.log('fused momentum vs tf.train.momentum, worst differences:', JSON.stringify(worst)));

describe('momentumUpdate kernel', () => {
  const fr = Math.fround;
  const kernels: SparseKernels[] = [createJsKernels(), ...(wasmSimdSupported() ? [createWasmKernels()] : [])];
  /** tfjs' op sequence, one f32 rounding per op (written out independently of the kernels). */
  function reference(w: Float32Array, g: Float32Array, a: Float32Array, c: MomentumCoefficients): void {
    const m = fr(c.momentum),
      nlr = fr(c.negLearningRate);
    for (let i = 0; i < w.length; i++) {
      a[i] = fr(fr(m * a[i]) + g[i]);
      const step = c.nesterov ? fr(g[i] + fr(a[i] * m)) : a[i];
      w[i] = fr(fr(nlr * step) + w[i]);
    }
  }
  /** Arena arrays of length n followed by a sentinel each. */
  const SENTINEL = -12345.5;
  function arrays(k: SparseKernels, n: number): Float32Array[] {
    k.arena.reset(arenaBytes([n + 1, n + 1, n + 1]));
    return [0, 1, 2].map(() => {
      const x = k.arena.f32(n + 1);
      x[n] = SENTINEL;
      return x.subarray(0, n);
    });
  }
  const seeded = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 1000 + i * 12.9898) * 3);
  /** Three steps at length n; the final w and a. */
  function threeSteps(k: SparseKernels, n: number, c: MomentumCoefficients): Float32Array[] {
    const [w, g, a] = arrays(k, n);
    w.set(seeded(n, 1));
    for (let t = 0; t < 3; t++) {
      g.set(seeded(n, 2 + t));
      if (n > 4) g.set([0, NaN, 1e-30, -3e4], 0);
      k.momentumUpdate(w, g, a, c);
    }
    for (const x of [w, g, a]) expect(new Float32Array(x.buffer, x.byteOffset + 4 * n, 1)[0]).toBe(SENTINEL);
    return [w.slice(), a.slice()];
  }

  it.each([false, true])('nesterov %s: js and wasm equal tfjs’ f32 op sequence bit for bit at every length (SIMD tails)', (nesterov) => {
    for (const n of [0, 1, 2, 3, 4, 5, 7, 8, 9, 130, 1001]) {
      const c = { momentum: 0.9, negLearningRate: -0.01, nesterov };
      const [rw, ra] = [seeded(n, 1), new Float32Array(n)];
      for (let t = 0; t < 3; t++) {
        const g = seeded(n, 2 + t);
        if (n > 4) g.set([0, NaN, 1e-30, -3e4], 0);
        reference(rw, g, ra, c);
      }
      for (const k of kernels) {
        const [w, a] = threeSteps(k, n, c);
        expect(Buffer.from(w.buffer).equals(Buffer.from(rw.buffer)), `${k.name} w at n = ${n}`).toBe(true);
        expect(Buffer.from(a.buffer).equals(Buffer.from(ra.buffer)), `${k.name} a at n = ${n}`).toBe(true);
      }
    }
  });

  it.each(kernels.map((k) => [k.name, k] as const))('%s: rejects mismatched lengths, overlaps and bad coefficients, naming the argument', (name, k) => {
    const [w, g, a] = arrays(k, 16);
    const c = { momentum: 0.9, negLearningRate: -0.01, nesterov: false };
    expect(() => k.momentumUpdate(w, g.subarray(1), a, c)).toThrow(/momentumUpdate: 'g' has length 15 but must have the length of 'w', 16/);
    expect(() => k.momentumUpdate(w, g, a.subarray(0, 8), c)).toThrow(/momentumUpdate: 'a' has length 8/);
    expect(() => k.momentumUpdate(w, g, w, c)).toThrow(/momentumUpdate: 'w' overlaps the part of 'a'/);
    expect(() => k.momentumUpdate(w, w, a, c)).toThrow(/momentumUpdate: 'g' overlaps the part of 'w'/);
    expect(() => k.momentumUpdate(w, g, a, { ...c, momentum: NaN })).toThrow(/momentumUpdate: coefficient 'momentum' must be a finite number/);
    expect(() => k.momentumUpdate(w, g, a, { ...c, nesterov: 1 as never })).toThrow(/momentumUpdate: coefficient 'nesterov' must be a boolean/);
    if (name === 'wasm-simd') expect(() => k.momentumUpdate(new Float32Array(16), g, a, c)).toThrow(/momentumUpdate: 'w' is not a view/);
  });
});

describe.each(BACKENDS)('nm.optimizers.sgd on %s', (backend) => {
  beforeAll(async () => useBackend(backend));

  describe.each(VARIANTS.map((s) => [label(s), s] as const))('%s', (_, s) => {
    it.each(kernelsOn(backend))('%s kernels: 12 minimize() steps give tf.train.momentum’s weights (bit for bit on cpu)', (kernels) => {
      const init = randomVariables(1);
      const ref = runSteps(tfMomentum(s), init, 12);
      const opt = new FusedMomentumOptimizer(s.learningRate, s.momentum, s.useNesterov, kernels);
      const got = runSteps(opt, init, 12);
      expect(opt.kernelName).toBe(KERNEL_NAME[kernels]);
      got.forEach((g, i) => {
        const d = diff(g, ref[i]);
        note(`${backend} ${label(s)} ${kernels}`, d);
        if (backend === 'cpu') expect(d.abs).toBe(0);
        expect(d.rel).toBeLessThanOrEqual(1e-6);
      });
      opt.dispose();
      tf.dispose(init);
    });
  });

  it('momentum 0 gives tf.train.sgd’s weights (bit for bit on cpu)', () => {
    const init = randomVariables(2);
    const ref = runSteps(tf.train.sgd(0.05), init, 8);
    const got = runSteps(nm.optimizers.sgd({ learningRate: 0.05 }), init, 8);
    got.forEach((g, i) => {
      const d = diff(g, ref[i]);
      note(`${backend} vs tf.train.sgd`, d);
      if (backend === 'cpu') expect(d.abs).toBe(0);
      expect(d.rel).toBeLessThanOrEqual(1e-6);
    });
    tf.dispose(init);
  });

  it('model.fit of a small dense model: the same weights as with tf.train.momentum', async () => {
    const { ref, fused } = await fitBoth(() => denseModel(7), tfMomentum(), nm.optimizers.sgd(SETTINGS));
    fused.forEach((f, i) => {
      const d = diff(f, ref[i]);
      note(`${backend} dense fit`, d);
      if (backend === 'cpu') expect(d.abs).toBe(0);
      expect(d.rel).toBeLessThanOrEqual(1e-6);
    });
  });

  it('leaks no tensor across steps, and dispose() frees its state', () => {
    expectNoLeaks(nm.optimizers.sgd({ momentum: 0.9 }), 1);
  });

  it('getWeights/setWeights: tfjs’ layout; restored (from itself or from tf.train.momentum) it continues exactly', async () => {
    const init = randomVariables(30);
    const copies = () => init.map((t) => tf.variable(t.clone()));
    const loss = (vs: tf.Variable[]) => () => tf.addN(vs.map((v) => tf.sum(tf.sin(tf.mul(v, 3))))) as tf.Scalar;
    const [a, t] = [nm.optimizers.sgd(SETTINGS), tfMomentum()];
    const [varsA, varsT] = [copies(), copies()];
    for (let i = 0; i < 4; i++) {
      a.minimize(loss(varsA), false, varsA);
      t.minimize(loss(varsT), false, varsT);
    }
    const saved = await a.getWeights();
    expect(saved.map((w) => w.name)).toEqual(['iter', ...varsA.map((v) => `${v.name}/momentum`)]);
    expect(saved[0].tensor.dataSync()[0]).toBe(4);
    const fromTf = await t.getWeights();
    expect(fromTf.map((w) => w.name)).toEqual(['iter', ...varsT.map((v) => `${v.name}/momentum`)]);
    // b continues from a's state, c from tfjs' state, u (tfjs) from a's state.
    const clone = (ws: Array<{ name: string; tensor: tf.Tensor }>) => ws.map((w) => ({ name: w.name, tensor: w.tensor.clone() }));
    const [b, c, u] = [nm.optimizers.sgd(SETTINGS), nm.optimizers.sgd(SETTINGS), tfMomentum()];
    await b.setWeights(clone(saved));
    await c.setWeights(clone(fromTf));
    await u.setWeights(clone(saved));
    expect(c.iterations).toBe(4);
    const fork = () => varsA.map((v) => tf.variable(v.clone()));
    const runs: Array<[tf.Optimizer, tf.Variable[]]> = [
      [a, varsA],
      [b, fork()],
      [c, fork()],
      [t, varsT],
      [u, fork()],
    ];
    for (let i = 0; i < 3; i++) for (const [o, vs] of runs) o.minimize(loss(vs), false, vs);
    runs.slice(1).forEach(([, vs], r) =>
      vs.forEach((v, i) => {
        const d = diff(v.dataSync(), varsA[i].dataSync());
        note(`${backend} restored`, d);
        if (backend === 'cpu') expect(d.abs, `run ${r + 1}, variable ${i}`).toBe(0);
        expect(d.rel).toBeLessThanOrEqual(1e-6);
      }),
    );
    for (const [o] of runs) o.dispose();
    tf.dispose([...init, ...runs.flatMap(([, vs]) => vs)]);
  });

  it('model.save with includeOptimizer restores a FusedMomentum with its state', async () => {
    const model = denseModel(40);
    model.compile({ optimizer: nm.optimizers.sgd(SETTINGS), loss: 'categoricalCrossentropy' });
    const { x, y } = classificationData(16, 41);
    await model.fit(x, y, { epochs: 2, batchSize: 8, shuffle: false, verbose: 0 });
    const loaded = await saveAndLoad(model);
    expect(loaded.optimizer).toBeInstanceOf(FusedMomentumOptimizer);
    expect(loaded.optimizer.getConfig()).toEqual(SETTINGS);
    expect(loaded.optimizer.iterations).toBe(4);
    for (const m of [model, loaded]) await m.fit(x, y, { epochs: 1, batchSize: 8, shuffle: false, verbose: 0 });
    // No state is recomputed on loading (unlike Adam's β powers): the same bits.
    model.getWeights().forEach((w, i) => expect(diff(loaded.getWeights()[i].dataSync(), w.dataSync()).abs).toBe(0));
    model.optimizer.dispose();
    loaded.optimizer.dispose();
    model.dispose();
    loaded.dispose();
    tf.dispose([x, y]);
  });
});

describe('nm.optimizers.sgd on a backend without the fused path', () => {
  beforeAll(useTensorPathBackend);
  afterAll(async () => useBackend('cpu'));

  it('runs tfjs’ op sequence (the same weights) and moves its state between the two paths', async () => {
    const init = randomVariables(50);
    await expectTensorPathLikeTfjs(nm.optimizers.sgd(SETTINGS), runSteps(tfMomentum(), init, 8), init, 1, note);
    tf.dispose(init);
  });
});

describe('nm.optimizers.sgd: config and arguments', () => {
  it('round-trips its config through tfjs serialization; Keras’ defaults', () => {
    const opt = nm.optimizers.sgd(SETTINGS);
    expect(opt.getClassName()).toBe('FusedMomentum');
    expect(opt.getConfig()).toEqual(SETTINGS);
    const entry = tf.serialization.SerializationMap.getMap().classNameMap['FusedMomentum'];
    expect(entry).toBeDefined();
    const copy = entry[1](entry[0], JSON.parse(JSON.stringify(opt.getConfig())) as tf.serialization.ConfigDict);
    expect(copy).toBeInstanceOf(FusedMomentumOptimizer);
    expect((copy as FusedMomentumOptimizer).getConfig()).toEqual(SETTINGS);
    expect(nm.optimizers.sgd().getConfig()).toEqual({ learningRate: 0.01, momentum: 0, useNesterov: false });
    expect(nm.optimizers.sgd()).toBeInstanceOf(tf.Optimizer);
    expect(nm.optimizers.FusedMomentumOptimizer).toBe(FusedMomentumOptimizer);
    // A tf.train.momentum config (the same keys) makes a FusedMomentum.
    expect((entry[1](entry[0], tfMomentum().getConfig()) as FusedMomentumOptimizer).getConfig()).toEqual(SETTINGS);
  });

  it('rejects bad arguments with ConfigErrors naming them', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ learningRate: 0 }, /optimizers\.sgd: 'learningRate' must be a finite number in \(0, inf\); received 0/],
      [{ learningRate: Infinity }, /'learningRate'/],
      [{ momentum: 1 }, /'momentum' must be a finite number in \[0, 1\); received 1/],
      [{ momentum: -0.1 }, /'momentum'/],
      [{ momentum: '0.9' }, /'momentum' .* received "0.9"/],
      [{ useNesterov: 1 }, /'useNesterov' must be a boolean; received 1/],
      [{ nesterov: true }, /unknown option 'nesterov'/],
      [null, /'args' must be an object/],
      [[], /'args' must be an object/],
    ];
    for (const [args, msg] of bad) {
      expect(() => nm.optimizers.sgd(args as nm.optimizers.FusedMomentumArgs)).toThrow(nm.ConfigError);
      expect(() => nm.optimizers.sgd(args as nm.optimizers.FusedMomentumArgs)).toThrow(msg);
    }
    const entry = tf.serialization.SerializationMap.getMap().classNameMap['FusedMomentum'];
    expect(() => entry[1](entry[0], { learningRate: -0.1 })).toThrow(/'learningRate' must be/);
    expect(() => new FusedMomentumOptimizer(0.1, 0.9, false, 'gpu' as never)).toThrow(/'kernels' must be 'auto', 'heap', 'wasm' or 'js'/);
    const opt = nm.optimizers.sgd();
    expect(() => opt.setMomentum(2)).toThrow(/'momentum' must be a finite number in \[0, 1\); received 2/);
    opt.setMomentum(0.5);
    expect(opt.momentum).toBe(0.5);
  });

  it('rejects a variable list that does not match its state, non-float32 variables, and heap kernels off wasm', async () => {
    await useBackend('cpu');
    const opt = nm.optimizers.sgd();
    const a = tf.variable(tf.ones([3])),
      b = tf.variable(tf.ones([4]));
    opt.applyGradients([{ name: a.name, tensor: tf.ones([3]) }]);
    expect(() => opt.applyGradients([{ name: b.name, tensor: tf.ones([4]) }])).toThrow(/variable 0 \('.*'\) has 4 elements but .* has 3/);
    expect(() => opt.applyGradients([{ name: a.name, tensor: tf.ones([5]) }])).toThrow(/'gradient of '.*'' must be a tensor of 3 elements/);
    const i = tf.variable(tf.ones([2], 'int32'));
    expect(() => nm.optimizers.sgd().applyGradients({ [i.name]: tf.ones([2]) })).toThrow(/dtype int32; the fused SGD with momentum updates float32/);
    expect(() => new FusedMomentumOptimizer(0.1, 0, false, 'heap').applyGradients({ [a.name]: tf.ones([3]) })).toThrow(/kernels 'heap' need the wasm backend/);
    opt.dispose();
    tf.dispose([a, b, i]);
  });
});
