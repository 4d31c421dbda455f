/**
 * Setup of every test file (vitest `setupFiles`): tfjs' production mode.
 *
 * In tfjs 4.22 the PROD flag does one thing: tfjs' own console messages (`log.warn`,
 * `log.log` in tfjs-core) are not printed. The one that matters is the "Hi, looks like you
 * are running TensorFlow.js in Node.js ... install our node backend" banner every cpu
 * backend prints on first use in Node, once per test file; it buried the failures in
 * `npm test` output. Kernels, checks and results are unchanged. (The other tfjs switch,
 * IS_TEST, would also turn on tfjs' per-kernel leak checks, which changes behaviour.)
 */
import * as tf from '@tensorflow/tfjs-core';

tf.enableProdMode();
