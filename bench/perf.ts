/**
 * Performance benchmark (issue: "Make the solve fast"). Every figure is a ratio
 * against a baseline measured in the same process, medians over repeated steps
 * after a warm-up, because this machine is shared and noisy.
 *
 *   npm run bench:perf -- [--backend wasm|cpu] [--reps 30] [--warmup 20] [--large] [--data DIR]
 *                         [--threads 1|2|auto] [--rounds 3]
 *
 * Items 1–5 are the goals of the solve in the defaults configuration (tf.train.adam,
 * Anderson). R2.1–R2.5 are the goals of the tuned configuration (bench/round2.ts): the tuned configuration
 * (nm.optimizers.adam, fastTransposedMatMul, `--threads` kernel threads, default
 * 'auto') against the defaults, interleaved over `--rounds`, and the phases of the
 * p = 3000 step. --large adds the p = 3000, ρ = 0.01 epochs on UCI letter (needs
 * ../shared/datasets or --data) with peak memory.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as nm from 'tfjs-neural-modules';
import { hostEngine, nodeActivation, Partition, sparseKernels } from 'tfjs-neural-modules/internal';
import { softmaxStep } from './classifier_step.js';
import { letterEpoch } from './letter_epoch.js';
import { roundTwo } from './round2.js';
import { runtimeLabel } from './runtime.js';
import { median, timeIt as timeAlone } from './timing.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
};
const backend = arg('backend', 'wasm');
const reps = Number(arg('reps', '30'));
// JIT warm-up: the host engine's JS and the tfjs kernels reach steady state after ~20 steps.
const warmup = Number(arg('warmup', '20'));
await tf.setBackend(backend);
await tf.ready();

const timeIt = (fn: () => void, n = reps, warm = warmup) => timeAlone(fn, n, warm);
/** UCI letter for the --large epochs (item 3, R2.4). */
const letterFile = `${arg('data', fileURLToPath(new URL('../../shared/datasets', import.meta.url)))}/letter.csv`;

const trainStep = (model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor) => softmaxStep(model, model.optimizer, x, y);

function classifier(hidden: tf.layers.Layer, classes = 10): tf.Sequential {
  const m = tf.sequential();
  m.add(hidden);
  m.add(tf.layers.dense({ units: classes, activation: 'softmax' }));
  m.compile({ optimizer: tf.train.adam(0.001), loss: 'categoricalCrossentropy' });
  return m;
}

const rows: string[][] = [];
const report = (what: string, value: string, target: string, note = '') => {
  rows.push([what, value, target, note]);
  console.log(`${what}: ${value} (target ${target}) ${note}`);
};
const fwdIters = (m: tf.Sequential) => (m.layers[0] as nm.layers.NeuralModuleLayer).solverStats().forward.iterations;

const x = tf.randomNormal([64, 64], 0, 1, 'float32', 1);
const y = tf.oneHot(tf.randomUniform([64], 0, 10, 'int32', 2), 10);
const tol = 1e-4;
console.log(`${runtimeLabel()}, backend ${tf.getBackend()}, batch 64, 64 features, tol ${tol}, median of ${reps} steps after ${warmup} warm-up steps`);

// 1. NM(p=300, ρ=0.05) train step vs Dense(300, tanh).
const mlp = classifier(tf.layers.dense({ inputShape: [64], units: 300, activation: 'tanh' }));
const nmFixed = classifier(nm.layers.neuralModule({ inputShape: [64], units: 300, density: 0.05, solver: { method: 'anderson', tol } }));
const tMlp = timeIt(trainStep(mlp, x, y));
const tNm = timeIt(trainStep(nmFixed, x, y));
const sFixed = (nmFixed.layers[0] as nm.layers.NeuralModuleLayer).structure();
report(
  '1a. NM(300, ρ 0.05, fixed random mask) / Dense(300) train step',
  `${(tNm / tMlp).toFixed(2)}× (${tNm.toFixed(1)} ms vs ${tMlp.toFixed(1)} ms)`,
  '≤ 3×',
  `largest module ${sFixed.largestModule}, ${fwdIters(nmFixed)} fwd iterations`,
);

