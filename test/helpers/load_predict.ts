/**
 * Fresh-process half of test/io_file_system.test.ts: loads a model with
 * nm.io.fileSystem and prints its structure and predictions as one JSON line.
 * Usage: node --import tsx test/helpers/load_predict.ts <dir> '<input rows JSON>'
 */
import * as tf from '@tensorflow/tfjs';
import '../../src/platform/node_host.js'; // the Node services the package's Node entry installs
import { fileSystem } from '../../src/io/index.js';
import { useBackend } from './backends.js';

const [dir, inputJson] = process.argv.slice(2);
await useBackend('cpu');
const model = await tf.loadLayersModel(fileSystem(dir));
const input = tf.tensor2d(JSON.parse(inputJson) as number[][]);
const output = model.predict(input) as tf.Tensor;
const structure = model.layers.map((l) => ({
  className: l.getClassName(),
  name: l.name,
  weights: l.getWeights().map((w) => w.shape),
}));
process.stdout.write(`${JSON.stringify({ structure, predictions: Array.from(output.dataSync()) })}\n`);
