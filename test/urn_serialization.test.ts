/**
 * URN and synaptic-length serialization (getConfig → fromConfig, model.save →
 * tf.loadLayersModel with identical predictions and loss terms) and tensor hygiene
 * across training epochs and analysis.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { useBackend } from './helpers/backends.js';
import { expectClose } from './helpers/close.js';

async function roundTrip(model: tf.LayersModel): Promise<tf.LayersModel> {
  let saved: tf.io.ModelArtifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const a = saved as unknown as tf.io.ModelArtifacts;
  // Through JSON text, as a model.json file would be.
  const topology = JSON.parse(JSON.stringify(a.modelTopology));
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: topology, weightSpecs: a.weightSpecs, weightData: a.weightData }));
}

const GEOMETRY = { inputGrid: [2, 2] as [number, number], lattice: [2, 2, 1] as [number, number, number], outputs: 2 };

describe.each(['cpu', 'wasm'])('URN serialization and memory on %s', (backend) => {
  beforeAll(async () => useBackend(backend));

  it('round-trips the layer config through fromConfig', () => {
    const layer = nm.layers.urn({
      neurons: 10,
      iterations: 3,
      outputUnits: 2,
      activation: 'tanh',
      residual: 'input',
      weightL1: 1e-3,
      activityL1: 2e-2,
      synapticLength: { rate: 1e-2, geometry: GEOMETRY, beta: 3, power: 2 },
      kernelInitializer: { className: 'RandomNormal', config: { mean: 0, stddev: 0.3, seed: 1 } },
      name: 'urn_cfg',
    });
    const config = layer.getConfig();
    expect(config).toMatchObject({
      neurons: 10,
      iterations: 3,
      outputUnits: 2,
      activation: 'tanh',
      residual: 'input',
      weightL1: 1e-3,
      activityL1: 2e-2,
      name: 'urn_cfg',
    });
    expect(config.synapticLength).toEqual({ className: 'SynapticLength', config: { rate: 1e-2, beta: 3, power: 2, pairs: 'all', geometry: GEOMETRY } });
    const copy = nm.layers.URNLayer.fromConfig(nm.layers.URNLayer, config) as nm.layers.URNLayer;
    expect(copy).toBeInstanceOf(nm.layers.URNLayer);
    expect(copy.getConfig()).toEqual(config);
    expect(copy.getClassName()).toBe('URN');
    expect(copy.resolved.synapticLength!.positions()).toEqual(layer.resolved.synapticLength!.positions());

    const reg = nm.regularizers.synapticLength({
      rate: 0.5,
      positions: [
        [0, 0, 1],
        [1, 2, 3],
      ],
      pairs: 'upper',
    });
    const regCopy = nm.regularizers.SynapticLengthRegularizer.fromConfig(nm.regularizers.SynapticLengthRegularizer, reg.getConfig());
    expect(regCopy.getConfig()).toEqual({
      rate: 0.5,
      beta: 1,
      power: 1,
      pairs: 'upper',
      positions: [
        [0, 0, 1],
        [1, 2, 3],
      ],
    });
  });

  it('saves and loads a model with identical predictions and loss terms', async () => {
    const urn = nm.layers.urn({
      inputShape: [4],
      neurons: 10,
      iterations: 3,
      outputUnits: 2,
      activation: 'tanh',
      residual: 'output',
      weightL1: 1e-3,
      activityL1: 2e-2,
      synapticLength: nm.regularizers.synapticLength({ rate: 1e-2, geometry: GEOMETRY, beta: 3 }),
      biasInitializer: { className: 'RandomUniform', config: { minval: -0.1, maxval: 0.1, seed: 2 } },
    });
    const model = tf.sequential({ layers: [urn, tf.layers.activation({ activation: 'softmax' })] });
    const loaded = await roundTrip(model);
    const x = tf.randomNormal([6, 4], 0, 1, 'float32', 9);
    const p0 = (model.predict(x) as tf.Tensor).dataSync();
    const p1 = (loaded.predict(x) as tf.Tensor).dataSync();
    expect(Array.from(p1)).toEqual(Array.from(p0));
    const copy = loaded.layers[0] as nm.layers.URNLayer;
    expect(copy).toBeInstanceOf(nm.layers.URNLayer);
    // tfjs itself turns an initializer's `seed: undefined` into null on the way through JSON.
    const json = (v: unknown) => JSON.parse(JSON.stringify(v, (_k, val) => (val === null ? undefined : val)));
    expect(json(copy.getConfig())).toEqual(json({ ...urn.getConfig(), name: copy.name }));
    expect(copy.losses.length).toBe(3); // weight L1, synaptic length, activity
    const lossesOf = (layer: nm.layers.URNLayer) =>
      tf.tidy(() => {
        layer.apply(x, { training: true });
        return layer.calculateLosses().map((l) => l.dataSync()[0]);
      });
    const l0 = lossesOf(urn);
    const l1 = lossesOf(copy);
    expect(l1).toHaveLength(l0.length);
    expectClose(l1, l0, { atol: 5e-7 }, 'losses after the round trip');
    expect(l0.every((v) => v > 0)).toBe(true);
    x.dispose();
    model.dispose();
    loaded.dispose();
  });

  it('works as the kernelRegularizer of a Dense layer and survives save/load', async () => {
    const positions = [
      [0, 0, 1],
      [1, 0, 1],
      [0, 1, 2],
      [1, 1, 2],
    ];
    const model = tf.sequential({
      layers: [tf.layers.dense({ inputShape: [4], units: 4, kernelRegularizer: nm.regularizers.synapticLength({ rate: 0.1, positions, power: 2 }) })],
    });
    const loaded = await roundTrip(model);
    const reg = (loaded.layers[0] as unknown as { kernelRegularizer: unknown }).kernelRegularizer;
    expect(reg).toBeInstanceOf(nm.regularizers.SynapticLengthRegularizer);
    expect((reg as nm.regularizers.SynapticLengthRegularizer).getConfig()).toEqual({ rate: 0.1, beta: 1, power: 2, pairs: 'all', positions });
    const v0 = tf.tidy(() => model.layers[0].calculateLosses()[0].dataSync()[0]);
    const v1 = tf.tidy(() => loaded.layers[0].calculateLosses()[0].dataSync()[0]);
    expect(v1).toBeCloseTo(v0, 5);
    expect(v0).toBeGreaterThan(0);
    model.dispose();
    loaded.dispose();
  });

  it('leaks no tensors across a training epoch, analysis and rendering', async () => {
    const urn = nm.layers.urn({
      inputShape: [4],
      neurons: 10,
      outputUnits: 2,
      residual: 'output',
      weightL1: 1e-3,
      activityL1: 1e-2,
      synapticLength: { rate: 1e-3, geometry: GEOMETRY },
    });
    const model = tf.sequential({ layers: [urn, tf.layers.activation({ activation: 'softmax' })] });
    model.compile({ optimizer: tf.train.adam(1e-2), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const x = tf.randomNormal([40, 4], 0, 1, 'float32', 3);
    const y = tf.oneHot(
      tf.tensor1d(
        Array.from({ length: 40 }, (_, i) => i % 2),
        'int32',
      ),
      2,
    );
    await model.fit(x, y, { epochs: 1, batchSize: 8, verbose: 0 }); // warm-up: optimizer slots, cached length matrix
    const before = tf.memory().numTensors;
    const history = await model.fit(x, y, { epochs: 2, batchSize: 8, verbose: 0 });
    expect(tf.memory().numTensors).toBe(before);
    expect(Number.isFinite(history.history.loss[1] as number)).toBe(true);
    const s = nm.analysis.emergentStructure(urn, x as tf.Tensor2D);
    nm.analysis.renderUrnWeights(urn, s);
    nm.analysis.renderConnectome(urn, s);
    urn.activityPenalty(x as tf.Tensor2D);
    tf.dispose(urn.states(x as tf.Tensor2D));
    tf.tidy(() => {
      urn.apply(x, { training: true });
      urn.apply(x, { training: true }); // a stale parked value is discarded, not leaked
    });
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
    model.dispose();
  });
});
