// Node, ESM: train on 2 kernel threads and do nothing else (no setThreads(1), no
// process.exit): the process must exit by itself, the workers never keep it alive.
import * as tf from '@tensorflow/tfjs';
import * as nm from 'tfjs-neural-modules';
import { trainOnThreads } from './threads-train.mjs';

console.log(JSON.stringify(await trainOnThreads(tf, nm)));
