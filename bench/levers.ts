/**
 * The opt-in performance switches and the solver choice, measured A/B in one process, interleaved round by round (so all
 * arms share every moment of the machine's load): training-step medians of a Dense(300)
 * control, NM p = 300 (ρ 0.05, batch 64) and, with --large, the p = 3000 letter step
 * (ρ 0.01, batch 128, 16 features, 26 classes). Backend wasm.
 *
 * --preset solver (levers 4 and 5): the solver `anderson` vs `auto`, tfjs-wasm's
 *   transposed matMul as shipped vs `nm.backend.fastTransposedMatMul()`, tf.train.adam.
 * --preset threads (levers 1 and 3, the default): tf.train.adam, tfjs matMul and 1 thread
 *   (the shipped defaults before kernel threads were on by default) vs everything opt-in (nm.optimizers.adam, fast matMul) on 1 and
 *   on 2 threads (`nm.backend.setThreads`).
 *
 *   npm run bench:levers -- [--preset threads|solver] [--rounds 5] [--reps 15] [--warmup 5] [--large]
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import * as nm from 'tfjs-neural-modules';
import { classifierStepMs } from './classifier_step.js';
import { runtimeLabel } from './runtime.js';
import { median } from './timing.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
};
await tf.setBackend('wasm');
await tf.ready();
const rounds = Number(arg('rounds', '5'));
const reps = Number(arg('reps', '15'));
const warmup = Number(arg('warmup', '5'));
const large = process.argv.includes('--large');
const preset = arg('preset', 'threads');
if (preset !== 'threads' && preset !== 'solver') throw new Error(`--preset must be 'threads' or 'solver'; received '${preset}'`);

interface Case {
  name: string;
  build: () => tf.layers.Layer;
  batch: number;
  features: number;
  classes: number;
  fastMatMul: boolean;
  /** Kernel threads (nm.backend.setThreads). Default 1. */
  threads?: number;
  /** nm.optimizers.adam instead of tf.train.adam. Default false. */
  fusedAdam?: boolean;
}

async function stepTime(c: Case): Promise<number> {
  nm.backend.fastTransposedMatMul({ enable: c.fastMatMul });
  await nm.backend.setThreads(c.threads ?? 1);
  const optimizer = () => (c.fusedAdam ? nm.optimizers.adam({ learningRate: 0.001 }) : tf.train.adam(0.001));
  return classifierStepMs(c.build, optimizer, c, reps, warmup);
}

const init = (density: number) => new nm.layers.ContractiveGraph({ density, seed: 7 });
const nmLayer = (units: number, features: number, density: number, method: 'anderson' | 'auto') => () =>
  nm.layers.neuralModule({
    inputShape: [features],
    units,
    density,
    solver: { method, tol: 1e-4 },
    backwardSolver: { method, tol: 1e-4 },
    graphInitializer: init(density),
  });
const cases: Case[] = [];
if (preset === 'solver') {
  for (const fastMatMul of [false, true]) {
    const tag = fastMatMul ? 'fastMatMul' : 'tfjsMatMul';
    cases.push({
      name: `dense300 ${tag}`,
      build: () => tf.layers.dense({ inputShape: [64], units: 300, activation: 'tanh' }),
      batch: 64,
      features: 64,
      classes: 10,
      fastMatMul,
    });
    for (const method of ['anderson', 'auto'] as const) {
      cases.push({ name: `nm300 ${method} ${tag}`, build: nmLayer(300, 64, 0.05, method), batch: 64, features: 64, classes: 10, fastMatMul });
      if (large) cases.push({ name: `nm3000 ${method} ${tag}`, build: nmLayer(3000, 16, 0.01, method), batch: 128, features: 16, classes: 26, fastMatMul });
    }
  }
} else {
  const dense = (fastMatMul: boolean, fusedAdam: boolean) => ({
    build: () => tf.layers.dense({ inputShape: [64], units: 300, activation: 'tanh' }),
    batch: 64,
    features: 64,
    classes: 10,
    fastMatMul,
    fusedAdam,
  });
  cases.push({ name: 'dense300 defaults', ...dense(false, false) });
  cases.push({ name: 'dense300 tuned', ...dense(true, true) });
  const arms = [
    { tag: 'defaults', fastMatMul: false, fusedAdam: false, threads: 1 },
    { tag: 'tuned 1 thread', fastMatMul: true, fusedAdam: true, threads: 1 },
    { tag: 'tuned 2 threads', fastMatMul: true, fusedAdam: true, threads: 2 },
  ];
  for (const a of arms) {
    const { tag, ...opts } = a;
    cases.push({ name: `nm300 ${tag}`, build: nmLayer(300, 64, 0.05, 'auto'), batch: 64, features: 64, classes: 10, ...opts });
    if (large) cases.push({ name: `nm3000 ${tag}`, build: nmLayer(3000, 16, 0.01, 'auto'), batch: 128, features: 16, classes: 26, ...opts });
  }
}
const times = new Map<string, number[]>(cases.map((c) => [c.name, []]));
for (let r = 0; r < rounds; r++) {
  // Alternate the order every round so neither arm always runs first.
  for (const c of r % 2 ? cases.slice().reverse() : cases) times.get(c.name)!.push(await stepTime(c));
  process.stderr.write(`round ${r + 1}/${rounds} done\n`);
}
nm.backend.fastTransposedMatMul({ enable: false });
await nm.backend.setThreads(1);
const med = (name: string) => median(times.get(name)!);
console.log(`${runtimeLabel()}, backend ${tf.getBackend()}\n`);
console.log(`| configuration | median step ms (${rounds} rounds × ${reps} steps) |\n|---|---|`);
for (const c of cases) console.log(`| ${c.name} | ${med(c.name).toFixed(2)} |`);
console.log('\n| ratio | value |\n|---|---|');
const ratio = (label: string, b: string, a: string) => console.log(`| ${label} | ${(med(b) / med(a)).toFixed(2)} |`);
if (preset === 'solver') {
  for (const p of large ? ['nm300', 'nm3000'] : ['nm300']) {
    ratio(`${p}: auto / anderson (tfjs matMul)`, `${p} auto tfjsMatMul`, `${p} anderson tfjsMatMul`);
    ratio(`${p}: fast / tfjs matMul (anderson)`, `${p} anderson fastMatMul`, `${p} anderson tfjsMatMul`);
    ratio(`${p}: both levers / neither`, `${p} auto fastMatMul`, `${p} anderson tfjsMatMul`);
  }
  ratio('dense300: fast / tfjs matMul', 'dense300 fastMatMul', 'dense300 tfjsMatMul');
  ratio('NM300 / Dense300, neither lever', 'nm300 anderson tfjsMatMul', 'dense300 tfjsMatMul');
  ratio('NM300 / Dense300, both levers', 'nm300 auto fastMatMul', 'dense300 fastMatMul');
} else {
  for (const p of large ? ['nm300', 'nm3000'] : ['nm300']) {
    ratio(`${p}: tuned 1 thread / defaults`, `${p} tuned 1 thread`, `${p} defaults`);
    ratio(`${p}: tuned 2 threads / tuned 1 thread`, `${p} tuned 2 threads`, `${p} tuned 1 thread`);
    ratio(`${p}: tuned 2 threads / defaults`, `${p} tuned 2 threads`, `${p} defaults`);
  }
  ratio('NM300 / Dense300, defaults', 'nm300 defaults', 'dense300 defaults');
  ratio('NM300 tuned 2 threads / Dense300 tuned', 'nm300 tuned 2 threads', 'dense300 tuned');
}
