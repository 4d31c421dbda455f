/**
 * Crash half of the stale-lock test in test/io_lock_temps.test.ts: saves a small model
 * into <dir> through nm.io.fileSystem and kills this process (SIGKILL) while it creates
 * the save lock: `before-link` just before the lock's temporary file
 * (`model.json.lock.new-…`) is hard-linked as `model.json.lock`, `after-link` just
 * after (then the lock and the temporary both exist).
 * Usage: node --import tsx test/helpers/crash_lock.ts <dir> <before-link|after-link>
 */
import * as tf from '@tensorflow/tfjs';
import { basename } from 'node:path';
import '../../src/platform/node_host.js'; // the Node services the package's Node entry installs
import { maybeNodeHost } from '../../src/platform/host.js';
import { fileSystem } from '../../src/io/index.js';
import { useBackend } from './backends.js';

const [dir, when] = process.argv.slice(2);
if (when !== 'before-link' && when !== 'after-link') throw new Error(`crash_lock: unknown kill point ${when}`);
await useBackend('cpu');
const fsp = maybeNodeHost()!.fsp;
const link = fsp.link;
fsp.link = async (existing, newPath) => {
  if (basename(newPath) === 'model.json.lock') {
    if (when === 'after-link') await link(existing, newPath);
    process.kill(process.pid, 'SIGKILL');
  }
  await link(existing, newPath);
};
const model = tf.sequential();
model.add(tf.layers.dense({ inputShape: [6], units: 3 }));
await model.save(fileSystem(dir));
process.stdout.write('save finished: the hook did not fire\n');
