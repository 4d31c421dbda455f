/**
 * Crash half of the interrupted-save test in test/io_file_system.test.ts: loads
 * the model in <dir>, doubles its weights, and saves it back through an fs hook
 * that kills this process (SIGKILL) just before model.json is renamed into place,
 * i.e. after weights.bin has already been replaced.
 * Usage: node --import tsx test/helpers/crash_save.ts <dir>
 */
import * as tf from '@tensorflow/tfjs';
import { rename } from 'node:fs/promises';
import { basename } from 'node:path';
import '../../src/platform/node_host.js'; // the Node services the package's Node entry installs
import { fileSystem } from '../../src/io/index.js';
import { useBackend } from './backends.js';

const [dir] = process.argv.slice(2);
await useBackend('cpu');
const model = await tf.loadLayersModel(fileSystem(dir));
model.setWeights(model.getWeights().map((w) => w.mul(2)));
await model.save(
  fileSystem(dir, {
    fs: {
      async rename(from, to) {
        if (basename(to) === 'model.json') process.kill(process.pid, 'SIGKILL');
        await rename(from, to);
      },
    },
  }),
);
process.stdout.write('save finished: the hook did not fire\n');
