/**
 * tfjs-converter interop: a frozen GraphModel feature extractor (as converted from
 * TensorFlow) feeding a trainable Neural Module head, saved and loaded on disk with
 * nm.io.fileSystem.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as nm from '../src/index.js';
import { BACKENDS, useBackend } from './helpers/backends.js';
import { expectClose } from './helpers/close.js';
import { frozenExtractor, writeConverterLayout } from './helpers/frozen_graph.js';

const ROOT = resolve(import.meta.dirname, '..');
const FEATURES = 32;

let root: string;
let digits: { x: Float32Array; y: Int32Array; n: number; d: number; classes: number };

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'nm-converter-'));
  const table = await nm.datasets.loadCsv(join(ROOT, 'data/digits.csv'));
  const [idx] = nm.datasets.stratifiedSplit(table.y, [0.2, 0.8], 3); // ~360 rows
  const part = nm.datasets.subset(table, idx);
  const t = nm.datasets.standardize(part, nm.datasets.featureStats(part));
  digits = { x: t.x, y: t.y, n: t.numSamples, d: t.numFeatures, classes: table.classes.length };
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function head(): tf.Sequential {
  const model = tf.sequential();
  model.add(
    nm.layers.neuralModule({
      inputShape: [FEATURES],
      units: 24,
      density: 0.1,
      activation: 'tanh',
      solver: { method: 'anderson', tol: 1e-4, maxIter: 50 },
    }),
  );
  model.add(tf.layers.dense({ units: digits.classes, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 7 }) }));
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

describe.each(BACKENDS)('GraphModel feature extractor + NM head on %s', (backend) => {
  beforeAll(async () => useBackend(backend));

  it('loads a hand-built GraphDef (Placeholder → MatMul → BiasAdd → Relu) and matches the same math in tf ops', async () => {
    const fx = frozenExtractor(digits.d, FEATURES, 1);
    const graph = await tf.loadGraphModel(tf.io.fromMemory(fx.artifacts));
    expect(graph.inputs.map((i) => i.name)).toEqual([fx.inputName]);
    expect(graph.inputs[0].shape).toEqual([-1, digits.d]);
    expect(graph.outputs.map((o) => o.name)).toEqual([fx.outputName]);

    const x = tf.tensor2d(digits.x.subarray(0, 50 * digits.d), [50, digits.d]);
    const out = graph.predict(x) as tf.Tensor;
    expect(out.shape).toEqual([50, FEATURES]);
    const ref = tf.tidy(() => tf.relu(tf.add(tf.matMul(x, tf.tensor2d(fx.kernel, [digits.d, FEATURES])), tf.tensor1d(fx.bias))));
    const a = out.dataSync();
    const b = ref.dataSync();
    expectClose(a, b, { atol: 1e-5 }, 'GraphModel vs tf ops');
    // ReLU really acts: some features are exactly 0, some positive.
    expect(Array.from(a).some((v) => v === 0)).toBe(true);
    expect(Array.from(a).some((v) => v > 0)).toBe(true);
    tf.dispose([x, out, ref]);
    graph.dispose();
  });

  it('GraphModel features → NM head: trains, saves with nm.io.fileSystem, loads back with identical predictions', async () => {
    // The extractor on disk in tensorflowjs_converter's layout (sharded weights), loaded through nm.io.fileSystem.
    const fx = frozenExtractor(digits.d, FEATURES, 1);
    const graphDir = join(root, `${backend}-graph`);
    const shards = await writeConverterLayout(graphDir, fx.artifacts, 4096);
    expect(shards.length).toBeGreaterThan(1);
    const graph = await tf.loadGraphModel(nm.io.fileSystem(graphDir));

    const x = tf.tensor2d(digits.x, [digits.n, digits.d]);
    const y = tf.oneHot(tf.tensor1d(digits.y, 'int32'), digits.classes);
    const features = graph.predict(x) as tf.Tensor2D; // frozen: computed once, not trained

    const model = head();
    const h = await model.fit(features, y, {
      epochs: 4,
      batchSize: 32,
      shuffle: false,
      verbose: 0,
      // No re-partition callback: the mask dates from build, the weights moved since; the
      // round trip below must still reproduce the predictions exactly (the mask is saved state).
      callbacks: [],
    });
    const loss = h.history.loss as number[];
    expect(loss[loss.length - 1]).toBeLessThan(loss[0]);
    expect(loss[loss.length - 1]).toBeLessThan(0.9 * loss[0]);
    expect((h.history.acc ?? h.history.accuracy) as number[]).toHaveLength(4);

    const headDir = join(root, `${backend}-head`);
    await model.save(nm.io.fileSystem(headDir));
    expect((await readdir(headDir)).sort()).toEqual(['model.json', 'weights.bin']);
    const loaded = await tf.loadLayersModel(nm.io.fileSystem(headDir));
    expect(loaded.layers[0]).toBeInstanceOf(nm.layers.NeuralModuleLayer);

    // The whole pipeline (extractor → head) after the round trip, and the extractor reloaded too.
    const graph2 = await tf.loadGraphModel(nm.io.fileSystem(graphDir));
    const pipeline = (g: tf.GraphModel, m: tf.LayersModel) => tf.tidy(() => m.predict(g.predict(x) as tf.Tensor) as tf.Tensor);
    const p1 = pipeline(graph, model);
    const p2 = pipeline(graph2, loaded);
    expect(Array.from(p2.dataSync())).toEqual(Array.from(p1.dataSync()));
    const s1 = (model.layers[0] as nm.layers.NeuralModuleLayer).structure();
    const s2 = (loaded.layers[0] as nm.layers.NeuralModuleLayer).structure();
    expect(s2.modules).toEqual(s1.modules);

    // The trained head is better than chance on its own training features.
    const [, acc] = model.evaluate(features, y) as tf.Scalar[];
    expect(acc.dataSync()[0]).toBeGreaterThan(0.3);

    tf.dispose([x, y, features, p1, p2]);
    graph.dispose();
    graph2.dispose();
    model.dispose();
    loaded.dispose();
  });
});
