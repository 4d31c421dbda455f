/**
 * The structure callbacks find NeuralModule layers wherever a model keeps them: inside
 * tf.layers.timeDistributed, in nested models, and in wrappers inside nested models;
 * they warn (once per callback) when a model has none; and the error for a sequence
 * input points to tf.layers.timeDistributed.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import * as nm from '../src/index.js';
import { neuralModuleLayers } from '../src/callbacks/find_layers.js';
import { magnitudeMask, maskIndices } from '../src/graph/mask.js';
import { Random } from '../src/utils/random.js';
import { useBackend } from './helpers/backends.js';

const T = 3;
const F = 3;
const EPOCHS = 3;

beforeAll(async () => useBackend('cpu'));
afterEach(() => vi.restoreAllMocks());
afterAll(() => tf.disposeVariables());

const seeded = (seed: number) => tf.initializers.glorotUniform({ seed });

function nmLayer(name: string, units: number, seed: number): nm.layers.NeuralModuleLayer {
  return nm.layers.neuralModule({
    name,
    units,
    density: 0.4,
    inputInitializer: seeded(seed),
    graphInitializer: seeded(seed + 1),
    solver: { method: 'anderson', tol: 1e-4, maxIter: 100 },
  });
}

/** input [T, F] → timeDistributed(NM a) → nested sequential [timeDistributed(NM b)] → flatten → dense. */
function wrappedModel() {
  const a = nmLayer('nm_td', 6, 10);
  const b = nmLayer('nm_nested', 5, 20);
  const inner = tf.sequential({ name: 'inner' });
  inner.add(tf.layers.timeDistributed({ layer: b, inputShape: [T, 6] }));
  const input = tf.input({ shape: [T, F] });
  const h1 = tf.layers.timeDistributed({ layer: a }).apply(input) as tf.SymbolicTensor;
  const h2 = inner.apply(h1) as tf.SymbolicTensor;
  const flat = tf.layers.flatten().apply(h2) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 1, kernelInitializer: seeded(30) }).apply(flat) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  model.compile({ optimizer: tf.train.adam(0.05), loss: 'meanSquaredError' });
  return { model, a, b };
}

function data(n: number, seed: number) {
  const r = new Random(seed);
  const x = tf.tensor3d(
    Float32Array.from({ length: n * T * F }, () => 2 * r.next() - 1),
    [n, T, F],
  );
  const y = tf.tensor2d(
    Float32Array.from({ length: n }, () => 2 * r.next() - 1),
    [n, 1],
  );
  return { x, y };
}

const kept = (l: nm.layers.NeuralModuleLayer) => Array.from(l.getWeights()[2].dataSync());

/** The mask a re-partition chooses from the layer's current graph weights (DESIGN.md §1), as stored in `keptEdges`. */
function maskOfCurrentGraph(l: nm.layers.NeuralModuleLayer): number[] {
  const p = l.options.units;
  const w = l.getWeights()[1].dataSync();
  return Array.from(maskIndices(magnitudeMask(w, p, l.options.density, 'graph'), l.keptEdgeCapacity()));
}

