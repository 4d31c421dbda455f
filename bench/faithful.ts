/**
 * The reproductions of the "faithful layer" issue as figures, printed as JSON, using
 * only the public API so the same script runs on older commits (for before/after):
 *
 *   npx tsx bench/faithful.ts [--backend cpu|wasm]
 *
 * - saveLoadMaxChange: largest prediction change after save→load (memory) of a model
 *   trained 5 epochs without modulePartition, and with modulePartition({ every: 3 });
 * - rowDependence: largest change of a row's output when batched with a row scaled by
 *   1e3 / 1e6, per engine, with the default solver;
 * - positiveFeedback: what the tensor-engine Picard solve reports on x = z + f(x)·A with
 *   A = [[0,3],[3,0]] (relu and linear);
 * - andersonNonContractive: of 40 Anderson solves on random non-contractive linear
 *   graphs, how many say "converged" while the true relative residual exceeds 1e-3;
 * - spectralZeroRowSums: the reported ‖A‖₂ estimate of a graph whose rows sum to zero
 *   (exact value 2.4: a circulant with singular values 2.4·|sin(πk/6)|);
 * - warningsOver3Fits: non-convergence warnings printed over three fit calls.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import * as nm from 'tfjs-neural-modules';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
};
await tf.setBackend(arg('backend', 'cpu'));
await tf.ready();

type Layer = nm.layers.NeuralModuleLayer;
/** setWeights with the kernel and graph, keeping any further state weight, then re-partition. */
function setKG(layer: Layer, k: tf.Tensor, g: tf.Tensor) {
  const rest = layer.getWeights().slice(2);
  layer.setWeights([k, g, ...rest]);
  layer.repartition();
}
let s = 1;
const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
const normal = () => rand() + rand() + rand();
const out: Record<string, unknown> = {};

