/**
 * Soak test (not part of npm test): trains NM(p) on the embedded digits for N epochs,
 * re-partitioning after every batch, and prints tf.memory().numTensors and the JS
 * heap each epoch. Both must stay flat.
 *
 *   npm run soak -- [--epochs 50] [--units 100] [--backend wasm]
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { fileURLToPath } from 'node:url';
import * as nm from 'tfjs-neural-modules';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
};
const epochs = Number(arg('epochs', '50'));
const units = Number(arg('units', '100'));
await tf.setBackend(arg('backend', 'wasm'));
const table = await nm.datasets.loadCsv(fileURLToPath(new URL('../data/digits.csv', import.meta.url)));
const t = nm.datasets.standardize(table, nm.datasets.featureStats(table));
const x = tf.tensor2d(t.x, [t.numSamples, t.numFeatures]);
const y = tf.oneHot(tf.tensor1d(t.y, 'int32'), table.classes.length);
const model = tf.sequential();
model.add(nm.layers.neuralModule({ inputShape: [t.numFeatures], units, density: 0.05 }));
model.add(tf.layers.dense({ units: table.classes.length, activation: 'softmax' }));
model.compile({ optimizer: tf.train.adam(0.005), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });

const rows: Array<{ epoch: number; tensors: number; heapMB: number }> = [];
const scalar = (v: unknown) => (v instanceof tf.Tensor ? v.dataSync()[0] : Number(v));
const mb = () => process.memoryUsage().heapUsed / 2 ** 20;
console.log(`soak: NM(${units}) on digits, ${epochs} epochs, re-partition every batch, backend ${tf.getBackend()}`);
console.log('epoch | numTensors | heap MB | loss | modules | largest');
// One fit() per epoch, so tfjs' History (which holds each epoch's log scalars until
// fit returns) does not blur the count.
for (let epoch = 1; epoch <= epochs; epoch++) {
  const h = await model.fit(x, y, { epochs: 1, batchSize: 64, verbose: 0, callbacks: [nm.callbacks.modulePartition({ every: 'batch' })] });
  if (typeof global.gc === 'function') global.gc();
  const row = { epoch, tensors: tf.memory().numTensors, heapMB: mb() };
  rows.push(row);
  const last = (k: string) => scalar(h.history[k]?.[0]);
  console.log(`${epoch} | ${row.tensors} | ${row.heapMB.toFixed(1)} | ${last('loss').toFixed(4)} | ${last('nm_modules')} | ${last('nm_largest')}`);
}
const tensors = rows.map((r) => r.tensors);
const heaps = rows.slice(Math.floor(rows.length / 5)).map((r) => r.heapMB);
const half = Math.floor(heaps.length / 2);
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / Math.max(1, a.length);
console.log(`\nnumTensors: min ${Math.min(...tensors)}, max ${Math.max(...tensors)} (${Math.max(...tensors) === Math.min(...tensors) ? 'flat' : 'NOT flat'})`);
console.log(`heap MB (after warm-up): first-half mean ${mean(heaps.slice(0, half)).toFixed(1)}, second-half mean ${mean(heaps.slice(half)).toFixed(1)}`);
if (Math.max(...tensors) !== Math.min(...tensors)) process.exitCode = 1;