const regs = nm.regularizers as unknown as Record<string, ((a: object) => unknown) | undefined>;
if (typeof regs.nm === 'function') {
  const learned = classifier(
    nm.layers.neuralModule({
      inputShape: [64],
      units: 300,
      density: 0.05,
      solver: { method: 'anderson', tol },
      graphRegularizer: regs.nm({ alpha: 0.01, form: 'size' }) as never,
    }),
  );
  const step = trainStep(learned, x, y);
  const layer = learned.layers[0] as nm.layers.NeuralModuleLayer;
  for (let i = 0; i < 200; i++) {
    step();
    if (i % 10 === 9) layer.repartition();
  }
  const tLearned = timeIt(step);
  const s = layer.structure();
  report(
    '1b. NM(300, ρ 0.05, mask learned under NM reg, 200 steps) / Dense(300)',
    `${(tLearned / tMlp).toFixed(2)}× (${tLearned.toFixed(1)} ms)`,
    '≤ 3×',
    `largest module ${s.largestModule}, ${s.modules.length} modules`,
  );
} else {
  report('1b. learned mask', 'not measured', '≤ 3×', 'nm.regularizers.nm not available in this build');
}

// 2. DEQ (ρ = 1, one monolithic solve) vs NM (ρ = 0.05) at p = 300, same tolerance.
const deq = classifier(nm.layers.neuralModule({ inputShape: [64], units: 300, density: 1, solver: { method: 'anderson', tol } }));
const tDeq = timeIt(trainStep(deq, x, y), Math.max(5, Math.floor(reps / 2)));
report(
  '2. DEQ(300, ρ 1) / NM(300, ρ 0.05) train step',
  `${(tDeq / tNm).toFixed(2)}× (${tDeq.toFixed(1)} ms vs ${tNm.toFixed(1)} ms)`,
  '≥ 5×',
  `DEQ ${fwdIters(deq)} fwd iterations`,
);

// 2b. The same DEQ on the tensor engine (one tfjs op per iteration, what engine 'auto' ran at ρ = 1 before) against the
// host engine, same starting weights, interleaved: each round times a few steps of both, the order flipped every round.
{
  const tensorDeq = classifier(nm.layers.neuralModule({ inputShape: [64], units: 300, density: 1, solver: { method: 'anderson', tol }, engine: 'tensor' }));
  const hostDeq = classifier(nm.layers.neuralModule({ inputShape: [64], units: 300, density: 1, solver: { method: 'anderson', tol }, engine: 'host' }));
  hostDeq.setWeights(tensorDeq.getWeights());
  const pairs = { host: trainStep(hostDeq, x, y), tensor: trainStep(tensorDeq, x, y) };
  const per: Record<'host' | 'tensor', number[]> = { host: [], tensor: [] };
  const rounds = Math.max(6, Math.floor(reps / 3));
  for (let r = 0; r < rounds; r++) {
    for (const k of r % 2 ? (['tensor', 'host'] as const) : (['host', 'tensor'] as const)) per[k].push(timeIt(pairs[k], 3, r === 0 ? warmup : 1));
  }
  const [th, tt] = [median(per.host), median(per.tensor)];
  report(
    '2b. DEQ(300, ρ 1) step, tensor engine / host engine',
    `${(tt / th).toFixed(2)}× (${tt.toFixed(1)} ms vs ${th.toFixed(1)} ms)`,
    '> 1× (engine auto picks host)',
    `medians of ${rounds} interleaved rounds; host ${fwdIters(hostDeq)}, tensor ${fwdIters(tensorDeq)} fwd iterations`,
  );
  for (const m of [hostDeq, tensorDeq]) {
    m.optimizer.dispose();
    m.dispose();
  }
}

// 4. Forward solve of one 50-node module at batch 64.
{
  const p = 50;
  const layer = nm.layers.neuralModule({ units: p, density: 0.2, solver: { method: 'anderson', tol } });
  layer.build([null, 64]);
  const s = layer.structure();
  const t = timeIt(() => tf.tidy(() => void (layer.apply(x) as tf.Tensor).dataSync()));
  const picard = nm.layers.neuralModule({ units: p, density: 0.2, solver: { method: 'picard', tol } });
  picard.build([null, 64]);
  picard.setWeights(layer.getWeights());
  const tp = timeIt(() => tf.tidy(() => void (picard.apply(x) as tf.Tensor).dataSync()));
  report(
    '4. forward solve, one 50-node module, batch 64',
    `${t.toFixed(2)} ms anderson (${layer.solverStats().forward.iterations} it), ${tp.toFixed(2)} ms picard (${picard.solverStats().forward.iterations} it)`,
    '≤ 2 ms (paper: 10 ms)',
    `largest module ${s.largestModule}`,
  );
}

