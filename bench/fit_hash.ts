/**
 * Bit-identity check across refactors: trains small models 2 epochs with fixed seeds
 * and prints a SHA-256 of all their weights per configuration. Public API only, so
 * the same script runs on any commit; equal hashes mean the same bits.
 *
 *   npx tsx bench/fit_hash.ts            # prints one line per configuration
 *
 * Configurations: NeuralModule (host and tensor engine, with the NM regularizer in
 * proximal mode and a re-partition every batch) on cpu and wasm with 1 and 2 kernel
 * threads, nm.optimizers.adam on wasm, URN, OptNet and CFF on cpu.
 *
 * The header names the Node and the kernels' arithmetic: the host-engine hashes differ
 * between 'fma' (Node ≥ 22 by default) and 'muladd' (Node 20, or `NM_KERNELS=muladd`),
 * so compare hashes only between runs with the same kernels line.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { createHash } from 'node:crypto';
import * as nm from 'tfjs-neural-modules';
import { withSeededRandom } from './uci/seeded_random.js';

function data(seed: number, rows: number, n: number, classes: number) {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const x = Array.from({ length: rows }, () => Array.from({ length: n }, () => rand() + rand()));
  const labels = x.map((r) => (r[0] + r[1] > 0 ? 1 : 0) + (classes > 2 && r[2] - r[3] > 0 ? 2 : 0));
  return { x: tf.tensor2d(x), y: tf.oneHot(tf.tensor1d(labels, 'int32'), classes) };
}

function hashWeights(weights: tf.Tensor[]): string {
  const h = createHash('sha256');
  for (const w of weights) h.update(new Uint8Array(w.dataSync().buffer.slice(0)));
  return h.digest('hex').slice(0, 16);
}

async function nmModel(engine: 'host' | 'tensor', optimizer: 'adam' | 'nm-adam'): Promise<string> {
  const model = tf.sequential();
  model.add(
    nm.layers.neuralModule({
      inputShape: [8],
      units: 40,
      density: 0.1,
      engine,
      inputInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      graphInitializer: { className: 'NMContractiveGraph', config: { gain: 0.5, density: 0.1, seed: 2 } },
      graphRegularizer: nm.regularizers.nm({ proximal: true }),
    }),
  );
  model.add(tf.layers.dense({ units: 4, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }));
  model.compile({ optimizer: optimizer === 'adam' ? tf.train.adam(0.01) : nm.optimizers.adam({ learningRate: 0.01 }), loss: 'categoricalCrossentropy' });
  const { x, y } = data(7, 256, 8, 4);
  await withSeededRandom(9, () => model.fit(x, y, { epochs: 2, batchSize: 32, verbose: 0, callbacks: [nm.callbacks.modulePartition({ every: 'batch' })] }));
  const out = hashWeights(model.getWeights());
  model.dispose();
  tf.dispose([x, y]);
  return out;
}

async function otherModel(kind: 'urn' | 'optnet'): Promise<string> {
  const model = tf.sequential();
  if (kind === 'urn') {
    model.add(nm.layers.urn({ inputShape: [8], neurons: 24, outputUnits: 4, iterations: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }));
  } else {
    model.add(tf.layers.dense({ inputShape: [8], units: 6, kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }) }));
    model.add(nm.layers.optNet({ units: 4, inequalities: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 13 }) }));
  }
  model.add(tf.layers.dense({ units: 4, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 6 }) }));
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
  const { x, y } = data(8, 128, 8, 4);
  await withSeededRandom(10, () => model.fit(x, y, { epochs: 2, batchSize: 32, verbose: 0 }));
  const out = hashWeights(model.getWeights());
  model.dispose();
  tf.dispose([x, y]);
  return out;
}

async function cff(): Promise<string> {
  const net = nm.cff.cyclicForwardForward({ inputDim: 8, numClasses: 4, seed: 14 });
  const { x, y } = data(11, 128, 8, 4);
  await withSeededRandom(12, () => net.fit(x, y as tf.Tensor2D, { epochs: 2, batchSize: 32 }));
  const out = hashWeights(net.getWeights());
  net.dispose();
  tf.dispose([x, y]);
  return out;
}

/** The kernels' arithmetic; checkouts from before the FMA kernels have none (mul+add). */
const kernels = (nm.backend as { kernelVariant?: () => string }).kernelVariant?.() ?? 'muladd';
console.log(`fit_hash: node ${process.version}, kernels ${kernels} (compare hashes only between runs with the same kernels)`);

const lines: string[] = [];
const run = async (name: string, fn: () => Promise<string>) => {
  try {
    lines.push(`${name}: ${await withSeededRandom(1, fn)}`);
  } catch (e) {
    lines.push(`${name}: error ${(e as Error).message.slice(0, 120)}`);
  }
  console.log(lines[lines.length - 1]);
};
for (const backend of ['cpu', 'wasm']) {
  await tf.setBackend(backend);
  await tf.ready();
  for (const threads of [1, 2]) {
    await nm.backend.setThreads(threads);
    for (const engine of ['host', 'tensor'] as const) await run(`nm ${engine} ${backend} threads ${threads}`, () => nmModel(engine, 'adam'));
    if (backend === 'wasm') await run(`nm host wasm threads ${threads} nm.optimizers.adam`, () => nmModel('host', 'nm-adam'));
  }
  await nm.backend.setThreads(1);
}
await tf.setBackend('cpu');
await run('urn cpu', () => otherModel('urn'));
await run('optnet cpu', () => otherModel('optnet'));
await run('cff cpu', cff);
