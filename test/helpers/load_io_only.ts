/**
 * Loads a model with only the package's io module imported (no layer
 * registrations), as an app does that imported nothing else from the package, and
 * prints one JSON line {ok} or {error: {name, message}}.
 * Usage: node --import tsx test/helpers/load_io_only.ts <fs|router> <dir>
 */
import * as tf from '@tensorflow/tfjs';
import '../../src/platform/node_host.js'; // the Node services the package's Node entry installs
import { fileSystem, registerFileRouter } from '../../src/io/index.js';
import { useBackend } from './backends.js';

const [mode, dir] = process.argv.slice(2);
await useBackend('cpu');
registerFileRouter();
try {
  await tf.loadLayersModel(mode === 'router' ? `file://${dir}/model.json` : fileSystem(dir));
  process.stdout.write(`${JSON.stringify({ ok: true })}\n`);
} catch (e) {
  process.stdout.write(`${JSON.stringify({ error: { name: (e as Error).name, message: (e as Error).message } })}\n`);
}
