// Node, ESM: train a NeuralModule layer large enough for kernel threads with no opt-in at
// all (no setThreads, no useBest, tf.train.adam): the package starts the threads by itself,
// and the process must still exit by itself.
import * as tf from '@tensorflow/tfjs';
import * as nm from 'tfjs-neural-modules';

const model = tf.sequential();
// 400 nodes, batches of 96 rows: the solves are cut into column blocks on 2 threads.
model.add(nm.layers.neuralModule({ inputShape: [6], units: 400, density: 0.05 }));
model.add(tf.layers.dense({ units: 3 }));
model.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
const x = tf.randomNormal([192, 6], 0, 1, 'float32', 1);
const y = tf.randomNormal([192, 3], 0, 1, 'float32', 2);
const loss = [];
// Until the threads run (they start in the background), at most 200 epochs.
for (let epoch = 0; epoch < 200 && (epoch < 2 || nm.backend.threads() === 1); epoch++) {
  const h = await model.fit(x, y, { epochs: 1, batchSize: 96, verbose: 0 });
  loss.push(h.history.loss[0]);
}
console.log(JSON.stringify({ backend: tf.getBackend(), threads: nm.backend.threads(), epochs: loss.length, loss: [loss[0], loss.at(-1)] }));
