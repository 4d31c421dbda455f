/**
 * Training-step times of a few fixed configurations, one JSON line on stdout, for
 * A/B comparisons of two checkouts run interleaved on the same machine
 * (bench/ab.sh). Uses only the public API (the Node entry), so it runs on older commits too.
 *
 *   npx tsx bench/step.ts [--backend wasm] [--reps 20] [--warmup 10] [--large] [--tuned [--threads 2]]
 *
 * `--tuned`: the package's fast configuration (nm.optimizers.adam, fastTransposedMatMul,
 * `--threads` kernel threads, default 2) instead of the defaults (tf.train.adam, tfjs' matMul,
 * the kernel threads the package starts by itself for large layers; one thread before they did).
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import * as nm from 'tfjs-neural-modules';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
};
await tf.setBackend(arg('backend', 'wasm'));
await tf.ready();
const tuned = process.argv.includes('--tuned');
if (tuned) {
  await nm.backend.setThreads(Number(arg('threads', '2')));
  nm.backend.fastTransposedMatMul();
}
const reps = Number(arg('reps', '20'));
const warmup = Number(arg('warmup', '10'));
const median = (a: number[]) => a.slice().sort((p, q) => p - q)[Math.floor(a.length / 2)];

function stepTime(hidden: tf.layers.Layer, batch: number, features: number, classes = 10): number {
  const m = tf.sequential();
  m.add(hidden);
  m.add(tf.layers.dense({ units: classes, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }));
  const opt = tuned ? nm.optimizers.adam({ learningRate: 0.001 }) : tf.train.adam(0.001);
  const x = tf.randomNormal([batch, features], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.randomUniform([batch], 0, classes, 'int32', 2), classes);
  const step = () => {
    const cost = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, m.apply(x) as tf.Tensor) as tf.Scalar, true);
    cost?.dataSync();
    cost?.dispose();
  };
  for (let i = 0; i < warmup; i++) step();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    step();
    ts.push(performance.now() - t0);
  }
  m.dispose();
  for (const t of [x, y]) t.dispose();
  return median(ts);
}

const init = (density: number) => new nm.layers.ContractiveGraph({ density, seed: 7 });
const out: Record<string, number> = {};
out['dense300'] = stepTime(tf.layers.dense({ inputShape: [64], units: 300, activation: 'tanh' }), 64, 64);
for (const method of ['anderson', 'picard'] as const) {
  for (const engine of ['host', 'tensor'] as const) {
    out[`nm300_${method}_${engine}`] = stepTime(
      nm.layers.neuralModule({ inputShape: [64], units: 300, density: 0.05, engine, solver: { method, tol: 1e-4 }, graphInitializer: init(0.05) }),
      64,
      64,
    );
  }
}
out['nm60_newton_tensor'] = stepTime(
  nm.layers.neuralModule({
    inputShape: [64],
    units: 60,
    density: 0.05,
    engine: 'tensor',
    solver: { method: 'newton', tol: 1e-4 },
    graphInitializer: init(0.05),
  }),
  64,
  64,
);
if (process.argv.includes('--large')) {
  out['nm3000_default_solver'] = stepTime(nm.layers.neuralModule({ inputShape: [16], units: 3000, density: 0.01, graphInitializer: init(0.01) }), 128, 16, 26);
  out['nm3000_anderson_host'] = stepTime(
    nm.layers.neuralModule({ inputShape: [16], units: 3000, density: 0.01, solver: { method: 'anderson', tol: 1e-4 }, graphInitializer: init(0.01) }),
    128,
    16,
    26,
  );
}
console.log(JSON.stringify(out));
if (tuned) await nm.backend.setThreads(1);
