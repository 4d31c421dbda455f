/**
 * Writer half of the concurrency tests in test/io_persist.test.ts: saves two
 * models of different sizes into <dir> alternately, <count> times, through
 * nm.io.fileSystem, and prints one JSON line {saved, errors} at the end.
 * A save that fails (e.g. because another writer holds the directory) is
 * counted with its message, not fatal.
 * Usage: node --import tsx test/helpers/save_loop.ts <dir> <count> [<seed>]
 */
import * as tf from '@tensorflow/tfjs';
import '../../src/platform/node_host.js'; // the Node services the package's Node entry installs
import { fileSystem } from '../../src/io/index.js';
import { useBackend } from './backends.js';

const [dir, countText, seedText] = process.argv.slice(2);
const count = Number(countText);
const seed = Number(seedText ?? 0);
await useBackend('cpu');

function model(units: number): tf.LayersModel {
  const m = tf.sequential();
  m.add(tf.layers.dense({ inputShape: [6], units, activation: 'tanh', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + units }) }));
  m.add(tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + units + 1 }) }));
  return m;
}

const models = [model(5), model(40)];
let saved = 0;
const errors: string[] = [];
for (let i = 0; i < count; i++) {
  try {
    await models[i % 2].save(fileSystem(dir));
    saved++;
  } catch (e) {
    errors.push((e as Error).message);
  }
}
process.stdout.write(`${JSON.stringify({ saved, errors })}\n`);
