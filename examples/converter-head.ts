/**
 * tfjs-converter interop: a frozen feature extractor loaded as a GraphModel (what
 * `tensorflowjs_converter` makes of a TensorFlow SavedModel) with a trainable Neural
 * Module head on top, saved and reloaded on disk with nm.io.fileSystem.
 *
 *   npm run example:converter-head -- [--epochs 15] [--out out/converter-head]
 *
 * There is no Python TensorFlow here, so step 1 writes a converted model by hand: a
 * JSON GraphDef `x → MatMul(W) → BiasAdd(b) → Relu` with its weights in two shards, in
 * the converter's file layout. With a real converted model, start at step 2.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as nm from '../src/node.js';
import { Random } from '../src/utils/random.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}
const epochs = Number(arg('epochs', '15'));
const outDir = arg('out', 'out/converter-head');
const FEATURES = 32;

await nm.backend.useBest();

// 1. A "converted" frozen feature extractor on disk (model.json + group1-shardKof2.bin).
async function writeFrozenExtractor(dir: string, inputDim: number, outputDim: number, seed: number): Promise<void> {
  const rng = new Random(seed);
  const kernel = Float32Array.from({ length: inputDim * outputDim }, () => rng.normal() * Math.sqrt(2 / inputDim));
  const bias = Float32Array.from({ length: outputDim }, () => 0.1 * rng.normal());
  const FLOAT = { type: 'DT_FLOAT' };
  const dims = (shape: number[]) => ({ dim: shape.map((d) => ({ size: String(d) })) });
  const constNode = (name: string, shape: number[]) => ({
    name,
    op: 'Const',
    attr: { dtype: FLOAT, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims(shape) } } },
  });
  const modelTopology = {
    node: [
      { name: 'x', op: 'Placeholder', attr: { dtype: FLOAT, shape: { shape: dims([-1, inputDim]) } } },
      constNode('dense/kernel', [inputDim, outputDim]),
      constNode('dense/bias', [outputDim]),
      { name: 'dense/MatMul', op: 'MatMul', input: ['x', 'dense/kernel'], attr: { T: FLOAT, transpose_a: { b: false }, transpose_b: { b: false } } },
      { name: 'dense/BiasAdd', op: 'BiasAdd', input: ['dense/MatMul', 'dense/bias'], attr: { T: FLOAT, data_format: { s: btoa('NHWC') } } },
      { name: 'features', op: 'Relu', input: ['dense/BiasAdd'], attr: { T: FLOAT } },
    ],
    library: {},
    versions: { producer: 1482 },
  };
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'group1-shard1of2.bin'), new Uint8Array(kernel.buffer));
  await writeFile(join(dir, 'group1-shard2of2.bin'), new Uint8Array(bias.buffer));
  await writeFile(
    join(dir, 'model.json'),
    JSON.stringify({
      format: 'graph-model',
      generatedBy: '2.15.0',
      convertedBy: 'TensorFlow.js Converter v4.22.0',
      modelTopology,
      weightsManifest: [
        {
          paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'],
          weights: [
            { name: 'dense/kernel', shape: [inputDim, outputDim], dtype: 'float32' },
            { name: 'dense/bias', shape: [outputDim], dtype: 'float32' },
          ],
        },
      ],
    }),
  );
}

const table = await nm.datasets.loadCsv(fileURLToPath(new URL('../data/digits.csv', import.meta.url)));
const extractorDir = join(outDir, 'extractor');
const headDir = join(outDir, 'nm-head');
await rm(outDir, { recursive: true, force: true });
await writeFrozenExtractor(extractorDir, table.numFeatures, FEATURES, 1);

// 2. Load the GraphModel (tf.loadGraphModel accepts any IOHandler; in a browser use its URL).
const extractor = await tf.loadGraphModel(nm.io.fileSystem(extractorDir));
console.log(`extractor: ${extractor.inputs[0].name} ${JSON.stringify(extractor.inputs[0].shape)} → ${extractor.outputs[0].name}`);

// 3. Frozen features for the digits, computed once.
const [trainIdx, testIdx] = nm.datasets.stratifiedSplit(table.y, [0.8, 0.2], 1);
const stats = nm.datasets.featureStats(nm.datasets.subset(table, trainIdx));
const prep = (idx: number[]) => {
  const t = nm.datasets.standardize(nm.datasets.subset(table, idx), stats);
  const x = tf.tensor2d(t.x, [t.numSamples, t.numFeatures]);
  return { x, features: extractor.predict(x) as tf.Tensor2D, y: tf.oneHot(tf.tensor1d(t.y, 'int32'), table.classes.length) };
};
const train = prep(trainIdx);
const test = prep(testIdx);

// 4. A Neural Module head on the features: an ordinary tf.sequential.
const head = tf.sequential();
head.add(
  nm.layers.neuralModule({ inputShape: [FEATURES], units: 40, density: 0.1, activation: 'tanh', solver: { method: 'anderson', tol: 1e-4, maxIter: 50 } }),
);
head.add(tf.layers.dense({ units: table.classes.length, activation: 'softmax' }));
head.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
const t0 = performance.now();
const history = await head.fit(train.features, train.y, {
  epochs,
  batchSize: 32,
  shuffle: true,
  verbose: 0,
  callbacks: [nm.callbacks.modulePartition({ every: 'epoch' }), nm.callbacks.progress({ label: 'NM head' })],
});
const loss = history.history.loss as number[];
const [, acc] = head.evaluate(test.features, test.y) as tf.Scalar[];
console.log(
  `trained ${epochs} epochs in ${((performance.now() - t0) / 1000).toFixed(1)} s: loss ${loss[0].toFixed(3)} → ${loss[loss.length - 1].toFixed(3)}, ` +
    `test accuracy ${acc.dataSync()[0].toFixed(4)} (${testIdx.length} held-out digits)`,
);
const s = (head.layers[0] as nm.layers.NeuralModuleLayer).structure();
console.log(`NM head: ${s.modules.length} modules, largest ${s.largestModule}, ${s.edges} kept edges`);

// 5. Save the head, reload both parts, and check the pipeline predicts the same.
await head.save(nm.io.fileSystem(headDir));
const extractor2 = await tf.loadGraphModel(nm.io.fileSystem(extractorDir));
const head2 = await tf.loadLayersModel(nm.io.fileSystem(headDir));
const pipeline = (g: tf.GraphModel, m: tf.LayersModel) => tf.tidy(() => m.predict(g.predict(test.x) as tf.Tensor) as tf.Tensor);
const a = pipeline(extractor, head).dataSync();
const b = pipeline(extractor2, head2).dataSync();
let maxDiff = 0;
for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
console.log(`saved to ${headDir}; reloaded pipeline max |Δ prediction| = ${maxDiff}`);
if (maxDiff !== 0) {
  console.error('reloaded predictions differ');
  process.exitCode = 1;
}
