/**
 * Where one training step of NM(p, ρ) goes: each phase timed alone (bench/phase_table.ts).
 *
 *   npm run bench:phases -- [--p 3000] [--density 0.01] [--batch 128] [--features 16] [--classes 26] [--reps 15]
 *                           [--optimizer nm|tf|nm-sgd|tf-sgd] [--threads 1|2|auto] [--fast-matmul] [--backend wasm|cpu]
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import * as nm from 'tfjs-neural-modules';
import { PHASE_OPTIMIZERS, measurePhases, phaseMarkdown, type PhaseOptimizer } from './phase_table.js';
import { runtimeLabel } from './runtime.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
};
await tf.setBackend(arg('backend', 'wasm'));
await tf.ready();
const threadsArg = arg('threads', '1');
const threads = await nm.backend.setThreads(threadsArg === 'auto' ? 'auto' : Number(threadsArg));
const fast = process.argv.includes('--fast-matmul') && nm.backend.fastTransposedMatMul();
const optimizer = arg('optimizer', 'nm') as PhaseOptimizer;
if (!(optimizer in PHASE_OPTIMIZERS)) throw new Error(`--optimizer: one of ${Object.keys(PHASE_OPTIMIZERS).join(', ')}; received ${optimizer}`);
const o = {
  p: Number(arg('p', '3000')),
  density: Number(arg('density', '0.01')),
  batch: Number(arg('batch', '128')),
  features: Number(arg('features', '16')),
  classes: Number(arg('classes', '26')),
  reps: Number(arg('reps', '15')),
  optimizer,
};
const table = measurePhases(o);
console.log(
  `\nNM(p=${o.p}, ρ ${o.density}) training step phases, batch ${o.batch}, ${o.features} features, ${o.classes} classes, ${tf.getBackend()}, ` +
    `${threads} kernel thread(s), ${PHASE_OPTIMIZERS[optimizer].name}, fastTransposedMatMul ${fast ? 'on' : 'off'}; medians of ${o.reps}; ${runtimeLabel()}.\n`,
);
console.log(phaseMarkdown(table));
await nm.backend.setThreads(1);
