/**
 * A script that trains a NeuralModule model with no opt-in at all (no setThreads, no
 * useBest, tf.train.adam) and returns: in Node the layer starts kernel threads by
 * itself, and the process must still exit by itself. Run as
 * `node --import tsx test/helpers/train_by_default.ts [train|start-only]`:
 *
 * - `train`: one epoch (which starts the threads), a wait until they run, a second
 *   epoch on them; prints `trained on <n> threads`.
 * - `start-only`: one forward pass of the layer (which starts the threads), then returns
 *   at once, while the workers are still starting; prints `returned while <state>`.
 * - `never-ready`: starts a background team whose worker never gets ready, then returns
 *   (the start's time limit must not hold the process); prints `returned`.
 */
import * as tf from '@tensorflow/tfjs';
import * as nm from '../../src/node.js';
import { defaultThreadsState, startInBackground } from '../../src/backend/default_threads.js';

const mode = process.argv[2] ?? 'train';
if (mode === 'never-ready') {
  startInBackground(2, 'setInterval(() => {}, 1000);').ready.catch(() => {});
  console.log('returned');
} else {
  await train();
}

async function train(): Promise<void> {
  await tf.setBackend('cpu');
  // 400 nodes and batches of 96 rows: the solves are cut into column blocks on 2 threads.
  const model = tf.sequential();
  model.add(nm.layers.neuralModule({ inputShape: [6], units: 400, density: 0.05 }));
  model.add(tf.layers.dense({ units: 3 }));
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
  const x = tf.randomNormal([192, 6], 0, 1, 'float32', 1);
  const y = tf.randomNormal([192, 3], 0, 1, 'float32', 2);
  if (mode === 'start-only') {
    (model.predict(x.slice(0, 96), { batchSize: 96 }) as tf.Tensor).dispose();
    console.log(`returned while ${defaultThreadsState()}`);
  } else {
    await model.fit(x, y, { epochs: 1, batchSize: 96, verbose: 0 });
    // The start is not awaited by anything: wait for it here (a hang detector bounds the test).
    while (defaultThreadsState() === 'starting') await new Promise((r) => setTimeout(r, 10));
    await model.fit(x, y, { epochs: 1, batchSize: 96, verbose: 0 });
    console.log(`trained on ${nm.backend.threads()} threads (${defaultThreadsState()})`);
  }
}