// 5. Effective GFLOP/s of the solve vs a plain matMul of the same shape: useful
// multiply-adds (kept edges × batch × f-evaluations) per second, for the solve
// alone (the host engine's forward: weight gather, solve, upload of h) and for the whole layer call.
function effectiveRate(label: string, p: number, density: number, batch: number, method: 'anderson' | 'picard') {
  const xb = tf.randomNormal([batch, 64], 0, 1, 'float32', 3);
  const layer = nm.layers.neuralModule({ units: p, density, solver: { method, tol } });
  layer.build([null, 64]);
  const mask = layer.edges();
  const partition = new Partition(mask);
  const ctx = { partition, act: nodeActivation('tanh'), solver: layer.options.solver, backwardSolver: layer.options.backwardSolver, where: 'bench' };
  const [kernel, w] = layer.getWeights() as tf.Tensor2D[];
  const z = tf.tidy(
    () =>
      tf.add(
        tf.matMul(xb, kernel),
        tf.gather(
          tf.reshape(w, [-1]),
          tf.tensor1d(
            Int32Array.from({ length: p }, (_, j) => j * (p + 1)),
            'int32',
          ),
        ),
      ) as tf.Tensor2D,
  );
  const kernelSet = sparseKernels();
  let iterations = 0;
  const tSolve = timeIt(() => {
    const fwd = hostEngine.forward(z, w, ctx);
    iterations = fwd.stats.iterations;
    fwd.h.dispose();
  });
  const tCall = timeIt(() => tf.tidy(() => void (layer.apply(xb) as tf.Tensor).dataSync()));
  const a = tf.randomNormal([batch, p]);
  const b = tf.randomNormal([p, p]);
  const tMat = timeIt(() => tf.tidy(() => void tf.matMul(a, b).dataSync()));
  const useful = 2 * batch * mask.edges * iterations;
  const gSolve = useful / (tSolve * 1e6);
  const gCall = useful / (tCall * 1e6);
  const gMat = (2 * batch * p * p) / (tMat * 1e6);
  const pct = (g: number) => `${((100 * g) / gMat).toFixed(1)}%`;
  report(
    `${label} ${method}: effective GFLOP/s (kept edges) vs matMul [${batch},${p}]×[${p},${p}]`,
    `solve ${gSolve.toFixed(2)} (${pct(gSolve)}), layer call ${gCall.toFixed(2)} (${pct(gCall)}) vs matMul ${gMat.toFixed(2)} GFLOP/s`,
    '≥ 50%',
    `${mask.edges} kept edges, ${iterations} f-evaluations, solve ${tSolve.toFixed(2)} ms, call ${tCall.toFixed(2)} ms, matMul ${tMat.toFixed(2)} ms; kernels ${kernelSet.name}`,
  );
  for (const t of [xb, a, b, z]) t.dispose();
  partition.dispose();
}
// Anderson (the default) does fewer iterations with more bookkeeping per iteration
// (Gram updates, combinations); Picard's iterations are one sparse product and a tanh.
for (const method of ['anderson', 'picard'] as const) {
  effectiveRate('5a. p=300, ρ 0.05, batch 64,', 300, 0.05, 64, method);
  effectiveRate('5b. p=3000, ρ 0.01, batch 128,', 3000, 0.01, 128, method);
}

// 3. p = 3000, ρ = 0.01: one epoch on letter (16000 samples, batch 128).
if (process.argv.includes('--large')) {
  const file = letterFile;
  if (!existsSync(file)) {
    report('3. p=3000 epoch on letter', 'not measured', '≤ 120 s, ≤ 2 GB', `no ${file} (pass --data DIR)`);
  } else {
    const run = await letterEpoch(
      file,
      (n) => nm.layers.neuralModule({ inputShape: [n], units: 3000, density: 0.01, solver: { method: 'anderson', tol } }),
      tf.train.adam(0.001),
      'p=3000',
    );
    const s = (run.model.layers[0] as nm.layers.NeuralModuleLayer).structure();
    run.model.dispose();
    report(
      `3. p=3000, ρ 0.01 epoch on letter (${run.samples} samples, batch 128)`,
      `${run.seconds.toFixed(1)} s, peak RSS ${run.peakGiB.toFixed(2)} GB`,
      '≤ 120 s, ≤ 2 GB',
      `largest module ${s.largestModule}, ${s.modules.length} modules`,
    );
  }
}

// R2. The tuned configuration's goals.
const threadsArg = arg('threads', 'auto');
const phases = await roundTwo({
  threads: threadsArg === 'auto' ? 'auto' : Number(threadsArg),
  reps: Math.max(10, Math.floor(reps / 2)),
  warmup: Math.max(5, Math.floor(warmup / 2)),
  rounds: Number(arg('rounds', '3')),
  letterCsv: process.argv.includes('--large') && existsSync(letterFile) ? letterFile : null,
  report,
});

console.log('\n| measurement | value | target | notes |\n|---|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
console.log(`\nR2.5 The p = 3000 step (tuned), each phase timed alone:\n\n${phases}`);