describe('structure callbacks through wrappers and nested models', () => {
  it('finds a NeuralModule in timeDistributed, in a nested model, and in a wrapper inside a nested model', () => {
    const { model, a, b } = wrappedModel();
    expect(neuralModuleLayers(model)).toEqual([a, b]);
    // A layer reached twice (a shared layer) is listed once.
    expect(neuralModuleLayers({ layers: [a, { layer: a }, { layers: [b] }] })).toEqual([a, b]);
    model.dispose();
  });

  it('modulePartition and structureLogger re-partition and record both wrapped layers during fit', async () => {
    const { model, a, b } = wrappedModel();
    const { x, y } = data(24, 1);
    model.predict(x.slice(0, 1));
    const partitions = new Map<string, number>();
    for (const l of [a, b]) l.addPartitionListener(() => partitions.set(l.name, (partitions.get(l.name) ?? 0) + 1));
    const before = [kept(a), kept(b)];
    const logger = nm.callbacks.structureLogger();
    const warn = vi.spyOn(console, 'warn');
    const h = await model.fit(x, y, { epochs: EPOCHS, batchSize: 8, shuffle: false, verbose: 0, callbacks: [nm.callbacks.modulePartition(), logger] });
    expect(warn.mock.calls.filter((c) => /has no NeuralModule layer/.test(String(c[0])))).toEqual([]);

    for (const [i, l] of [a, b].entries()) {
      // Re-partitioned at every epoch end: the stored mask is the one of the trained graph,
      // which training moved away from the mask chosen at build.
      expect(partitions.get(l.name), `${l.name} partitions`).toBe(EPOCHS);
      expect(kept(l), `${l.name} mask`).toEqual(maskOfCurrentGraph(l));
      expect(kept(l), `${l.name} mask changed by training`).not.toEqual(before[i]);
      // History of both callbacks, per layer (suffix _i in finder order), matching the final structure.
      const s = l.structure();
      expect(h.history[`nm_modules_${i}`]).toHaveLength(EPOCHS);
      expect(h.history[`nm_modules_${i}`][EPOCHS - 1]).toBe(s.modules.length);
      expect(h.history[`nm_largest_${i}`][EPOCHS - 1]).toBe(s.largestModule);
      expect(h.history[`nm_edges_${i}`][EPOCHS - 1]).toBe(s.edges);
      expect(h.history[`nm_fwd_iters_${i}`][EPOCHS - 1]).toBeGreaterThan(0);
    }
    expect(logger.records.map((r) => [r.epoch, r.layer])).toEqual(
      Array.from({ length: EPOCHS }, (_, e) => [
        [e + 1, 'nm_td'],
        [e + 1, 'nm_nested'],
      ]).flat(),
    );
    const last = logger.records.slice(-2);
    expect(last.map((r) => r.modules)).toEqual([a.structure().modules.length, b.structure().modules.length]);
    expect(last.map((r) => r.edges)).toEqual([a.structure().edges, b.structure().edges]);
    tf.dispose([x, y]);
    model.dispose();
  });

  it('tf.layers.bidirectional cannot wrap a NeuralModule (it wraps recurrent layers only)', () => {
    expect(() => tf.layers.bidirectional({ layer: nmLayer('nm_bi', 4, 40) as never })).toThrow(/unknown option 'goBackwards'/);
  });
});

describe('structure callbacks on a model without NeuralModule layers', () => {
  it('warn once per callback instance, naming the callback, over several fits', async () => {
    const m = tf.sequential();
    m.add(tf.layers.dense({ inputShape: [2], units: 1 }));
    m.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    const x = tf.ones([4, 2]);
    const y = tf.ones([4, 1]);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const partition = nm.callbacks.modulePartition({ every: 'batch' });
    const logger = nm.callbacks.structureLogger();
    for (let i = 0; i < 2; i++) await m.fit(x, y, { epochs: 2, batchSize: 2, verbose: 0, callbacks: [partition, logger] });
    const messages = warn.mock.calls.map((c) => String(c[0]));
    expect(messages).toHaveLength(2);
    expect(messages[0]).toMatch(
      /^modulePartition: the model has no NeuralModule layer \(looked in nested models and inside wrappers such as tf\.layers\.timeDistributed\)/,
    );
    expect(messages[1]).toMatch(/^structureLogger: the model has no NeuralModule layer/);
    expect(logger.records).toEqual([]);
    // A new instance warns again.
    await m.fit(x, y, { epochs: 1, verbose: 0, callbacks: [nm.callbacks.modulePartition()] });
    expect(warn).toHaveBeenCalledTimes(3);
    tf.dispose([x, y]);
    m.dispose();
  });
});

describe('input of rank 3', () => {
  it('is refused with a pointer to tf.layers.timeDistributed, and that use works', () => {
    const layer = nm.layers.neuralModule({ units: 4 });
    const x = tf.ones([2, T, F]);
    expect(() => layer.apply(x)).toThrow(nm.ConfigError);
    expect(() => layer.apply(x)).toThrow(
      /input must have rank 2.*received shape \[2, 3, 3\]\. For a sequence \[batch, time, features\], apply the layer at every time step: tf\.layers\.timeDistributed\(\{ layer: nm\.layers\.neuralModule\(\{ units: 4, \.\.\. \}\) \}\)\. Do not flatten it/,
    );
    // The advice works: per time step, each step's row equals the layer on that step alone.
    const td = tf.layers.timeDistributed({ layer });
    const out = td.apply(x) as tf.Tensor;
    expect(out.shape).toEqual([2, T, 4]);
    const one = tf.ones([2, F]);
    const step = layer.apply(one) as tf.Tensor;
    const steps = tf.unstack(out, 1);
    for (const s of steps) expect(Array.from(s.dataSync())).toEqual(Array.from(step.dataSync()));
    tf.dispose([x, one, out, step, ...steps]);
    const x4 = tf.ones([2, 2, 2, 2]);
    expect(() => nm.layers.neuralModule({ units: 4 }).apply(x4)).toThrow(/Flatten it first \(tf\.layers\.flatten\)/);
    x4.dispose();
  });
});
