/**
 * A faithful layer (the saved model is the trained model): the kept-edge
 * mask is saved state, a row's answer does not depend on its batch, the graph
 * constraint round-trips and applies, and the mask keeps exactly K edges. What the
 * solves report (divergence, warnings, residuals): test/faithful_convergence.test.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { BACKENDS, useBackend } from './helpers/backends.js';
import * as graph from '../src/graph/index.js';
import { Random } from '../src/utils/random.js';
import { expectClose } from './helpers/close.js';
import { classifier, data, predict } from './helpers/small_classifier.js';

type NM = nm.layers.NeuralModuleLayer;

async function toMemory(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return saved!;
}

describe.each(BACKENDS)('the kept-edge mask is saved state (%s)', (backend) => {
  beforeAll(async () => useBackend(backend));
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  for (const callbacks of ['none', 'modulePartition every 3'] as const) {
    it(`after training (${callbacks}): save→load, setWeights(getWeights()), fromConfig+setWeights reproduce predictions bit for bit`, async () => {
      const { x, y } = data(200, 1);
      const model = classifier();
      // 13 batches an epoch: with every 3, the last re-partition is 2 optimizer steps before the end.
      const cbs = callbacks === 'none' ? [] : [nm.callbacks.modulePartition({ every: 3 })];
      await model.fit(x, y, { epochs: 5, batchSize: 16, verbose: 0, callbacks: cbs });
      const layer = model.layers[0] as NM;
      expect(layer.getWeights().map((w) => w.dtype)).toEqual(['float32', 'float32', 'int32']);
      const before = predict(model, x);
      // The optimizer moved the weights after the last re-partition: re-deriving the mask would change it.
      const rederived = graph.magnitudeMask(layer.graphValues(), 20, 0.1, 'graph');
      if (callbacks === 'none') expect(Array.from(rederived.mask)).not.toEqual(Array.from(layer.edges().mask));

      const fromMemory = await tf.loadLayersModel(tf.io.fromMemory(await toMemory(model)));
      expect(predict(fromMemory, x)).toEqual(before);
      const dir = mkdtempSync(join(tmpdir(), 'nm-faithful-'));
      dirs.push(dir);
      await model.save(nm.io.fileSystem(dir));
      const fromDisk = await tf.loadLayersModel(nm.io.fileSystem(dir));
      expect(predict(fromDisk, x)).toEqual(before);
      expect((fromDisk.layers[0] as NM).structure().modules).toEqual(layer.structure().modules);

      model.setWeights(model.getWeights());
      expect(predict(model, x)).toEqual(before);

      const copy = (await tf.models.modelFromJSON({ modelTopology: model.toJSON(null, false) as tf.io.ModelJSON['modelTopology'] })) as tf.LayersModel;
      copy.setWeights(model.getWeights());
      expect(predict(copy, x)).toEqual(before);
      for (const m of [fromMemory, fromDisk, copy]) m.dispose();
      model.dispose();
    });
  }

  it('repartition() is the one way the mask changes, and it is stored', () => {
    const model = classifier();
    const layer = model.layers[0] as NM;
    const before = Array.from(layer.edges().mask);
    const w = layer.graphValues().map((v, i) => (i % 21 === 0 ? v : 0.5 * Math.sin(7 * i)));
    layer.setWeights([layer.getWeights()[0], tf.tensor2d(w, [20, 20]), layer.getWeights()[2]]);
    expect(Array.from(layer.edges().mask)).toEqual(before);
    layer.repartition();
    const mask = graph.magnitudeMask(w, 20, 0.1, 'graph');
    expect(Array.from(layer.edges().mask)).toEqual(Array.from(mask.mask));
    expect(Array.from(layer.edges().mask)).not.toEqual(before);
    const stored = Array.from(layer.getWeights()[2].dataSync()).filter((i) => i >= 0);
    expect(stored).toEqual(Array.from(mask.mask.keys()).filter((i) => mask.mask[i]));
    model.dispose();
  });

  it('loads a model saved without the mask (version 0.1): re-derives it, says so once, and stores it from then on', async () => {
    const { x, y } = data(48, 2);
    const model = classifier();
    await model.fit(x, y, { epochs: 2, batchSize: 16, verbose: 0 });
    const art = await toMemory(model);
    // Rewrite the artifacts as 0.1 wrote them: no keptEdges weight, no stateVersion.
    const specs = art.weightSpecs!;
    const at = specs.findIndex((s) => s.name.endsWith('keptEdges'));
    const offset = specs.slice(0, at).reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1) * 4, 0);
    const size = specs[at].shape.reduce((a, b) => a * b, 1) * 4;
    const bytes = new Uint8Array(art.weightData as ArrayBuffer);
    const legacyData = new Uint8Array(bytes.length - size);
    legacyData.set(bytes.subarray(0, offset));
    legacyData.set(bytes.subarray(offset + size), offset);
    const topology = JSON.parse(JSON.stringify(art.modelTopology)) as { config: { layers: Array<{ class_name: string; config: Record<string, unknown> }> } };
    const nmConfig = topology.config.layers.find((l) => l.class_name === 'NeuralModule')!.config;
    expect(nmConfig.state_version).toBe(2);
    delete nmConfig.state_version;
    delete nmConfig.graph_constraint;
    nmConfig.contraction_bound = null;
    const legacy = { ...art, modelTopology: topology, weightSpecs: specs.filter((_, i) => i !== at), weightData: legacyData.buffer };
    const warns: string[] = [];
    const orig = console.warn;
    console.warn = (m: string) => warns.push(m);
    try {
      const loaded = await tf.loadLayersModel(tf.io.fromMemory(legacy));
      const layer = loaded.layers[0] as NM;
      expect(layer.getWeights()).toHaveLength(2);
      const out = predict(loaded, x);
      predict(loaded, x);
      expect(warns.filter((w) => /saved without its kept-edge mask/.test(w))).toHaveLength(1);
      // Re-derived from the loaded graph, now stored: a save from here is faithful.
      expect(layer.getWeights()).toHaveLength(3);
      expect(layer.getConfig().stateVersion).toBe(2);
      const again = await tf.loadLayersModel(tf.io.fromMemory(await toMemory(loaded)));
      expect(predict(again, x)).toEqual(out);
    } finally {
      console.warn = orig;
    }
  });

  it('a saved mask that does not fit the layer is refused with a clear error', () => {
    const model = classifier();
    const layer = model.layers[0] as NM;
    const k = layer.getWeights()[2].size;
    const bad = Int32Array.from({ length: k }, (_, i) => (i === 0 ? 5 * 21 : i + 1)); // a diagonal entry (5→5)
    layer.setWeights([layer.getWeights()[0], layer.getWeights()[1], tf.tensor1d(bad, 'int32')]);
    expect(() => layer.apply(tf.ones([1, 8]))).toThrow(
      /saved kept-edge mask \(weight 'keptEdges'\) is not valid for 20 units.*not a off-diagonal edge|the edge 5→5/,
    );
    model.dispose();
  });
});

describe.each(BACKENDS.flatMap((b) => (['host', 'tensor'] as const).map((e) => [b, e] as const)))(
  'a row does not depend on its batch (%s, %s engine)',
  (backend, engine) => {
    beforeAll(async () => useBackend(backend));

    it('a row batched with rows scaled by 1e3 and 1e6 gets the answer it gets alone, within tol', () => {
      const layer = nm.layers.neuralModule({
        units: 24,
        density: 0.15,
        engine,
        activation: 'tanh',
        solver: { method: 'anderson', tol: 1e-5, maxIter: 200 },
        graphInitializer: new nm.layers.ContractiveGraph({ gain: 0.95, density: 0.15, seed: 11 }),
      });
      layer.build([null, 6]);
      const r = new Random(5);
      const row = Array.from({ length: 6 }, () => 0.3 * r.normal());
      const alone = (layer.apply(tf.tensor2d([row])) as tf.Tensor).arraySync() as number[][];
      for (const scale of [1e3, 1e6]) {
        const big = row.map((v, i) => scale * (i % 2 ? v : -v));
        const batched = (layer.apply(tf.tensor2d([big, row])) as tf.Tensor).arraySync() as number[][];
        expect(layer.solverStats().forward.converged).toBe(true);
        expectClose(batched[1], alone[0], { atol: 5e-5 }, `row batched with a row scaled by ${scale}`);
      }
    });

    it('model.predict with batchSize 1 and 256 agree within tol', () => {
      const model = classifier({ engine, solver: { method: 'anderson', tol: 1e-5, maxIter: 200 } });
      const x = tf.concat([data(40, 3).x, tf.mul(data(8, 4).x, 1e3)]);
      expectClose(predict(model, x), (model.predict(x, { batchSize: 1 }) as tf.Tensor).dataSync(), { atol: 5e-5 }, 'batchSize 256 vs 1');
      model.dispose();
    });
  },
);

describe('graphConstraint', () => {
  beforeAll(async () => useBackend('cpu'));

  it('round-trips through getConfig, and the deprecated contractionBound maps to it', () => {
    const layer = nm.layers.neuralModule({ units: 5, graphConstraint: nm.constraints.contractive({ bound: 0.7 }) });
    const copy = nm.layers.NeuralModuleLayer.fromConfig(nm.layers.NeuralModuleLayer, layer.getConfig()) as NM;
    expect((copy.options.graphConstraint as nm.constraints.ContractiveConstraint).bound).toBe(0.7);
    const old = nm.layers.neuralModule({ units: 5, contractionBound: 0.8 });
    expect(old.options.graphConstraint).toBeInstanceOf(nm.constraints.ContractiveConstraint);
    expect(old.getConfig().contractionBound).toBeUndefined();
    expect(() => nm.layers.neuralModule({ units: 5, contractionBound: 0.8, graphConstraint: 'nonNeg' })).toThrow(
      /'contractionBound' must be null when graphConstraint is set/,
    );
    expect(() => nm.constraints.contractive({ bound: 0 })).toThrow(/contractive: 'bound' must be a finite number in \(0, inf\); received 0/);
  });

  it('a tfjs constraint (nonNeg) is applied to the graph at each re-partition', () => {
    const layer = nm.layers.neuralModule({ units: 6, density: 0.5, graphConstraint: 'nonNeg' });
    layer.build([null, 2]);
    expect(Math.min(...layer.graphValues())).toBeGreaterThanOrEqual(0);
  });
});

describe('the magnitude mask keeps exactly K edges', () => {
  it('ties at γ are kept in row-major order until K, as the reference does', async () => {
    const { refMask } = await import('./helpers/reference.js');
    const p = 6;
    const w = Float32Array.from({ length: p * p }, (_, i) => (i % (p + 1) === 0 ? 0 : i % 3 === 0 ? 0.5 : 0.25));
    for (const density of [0.1, 0.3, 0.5, 0.9]) {
      const mask = graph.magnitudeMask(w, p, density, 'graph');
      expect(mask.edges).toBe(graph.keptEdgeCount(p, density, 'graph'));
      expect(Array.from(mask.mask)).toEqual(Array.from(refMask(w, p, density, 'graph')));
    }
  });

  it("a float32 graph's mask (radix select) equals the general path's and the sorted reference, ties, zeros and subnormals included", async () => {
    const { refMask } = await import('./helpers/reference.js');
    const rng = new Random(11);
    // Values drawn from few levels (ties), with exact zeros, −0, subnormals and the largest float32.
    const levels = [0, -0, 1e-45, -3e-42, 0.25, -0.25, 0.5, 1e-3, -1e-3, 3.4e38, 7, -7];
    let checked = 0;
    for (const p of [2, 7, 40]) {
      for (const topology of ['graph', 'dag'] as const) {
        for (const density of [0.01, 0.1, 0.5, 1]) {
          for (const kind of ['levels', 'uniform', 'sparse']) {
            const w = Float32Array.from({ length: p * p }, () =>
              kind === 'levels' ? levels[Math.floor(rng.next() * levels.length)] : kind === 'sparse' && rng.next() < 0.9 ? 0 : rng.normal(),
            );
            const fast = graph.magnitudeMask(w, p, density, topology);
            const general = graph.magnitudeMask(Array.from(w), p, density, topology);
            expect(fast).toEqual(general);
            expect(Object.is(fast.gamma, general.gamma)).toBe(true);
            expect(Array.from(fast.mask)).toEqual(Array.from(refMask(w, p, density, topology)));
            checked++;
          }
        }
      }
    }
    expect(checked).toBe(72);
  });

  it('a float32 graph holding NaN takes the general path', () => {
    const w = Float32Array.from([0, 0.5, NaN, 0.25, 0, 0.75, 0.1, NaN, 0]);
    expect(graph.magnitudeMask(w, 3, 0.5, 'graph')).toEqual(graph.magnitudeMask(Array.from(w), 3, 0.5, 'graph'));
  });
});
