/**
 * A script that trains a tiny NeuralModule model for two epochs on 2 kernel threads
 * and does nothing else: no setThreads(1), no process.exit. Node must then exit by
 * itself (the kernel workers never keep the process alive). Run as
 * `node --import tsx test/helpers/train_with_threads.ts [entry]`, where `entry` is the
 * module to load as the package (default: the sources' Node entry); prints 'trained'.
 */
import * as tf from '@tensorflow/tfjs';

type Nm = typeof import('../../src/node.js');
const entry = process.argv[2] ?? new URL('../../src/node.js', import.meta.url).href;
const nm = (await import(entry)) as Nm;

await tf.setBackend('cpu');
if ((await nm.backend.setThreads(2)) !== 2) throw new Error('setThreads(2) did not start 2 threads');
const model = tf.sequential();
model.add(nm.layers.neuralModule({ inputShape: [4], units: 16, density: 0.3 }));
model.add(tf.layers.dense({ units: 2 }));
model.compile({ optimizer: nm.optimizers.adam({ learningRate: 0.01 }), loss: 'meanSquaredError' });
const x = tf.randomNormal([32, 4], 0, 1, 'float32', 1);
const y = tf.randomNormal([32, 2], 0, 1, 'float32', 2);
await model.fit(x, y, { epochs: 2, batchSize: 16, verbose: 0 });
console.log(`trained on ${nm.backend.threads()} threads`);
