/**
 * A faithful layer (the saved model is the trained model): the kept-edge
 * mask is saved state, a row's answer does not depend on its batch, divergence is
 * never reported as convergence, and warnings are re-armed per fit.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { BACKENDS, useBackend } from './helpers/backends.js';
import { positiveFeedbackLayer, setKernelAndGraph } from './helpers/nm_weights.js';
import * as graph from '../src/graph/index.js';
import { Random } from '../src/utils/random.js';
import { expectClose } from './helpers/close.js';

type NM = nm.layers.NeuralModuleLayer;

function data(n: number, seed: number) {
  const r = new Random(seed);
  const x = Array.from({ length: n }, () => Array.from({ length: 8 }, () => r.normal()));
  const y = x.map((row) => {
    const c = (row[0] + row[1] > 0 ? 1 : 0) + (row[2] - row[3] > 0 ? 2 : 0);
    return [0, 1, 2, 3].map((k) => (k === c ? 1 : 0));
  });
  return { x: tf.tensor2d(x), y: tf.tensor2d(y) };
}

function classifier(args: Partial<nm.layers.NeuralModuleLayerArgs> = {}) {
  const model = tf.sequential();
  model.add(
    nm.layers.neuralModule({ inputShape: [8], units: 20, density: 0.1, graphInitializer: new nm.layers.ContractiveGraph({ density: 0.1, seed: 3 }), ...args }),
  );
  model.add(tf.layers.dense({ units: 4, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }));
  model.compile({ optimizer: tf.train.adam(0.05), loss: 'categoricalCrossentropy' });
  return model;
}

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

const predict = (m: tf.LayersModel, x: tf.Tensor) => Array.from((m.predict(x) as tf.Tensor).dataSync());

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

describe.each(BACKENDS)('divergence is never reported as convergence (%s)', (backend) => {
  beforeAll(async () => useBackend(backend));

  for (const activation of ['relu', 'linear'] as const) {
    it(`tensor-engine Picard on positive feedback (${activation}) throws or says not converged`, () => {
      const layer = positiveFeedbackLayer({
        density: 0.5,
        activation,
        engine: 'tensor',
        onNonConvergence: 'ignore',
        solver: { method: 'picard', maxIter: 50 },
      });
      let threw: unknown = null;
      try {
        layer.apply(tf.ones([1, 2]));
      } catch (e) {
        threw = e;
      }
      if (threw) expect(threw).toBeInstanceOf(nm.NonFiniteError);
      else expect(layer.solverStats().forward.converged).toBe(false);
    });
  }

  it.each(['host', 'tensor'] as const)('Anderson on non-contractive linear graphs (%s engine): "converged" means the true residual is below tol', (engine) => {
    const p = 12;
    let convergedCount = 0;
    for (let trial = 0; trial < 40; trial++) {
      const r = new Random(100 + trial);
      const layer = nm.layers.neuralModule({
        units: p,
        density: 0.4,
        activation: 'linear',
        engine,
        onNonConvergence: 'ignore',
        solver: { method: 'anderson', tol: 1e-4, maxIter: 60 },
      });
      layer.build([null, 3]);
      const w = Float32Array.from({ length: p * p }, () => 0.45 * r.normal());
      setKernelAndGraph(
        layer,
        tf.tensor2d(
          Float32Array.from({ length: 3 * p }, () => r.normal()),
          [3, p],
        ),
        tf.tensor2d(w, [p, p]),
      );
      const u = Array.from({ length: 4 }, () => Array.from({ length: 3 }, () => r.normal()));
      let h: number[][];
      try {
        h = (layer.apply(tf.tensor2d(u)) as tf.Tensor).arraySync() as number[][];
      } catch (e) {
        expect(e).toBeInstanceOf(nm.NonFiniteError);
        continue;
      }
      if (!layer.solverStats().forward.converged) continue;
      convergedCount++;
      // Independent float64 residual of the returned rows: ‖z + h·(M∘W) − h‖ / ‖h‖ per row.
      const [k, g] = layer.getWeights().map((t) => t.dataSync());
      const mask = layer.edges().mask;
      for (let b = 0; b < u.length; b++) {
        let rr = 0;
        let hh = 0;
        for (let j = 0; j < p; j++) {
          let z = g[j * p + j];
          for (let i = 0; i < 3; i++) z += u[b][i] * k[i * p + j];
          for (let i = 0; i < p; i++) if (mask[i * p + j]) z += h[b][i] * g[i * p + j];
          rr += (z - h[b][j]) ** 2;
          hh += h[b][j] ** 2;
        }
        expect(Math.sqrt(rr) / (Math.sqrt(hh) + 1e-8)).toBeLessThan(1e-3);
      }
    }
    expect(convergedCount).toBeGreaterThan(0);
  });

  it('the spectral estimate does not miss a graph whose rows sum to zero; the constraint then applies', () => {
    const p = 6;
    const w = new Float32Array(p * p);
    for (let j = 0; j < p; j++) {
      w[j * p + ((j + 1) % p)] = 1.2;
      w[j * p + ((j + 2) % p)] = -1.2;
    }
    // A circulant: its singular values are 2.4·|sin(πk/6)|, so ‖A‖₂ = 2.4 (a start vector of ones sees 0).
    const free = nm.layers.neuralModule({ units: p, density: 1, graphConstraint: null });
    free.build([null, 2]);
    setKernelAndGraph(free, tf.ones([2, p]), tf.tensor2d(w, [p, p]));
    expect(free.structure().spectralNorm).toBeCloseTo(2.4, 4);
    const layer = nm.layers.neuralModule({ units: p, density: 1, graphConstraint: nm.constraints.contractive({ bound: 0.5 }) });
    layer.build([null, 2]);
    setKernelAndGraph(layer, tf.ones([2, p]), tf.tensor2d(w, [p, p]));
    const s = layer.structure();
    expect(s.spectralNorm).toBeCloseTo(0.5, 2);
    expect(s.contractionRescales).toBeGreaterThan(0);
  });

  it('a re-partition reports the mask and spectral norm of the graph it installs, rescaled or not', () => {
    const p = 12;
    const density = 0.3;
    const r = new Random(5);
    for (const scale of [0.05, 3]) {
      // scale 0.05: within the bound (no projection); 3: projected onto it
      const w = Float32Array.from({ length: p * p }, () => scale * (r.next() - 0.5));
      const layer = nm.layers.neuralModule({ units: p, density, graphConstraint: nm.constraints.contractive({ bound: 0.8 }) });
      layer.build([null, 2]);
      setKernelAndGraph(layer, tf.ones([2, p]), tf.tensor2d(w, [p, p]));
      const s = layer.repartition();
      const installed = layer.graphValues();
      const edges = layer.edges();
      const ref = graph.magnitudeMask(installed, p, density, 'graph');
      expect(Array.from(edges.mask), `scale ${scale}`).toEqual(Array.from(ref.mask));
      expect(s.spectralNorm, `scale ${scale}`).toBe(graph.spectralNormEstimate(installed, ref));
      expect(s.spectralNorm, `scale ${scale}`).toBeLessThanOrEqual(0.8 + 1e-6);
      expect(s.contractionRescales > 0, `scale ${scale}`).toBe(scale === 3);
    }
  });
});

describe('non-convergence warnings', () => {
  beforeAll(async () => useBackend('cpu'));

  it('are shown again at every fit, forward and backward separately, with advice for the method in use', async () => {
    const { x, y } = data(32, 6);
    const model = classifier({ solver: { method: 'anderson', tol: 1e-12, maxIter: 2 } });
    const warns: string[] = [];
    const orig = console.warn;
    console.warn = (m: string) => warns.push(m);
    try {
      for (let i = 0; i < 3; i++) await model.fit(x, y, { epochs: 2, batchSize: 16, verbose: 0 });
      model.predict(x);
      model.predict(x);
    } finally {
      console.warn = orig;
    }
    const fwdFit = warns.filter((w) => /forward solve did not converge/.test(w) && /once per fit call/.test(w));
    const bwdFit = warns.filter((w) => /backward solve did not converge/.test(w) && /once per fit call/.test(w));
    expect(fwdFit).toHaveLength(3);
    expect(bwdFit).toHaveLength(3);
    expect(warns.filter((w) => /\(predict\)/.test(w))).toHaveLength(1);
    expect(warns[0]).toMatch(/Raise maxIter \(2\)/);
    expect(warns[0]).not.toMatch(/Use solver 'anderson'/);
    model.dispose();
  });
});

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
});

describe('the residual of a row whose norms overflow float32 is non-finite, never 0', () => {
  beforeAll(async () => useBackend('cpu'));

  it('tensor and host row residuals: a small step on huge values is NaN; a NaN row is NaN; a normal row is its ratio', async () => {
    const { tensorRowResiduals } = await import('../src/solvers/tensor_state.js');
    const { hostRowResiduals } = await import('../src/solvers/host_types.js');
    const { sparseKernels } = await import('../src/kernels/index.js');
    const { blocked } = await import('../src/kernels/blocked.js');
    // Rows: x ~ 1e20 with a residual of 1 (the old batch rule read 0 here); a NaN; an ordinary row.
    const x = [
      [1e20, -1e20, 1e20],
      [NaN, 1, 1],
      [3, 4, 0],
    ];
    const r = [
      [1, 0, 0],
      [0, 0, 0],
      [0.3, 0.4, 0],
    ];
    const out = new Float64Array(3);
    tensorRowResiduals(tf.tensor2d(r), tf.tensor2d(x), out);
    expect(Number.isNaN(out[0]) && Number.isNaN(out[1])).toBe(true);
    expect(out[2]).toBeCloseTo(0.5 / (5 + 1e-8), 6);
    const k = sparseKernels();
    k.arena.reset(1 << 12);
    const nodeMajor = (rows: number[][]) => {
      const a = k.arena.f32(9);
      for (let b = 0; b < 3; b++) for (let j = 0; j < 3; j++) a[j * 3 + b] = rows[b][j];
      return a;
    };
    const ra = nodeMajor(r);
    const xa = nodeMajor(x);
    const small = [k.arena.f32(3), k.arena.f32(3)];
    const hostOut = new Float64Array(3);
    hostRowResiduals({ kernels: blocked(k, 3, 3), n: 3, batch: 3, arrays: [], small }, ra, xa, hostOut);
    expect(Number.isNaN(hostOut[0]) && Number.isNaN(hostOut[1])).toBe(true);
    expect(hostOut[2]).toBeCloseTo(0.5 / (5 + 1e-8), 6);
  });
});
