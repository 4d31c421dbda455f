// TypeScript, strict, skipLibCheck: false, ESM under module/moduleResolution nodenext:
// the package's own declarations must type-check, and the program must run.
import * as tf from '@tensorflow/tfjs';
import * as nm from 'tfjs-neural-modules';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const layer: nm.layers.NeuralModuleLayer = nm.layers.neuralModule({ inputShape: [6], units: 8, density: 0.3, solver: { method: 'anderson', tol: 1e-4 } });
const model = tf.sequential();
model.add(layer);
model.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
model.compile({ optimizer: tf.train.adam(0.05), loss: 'categoricalCrossentropy' });
const x = tf.randomNormal([32, 6], 0, 1, 'float32', 7);
const y = tf.oneHot(
  tf.tensor1d(
    Array.from({ length: 32 }, (_, i) => i % 3),
    'int32',
  ),
  3,
);
const callbacks: tf.CustomCallbackArgs[] = [];
const history = await model.fit(x, y, { epochs: 6, verbose: 0, callbacks: [nm.callbacks.modulePartition(), ...callbacks] });
const loss = history.history.loss as number[];
const s: { modules: number[][]; largestModule: number } = layer.structure();
const handler: tf.io.IOHandler = nm.io.fileSystem('./unused');
const err: typeof nm.ConfigError = nm.ConfigError;
const dir = mkdtempSync(join(tmpdir(), 'nm-consumer-ts-'));
try {
  await model.save(`file://${dir}`);
  const loaded: tf.LayersModel = await tf.loadLayersModel(`file://${dir}/model.json`);
  const a = (model.predict(x) as tf.Tensor).dataSync();
  const b = (loaded.predict(x) as tf.Tensor).dataSync();
  if (a.some((v, i) => v !== b[i])) throw new Error('predictions differ after the file:// round trip');
  console.log(JSON.stringify({ loss: [loss[0], loss[loss.length - 1]], largest: s.largestModule, handler: typeof handler.save, err: err.name }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
