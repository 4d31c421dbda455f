/**
 * The OptNet layer (Amos & Kolter 2017): bad arguments, the config round trip and
 * defaults; training in a model, saving and loading, and tensor hygiene. Solutions and
 * gradients against the reference: test/optnet_reference.test.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { useBackend } from './helpers/backends.js';
import { centeredRng } from './helpers/rng.js';

const report: string[] = [];
afterEach(() => {
  if (report.length) console.log(report.splice(0).join('\n'));
});

describe('OptNet arguments', () => {
  const bad: [object, RegExp][] = [
    [{ units: 0 }, /optNet: 'units' must be an integer in \[1, 1024\]; received 0/],
    [{ units: 2.5 }, /'units' must be an integer in \[1, 1024\]; received 2.5/],
    [{ units: 4, inequalities: -1 }, /'inequalities' must be an integer in \[0, 4096\]; received -1/],
    [{ units: 4, equalities: 5 }, /'equalities' must be an integer in \[0, 4\]; received 5/],
    [{ units: 4, eps: 0 }, /'eps' must be a finite number in \(0, inf\); received 0/],
    [{ units: 4, solver: { tol: 0 } }, /optNet: solver: 'tol' must be a finite number in \(0, 1\); received 0/],
    [{ units: 4, solver: { maxIter: 1.5 } }, /solver: 'maxIter' must be an integer in \[1, 1000\]; received 1.5/],
    [{ units: 4, solver: { method: 'anderson' } }, /solver: unknown option 'method'/],
    [{ units: 4, onNonConvergence: 'loud' }, /'onNonConvergence' must be one of 'warn', 'throw', 'ignore'; received "loud"/],
    [{ units: 4, unit: 3 }, /optNet: unknown option 'unit'/],
    [{ units: 4, kernelInitializer: 'noSuchInit' }, /'kernelInitializer' names an unknown class "noSuchInit"/],
  ];
  for (const [args, re] of bad) {
    it(`rejects ${JSON.stringify(args)}`, () => {
      expect(() => nm.layers.optNet(args as nm.layers.OptNetLayerArgs)).toThrow(nm.ConfigError);
      expect(() => nm.layers.optNet(args as nm.layers.OptNetLayerArgs)).toThrow(re);
    });
  }

  it('round-trips every option through getConfig / fromConfig', () => {
    const layer = nm.layers.optNet({
      units: 5,
      inequalities: 3,
      equalities: 2,
      eps: 0.01,
      solver: { tol: 1e-6, maxIter: 12 },
      onNonConvergence: 'throw',
      kernelInitializer: { className: 'RandomNormal', config: { mean: 0, stddev: 0.2, seed: 3 } },
      inequalityBoundInitializer: { className: 'Constant', config: { value: 2 } },
      kernelRegularizer: { className: 'L1L2', config: { l1: 0.01, l2: 0 } },
      inequalityKernelRegularizer: 'l1l2',
      name: 'opt_cfg',
    });
    const config = layer.getConfig();
    expect(config).toMatchObject({
      units: 5,
      inequalities: 3,
      equalities: 2,
      eps: 0.01,
      solver: { tol: 1e-6, maxIter: 12 },
      onNonConvergence: 'throw',
      name: 'opt_cfg',
    });
    const copy = nm.layers.OptNetLayer.fromConfig(nm.layers.OptNetLayer, JSON.parse(JSON.stringify(config))) as nm.layers.OptNetLayer;
    expect(copy.getClassName()).toBe('OptNet');
    expect(copy.getConfig()).toEqual(config);
  });

  it('fills the defaults', () => {
    const r = nm.layers.optNet({ units: 6 }).resolved;
    expect(r).toMatchObject({ units: 6, inequalities: 6, equalities: 0, eps: 1e-4, solver: { tol: 1e-8, maxIter: 30 }, onNonConvergence: 'warn' });
  });
});

describe('OptNet in models', () => {
  beforeAll(async () => useBackend('cpu'));

  function task() {
    const r = centeredRng(3);
    const x = Array.from({ length: 64 * 4 }, () => 2 * r());
    const y = Array.from({ length: 64 }, (_, i) => (x[i * 4] + x[i * 4 + 1] * x[i * 4 + 2] > 0 ? 1 : 0));
    return { x: tf.tensor2d(x, [64, 4]), y: tf.tidy(() => tf.oneHot(tf.tensor1d(y, 'int32'), 2)) };
  }
  function model(seed: number) {
    const m = tf.sequential();
    m.add(
      nm.layers.optNet({
        inputShape: [4],
        units: 6,
        inequalities: 6,
        equalities: 1,
        kernelInitializer: { className: 'GlorotUniform', config: { seed } },
        inequalityKernelInitializer: { className: 'GlorotUniform', config: { seed: seed + 1 } },
        equalityKernelInitializer: { className: 'GlorotUniform', config: { seed: seed + 2 } },
      }),
    );
    m.add(tf.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 3 }) }));
    m.compile({ optimizer: tf.train.adam(0.05), loss: 'categoricalCrossentropy' });
    return m;
  }

  it('trains with model.fit (the loss falls), round-trips through save/load with identical predictions, and leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    const { x, y } = task();
    const m = model(1);
    const h = await m.fit(x, y, { epochs: 20, batchSize: 32, verbose: 0 });
    const losses = h.history.loss as number[];
    expect(losses[losses.length - 1]).toBeLessThan(0.8 * losses[0]);
    report.push(`[optnet fit] loss ${losses[0].toFixed(4)} → ${losses[losses.length - 1].toFixed(4)} in 20 epochs`);
    // Save / load through JSON text.
    let saved: tf.io.ModelArtifacts | null = null;
    await m.save(
      tf.io.withSaveHandler(async (a) => {
        saved = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const a = saved as unknown as tf.io.ModelArtifacts;
    const loaded = await tf.loadLayersModel(
      tf.io.fromMemory({ modelTopology: JSON.parse(JSON.stringify(a.modelTopology)), weightSpecs: a.weightSpecs, weightData: a.weightData }),
    );
    const layer = loaded.layers[0] as nm.layers.OptNetLayer;
    expect(layer).toBeInstanceOf(nm.layers.OptNetLayer);
    expect(layer.getConfig()).toEqual(m.layers[0].getConfig());
    expect(layer.getWeights().map((w) => w.shape)).toEqual([[4, 6], [6], [6, 6], [6, 6], [6], [1, 6], [1]]);
    const p1 = m.predict(x) as tf.Tensor;
    const p2 = loaded.predict(x) as tf.Tensor;
    expect(Array.from(p2.dataSync())).toEqual(Array.from(p1.dataSync()));
    // fromConfig + setWeights
    const copy = nm.layers.OptNetLayer.fromConfig(nm.layers.OptNetLayer, m.layers[0].getConfig()) as nm.layers.OptNetLayer;
    copy.apply(tf.input({ shape: [4] }));
    copy.setWeights(m.layers[0].getWeights());
    const h1 = m.layers[0].apply(x) as tf.Tensor;
    const h2 = copy.apply(x) as tf.Tensor;
    expect(Array.from(h2.dataSync())).toEqual(Array.from(h1.dataSync()));
    tf.dispose([p1, p2, h1, h2, x, y]);
    copy.dispose();
    loaded.dispose();
    m.optimizer.dispose();
    m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