// 1. Save → load after training.
{
  const res: Record<string, number> = {};
  for (const every of [null, 3] as const) {
    s = 11;
    const x = tf.tensor2d(Array.from({ length: 200 }, () => Array.from({ length: 8 }, normal)));
    const labels = (x.arraySync() as number[][]).map((r) => (r[0] + r[1] > 0 ? 1 : 0) + (r[2] - r[3] > 0 ? 2 : 0));
    const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 4);
    const model = tf.sequential();
    model.add(nm.layers.neuralModule({ inputShape: [8], units: 20, density: 0.1 }));
    model.add(tf.layers.dense({ units: 4, activation: 'softmax' }));
    model.compile({ optimizer: tf.train.adam(0.05), loss: 'categoricalCrossentropy' });
    await model.fit(x, y, { epochs: 5, batchSize: 16, verbose: 0, callbacks: every ? [nm.callbacks.modulePartition({ every })] : [] });
    let art: tf.io.ModelArtifacts | null = null;
    await model.save(tf.io.withSaveHandler(async (a) => ((art = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(art!));
    const a = (model.predict(x) as tf.Tensor).dataSync();
    const b = (loaded.predict(x) as tf.Tensor).dataSync();
    res[every ? 'modulePartitionEvery3' : 'noCallback'] = Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
  }
  out.saveLoadMaxChange = res;
}

// 2. A row's answer in a batch with an outlier row.
{
  const res: Record<string, number> = {};
  for (const engine of ['host', 'tensor'] as const) {
    for (const scale of [1e3, 1e6]) {
      let worst = 0;
      for (let t = 0; t < 10; t++) {
        const layer = nm.layers.neuralModule({ units: 24, density: 0.15, engine });
        layer.build([null, 6]);
        s = 100 + t;
        const row = Array.from({ length: 6 }, () => 0.3 * normal());
        const alone = (layer.apply(tf.tensor2d([row])) as tf.Tensor).dataSync();
        const big = row.map((v, i) => scale * (i % 2 ? v : -v));
        const both = (layer.apply(tf.tensor2d([big, row])) as tf.Tensor).dataSync().slice(24);
        worst = Math.max(worst, ...Array.from(both, (v, i) => Math.abs(v - alone[i])));
      }
      res[`${engine} ×${scale}`] = worst;
    }
  }
  out.rowDependence = res;
}

// 3. Positive feedback on the tensor engine.
{
  const res: Record<string, unknown> = {};
  for (const activation of ['relu', 'linear'] as const) {
    const layer = nm.layers.neuralModule({
      units: 3,
      density: 0.5,
      activation,
      engine: 'tensor',
      onNonConvergence: 'ignore',
      solver: { method: 'picard', maxIter: 50 },
    });
    layer.build([null, 2]);
    setKG(
      layer,
      tf.ones([2, 3]),
      tf.tensor2d([
        [0, 3, 0],
        [3, 0, 0],
        [0, 0, 0],
      ]),
    );
    try {
      const h = (layer.apply(tf.ones([1, 2])) as tf.Tensor).dataSync();
      res[activation] = { maxOutput: Math.max(...Array.from(h, Math.abs)), ...layer.solverStats().forward };
    } catch (e) {
      res[activation] = `${(e as Error).name}: ${(e as Error).message.slice(0, 90)}…`;
    }
  }
  out.positiveFeedback = res;
}

// 4. Anderson on non-contractive linear graphs.
{
  const p = 12;
  let converged = 0;
  let falseConverged = 0;
  let worstFalse = 0;
  for (let trial = 0; trial < 40; trial++) {
    s = 500 + trial;
    const layer = nm.layers.neuralModule({
      units: p,
      density: 0.4,
      activation: 'linear',
      engine: 'tensor',
      onNonConvergence: 'ignore',
      solver: { method: 'anderson', tol: 1e-4, maxIter: 60 },
    });
    layer.build([null, 3]);
    const k = Float32Array.from({ length: 3 * p }, normal);
    const w = Float32Array.from({ length: p * p }, () => 0.45 * normal());
    setKG(layer, tf.tensor2d(k, [3, p]), tf.tensor2d(w, [p, p]));
    const u = Array.from({ length: 4 }, () => Array.from({ length: 3 }, normal));
    let h: number[][];
    try {
      h = (layer.apply(tf.tensor2d(u)) as tf.Tensor).arraySync() as number[][];
    } catch {
      continue;
    }
    if (!layer.solverStats().forward.converged) continue;
    converged++;
    const g = layer.getWeights()[1].dataSync();
    const mask = layer.edges().mask;
    let worst = 0;
    for (let b = 0; b < u.length; b++) {
      let rr = 0;
      let hh = 0;
      for (let j = 0; j < p; j++) {
        let z = g[j * p + j];
        for (let i = 0; i < 3; i++) z += u[b][i] * k[i * p + j];
        for (let i = 0; i < p; i++) if (mask[i * p + j]) z += h[b][i] * g[i * p + j];
        rr += (z - h[b][j]) ** 2;
        hh += h[b][j] ** 2;
      }
      worst = Math.max(worst, Math.sqrt(rr) / (Math.sqrt(hh) + 1e-8));
    }
    if (worst > 1e-3) {
      falseConverged++;
      worstFalse = Math.max(worstFalse, worst);
    }
  }
  out.andersonNonContractive = { solves: 40, converged, falseConverged, worstTrueResidualOfFalse: worstFalse };
}

// 5. Spectral estimate with zero row sums.
{
  const p = 6;
  const w = new Float32Array(p * p);
  for (let j = 0; j < p; j++) {
    w[j * p + ((j + 1) % p)] = 1.2;
    w[j * p + ((j + 2) % p)] = -1.2;
  }
  const layer = nm.layers.neuralModule({ units: p, density: 1 });
  layer.build([null, 2]);
  setKG(layer, tf.ones([2, p]), tf.tensor2d(w, [p, p]));
  out.spectralZeroRowSums = { estimate: layer.structure().spectralNorm, exact: 2.4 };
}

// 6. Warnings over three fits.
{
  s = 7;
  const x = tf.tensor2d(Array.from({ length: 32 }, () => Array.from({ length: 8 }, normal)));
  const y = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: 32 }, (_, i) => i % 4),
      'int32',
    ),
    4,
  );
  const model = tf.sequential();
  model.add(nm.layers.neuralModule({ inputShape: [8], units: 20, density: 0.1, solver: { method: 'anderson', tol: 1e-12, maxIter: 2 } }));
  model.add(tf.layers.dense({ units: 4, activation: 'softmax' }));
  model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
  const warns: string[] = [];
  const orig = console.warn;
  console.warn = (m: string) => warns.push(String(m));
  for (let i = 0; i < 3; i++) await model.fit(x, y, { epochs: 2, batchSize: 16, verbose: 0 });
  console.warn = orig;
  out.warningsOver3Fits = warns.filter((w) => /did not converge/.test(w)).length;
}

console.log(JSON.stringify(out, null, 1));
