/**
 * Browser example: a Neural Module layer trained on the UCI digits with `model.fit`,
 * showing live the loss curve and the module-structure picture after every epoch.
 *
 *   npm run example:browser          # Vite dev server, open the printed URL
 *
 * Query parameters: `?epochs=12&units=64&density=0.03&train=600&test=200&seed=1&backend=auto|webgl|cpu`.
 * The backend is chosen by `nm.backend.useBest()`: webgl (skipped when software-rendered),
 * then wasm (only when the page bundles `@tensorflow/tfjs-backend-wasm`, which this one
 * does not), then cpu.
 *
 * For the browser test: the final test accuracy is in `#accuracy` (and its
 * `data-value`), `window.__nmPictureHashes` holds a hash of the structure picture
 * before training and after each epoch, `window.__nmResult` everything measured, and
 * `window.__nmDone` becomes true at the end (`window.__nmError` on failure).
 */
import * as tf from '@tensorflow/tfjs';
import * as nm from '../../src/index.js';
import digitsCsv from '../../data/digits.csv?raw';
import * as kernels from '../../src/kernels/index.js';

/** What the page measured (also `window.__nmResult`). */
export interface PageResult {
  backend: string;
  backendsTried: string[];
  /** Where the NM solves ran ('host': typed arrays + sparse kernels; 'tensor': tfjs ops). */
  engine: string;
  /** The sparse kernels of the host engine ('wasm-simd' or 'js'). */
  kernels: string;
  epochs: number;
  units: number;
  density: number;
  trainRows: number;
  testRows: number;
  /** Test accuracy after training. */
  accuracy: number;
  /** Training wall time, seconds. */
  trainSeconds: number;
  /** Per-epoch logs. */
  loss: number[];
  valLoss: number[];
  valAccuracy: number[];
  modules: number[];
  largestModule: number[];
  /** Structure picture hashes: before training, then one per epoch. */
  pictureHashes: string[];
}

const params = new URLSearchParams(location.search);
const num = (name: string, dflt: number) => {
  const v = params.get(name);
  return v != null && v !== '' && Number.isFinite(Number(v)) ? Number(v) : dflt;
};
const epochs = num('epochs', 12);
const units = num('units', 64);
const density = num('density', 0.03);
const trainRows = num('train', 600);
const testRows = num('test', 200);
const seed = num('seed', 1);
const backendParam = (params.get('backend') ?? 'auto').toLowerCase();

const $ = (id: string) => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el;
};
const setText = (id: string, text: string) => void ($(id).textContent = text);
/** Lets the browser paint between training steps. */
const paint = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** FNV-1a (32 bit) of a string, as 8 hex digits. */
function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

// ---------------------------------------------------------------- loss chart (SVG)

const batchLoss: number[] = [];
const epochLoss: number[] = [];
const valLoss: number[] = [];
let batchesPerEpoch = 1;

function drawLossChart(): void {
  const svg = $('loss-chart') as unknown as SVGSVGElement;
  const W = 460,
    H = 300,
    L = 44,
    R = 10,
    T = 10,
    B = 30;
  // Log scale: cross-entropy falls over orders of magnitude.
  const all = [...batchLoss, ...epochLoss, ...valLoss].filter((v) => Number.isFinite(v) && v > 0);
  const hi = Math.ceil(Math.log10(Math.max(1, ...all)) * 2) / 2;
  const lo = Math.min(-1, Math.floor(Math.log10(Math.min(1, ...all))));
  const totalBatches = Math.max(1, epochs * batchesPerEpoch);
  const x = (batch: number) => L + ((W - L - R) * batch) / totalBatches;
  const y = (v: number) => T + (H - T - B) * ((hi - Math.min(hi, Math.max(lo, Math.log10(Math.max(v, 1e-12))))) / (hi - lo));
  const parts: string[] = [];
  parts.push(`<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="#fff" stroke="#ccc"/>`);
  for (let k = lo; k <= Math.floor(hi); k++) {
    const v = 10 ** k;
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/>`);
    parts.push(`<text x="${L - 4}" y="${y(v) + 4}" font-size="10" text-anchor="end" fill="#666">${k >= 0 ? v.toFixed(0) : v.toFixed(-k)}</text>`);
  }
  const step = Math.max(1, Math.ceil(epochs / 6));
  for (let e = 0; e <= epochs; e += step) {
    parts.push(`<text x="${x(e * batchesPerEpoch)}" y="${H - B + 14}" font-size="10" text-anchor="middle" fill="#666">${e}</text>`);
  }
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - 4}" font-size="11" text-anchor="middle" fill="#444">epoch</text>`);
  parts.push(
    `<text x="12" y="${(T + H - B) / 2}" font-size="11" text-anchor="middle" fill="#444" transform="rotate(-90 12 ${(T + H - B) / 2})">loss (log scale)</text>`,
  );
  const line = (pts: Array<[number, number]>, color: string, width: number, dots: boolean) => {
    if (pts.length === 0) return;
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="${width}" points="${pts.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(' ')}"/>`,
    );
    if (dots) for (const [a, b] of pts) parts.push(`<circle cx="${a.toFixed(1)}" cy="${b.toFixed(1)}" r="2.5" fill="${color}"/>`);
  };
  line(
    batchLoss.map((v, i) => [x(i + 1), y(v)]),
    '#bbb',
    1,
    false,
  );
  line(
    epochLoss.map((v, e) => [x((e + 1) * batchesPerEpoch), y(v)]),
    '#1f77b4',
    2,
    true,
  );
  line(
    valLoss.map((v, e) => [x((e + 1) * batchesPerEpoch), y(v)]),
    '#ff7f0e',
    2,
    true,
  );
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.innerHTML = parts.join('');
  svg.setAttribute('data-points', String(batchLoss.length));
}

// ---------------------------------------------------------------- structure picture

const pictureHashes: string[] = [];
window.__nmPictureHashes = pictureHashes;

function drawStructure(layer: nm.layers.NeuralModuleLayer, label: string): void {
  const s = layer.structure();
  const svg = nm.analysis.renderStructure(layer, {
    cellSize: Math.max(2, Math.floor(384 / units)),
    title: `${label}: ${s.modules.length} modules, largest ${s.largestModule}, ${s.edges} edges`,
  });
  const host = $('structure');
  host.innerHTML = svg;
  const hash = fnv1a(svg);
  host.setAttribute('data-hash', hash);
  host.setAttribute('data-epoch', String(pictureHashes.length));
  pictureHashes.push(hash);
  setText('stat-modules', String(s.modules.length));
  setText('stat-largest', String(s.largestModule));
}

// ---------------------------------------------------------------- training

/** Logs may hold scalars until resolved. */
function logValue(logs: tf.Logs | undefined, key: string): number {
  const v = (logs as Record<string, unknown> | undefined)?.[key];
  if (typeof v === 'number') return v;
  if (v instanceof tf.Tensor) return v.dataSync()[0];
  return NaN;
}

async function main(): Promise<void> {
  setText('cfg-units', String(units));
  setText('cfg-density', String(density));
  setText('status', 'choosing a backend…');
  // useBest skips WebGL through a software rasterizer (SwiftShader, llvmpipe: headless
  // Chromium with --disable-gpu, VMs), much slower than the cpu backend for NM; it
  // reports the skip in `tried`. ?backend=webgl still forces it.
  const forced = backendParam !== 'auto' ? backendParam : undefined;
  const chosen = await nm.backend.useBest({ runtime: 'browser', env: forced ? { NM_BACKEND: forced } : {} });
  const renderer = chosen.tried.find((t) => t.name === 'webgl')?.renderer ?? nm.backend.webglRenderer();
  const tried = chosen.tried.map((t) =>
    t.ok ? `${t.name} ✓` : `${t.name}: ${t.absent ? 'not bundled' : t.software ? 'software renderer, skipped' : 'unavailable'}`,
  );
  setText('stat-backend', chosen.backend);
  const label = nm.backend.classifyWebglRenderer(renderer).label;
  setText('stat-backend-note', `backends tried: ${tried.join(' · ')}` + (label ? ` · WebGL renderer: ${label}` : ''));
  $('stat-backend').title = [`WebGL renderer: ${renderer ?? 'none'}`, ...chosen.tried.map((t) => `${t.name}: ${t.ok ? 'ok' : t.error}`)].join('\n');

  // The digits, embedded in the bundle: a stratified subset of train and test rows.
  const table = nm.datasets.parseCsv(digitsCsv, { source: 'digits.csv' });
  const fTrain = trainRows / table.numSamples;
  const fTest = testRows / table.numSamples;
  const [trainIdx, testIdx] = nm.datasets.stratifiedSplit(table.y, [fTrain, fTest, 1 - fTrain - fTest], seed);
  const stats = nm.datasets.featureStats(nm.datasets.subset(table, trainIdx));
  const prep = (idx: number[]) => {
    const t = nm.datasets.standardize(nm.datasets.subset(table, idx), stats);
    return {
      x: tf.tensor2d(t.x, [t.numSamples, t.numFeatures]),
      y: tf.oneHot(tf.tensor1d(t.y, 'int32'), table.classes.length),
    };
  };
  const train = prep(trainIdx);
  const test = prep(testIdx);
  setText('cfg-data', `${trainIdx.length} training / ${testIdx.length} test images`);
  const batchSize = 32;
  batchesPerEpoch = Math.ceil(trainIdx.length / batchSize);

  const layer = nm.layers.neuralModule({
    inputShape: [table.numFeatures],
    units,
    density,
    activation: 'tanh',
    solver: { method: 'anderson', tol: 1e-4, maxIter: 50 },
    inputInitializer: tf.initializers.glorotUniform({ seed }),
    graphInitializer: new nm.layers.ContractiveGraph({ gain: 0.5, density, seed }),
  });
  const model = tf.sequential();
  model.add(layer);
  model.add(tf.layers.dense({ units: table.classes.length, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }));
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });

  drawLossChart();
  drawStructure(layer, 'before training');
  setText('status', `training on ${chosen.backend}…`);
  await paint();

  const valAccuracy: number[] = [];
  const modules: number[] = [];
  const largest: number[] = [];
  const t0 = performance.now();
  // Runs after modulePartition (callbacks run in order), so the picture shows the new partition.
  class LiveView extends tf.Callback {
    override async onBatchEnd(_batch: number, logs?: tf.Logs): Promise<void> {
      batchLoss.push(logValue(logs, 'loss'));
      if (batchLoss.length % 4 === 0) {
        drawLossChart();
        await paint();
      }
    }
    override async onEpochEnd(epoch: number, logs?: tf.Logs): Promise<void> {
      epochLoss.push(logValue(logs, 'loss'));
      valLoss.push(logValue(logs, 'val_loss'));
      valAccuracy.push(logValue(logs, 'val_acc'));
      modules.push(logValue(logs, 'nm_modules'));
      largest.push(logValue(logs, 'nm_largest'));
      drawLossChart();
      drawStructure(layer, `epoch ${epoch + 1}`);
      setText('stat-epoch', `${epoch + 1} / ${epochs}`);
      setText('stat-iters', `fwd ${logValue(logs, 'nm_fwd_iters').toFixed(1)}, bwd ${logValue(logs, 'nm_bwd_iters').toFixed(1)}`);
      setText('stat-time', `${((performance.now() - t0) / 1000).toFixed(1)} s`);
      setText(
        'status',
        `epoch ${epoch + 1}/${epochs} on ${chosen.backend}: loss ${epochLoss[epoch].toFixed(3)}, ` + `test accuracy ${valAccuracy[epoch].toFixed(3)}`,
      );
      await paint();
    }
  }
  await model.fit(train.x, train.y, {
    epochs,
    batchSize,
    shuffle: true,
    verbose: 0,
    validationData: [test.x, test.y],
    callbacks: [nm.callbacks.modulePartition({ every: 'epoch' }), new LiveView()],
  });
  const trainSeconds = (performance.now() - t0) / 1000;

  const [, accT] = model.evaluate(test.x, test.y, { batchSize: 256 }) as tf.Scalar[];
  const accuracy = (await accT.data())[0];
  const acc = $('accuracy');
  acc.textContent = accuracy.toFixed(4);
  acc.setAttribute('data-value', String(accuracy));
  setText('stat-time', `${trainSeconds.toFixed(1)} s`);
  setText(
    'status',
    `done: ${epochs} epochs on ${chosen.backend} (${layer.activeEngine()} engine) in ${trainSeconds.toFixed(1)} s; test accuracy ${accuracy.toFixed(4)}`,
  );

  window.__nmResult = {
    backend: chosen.backend,
    backendsTried: tried,
    engine: layer.activeEngine(),
    kernels: kernels.sparseKernels().name,
    epochs,
    units,
    density,
    trainRows: trainIdx.length,
    testRows: testIdx.length,
    accuracy,
    trainSeconds,
    loss: epochLoss,
    valLoss,
    valAccuracy,
    modules,
    largestModule: largest,
    pictureHashes: pictureHashes.slice(),
  };
  window.__nmDone = true;
}

main().catch((e: unknown) => {
  const message = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e);
  console.error(e);
  window.__nmError = message;
  const el = document.getElementById('error');
  if (el) el.textContent = message;
  const status = document.getElementById('status');
  if (status) status.textContent = 'failed (see below)';
  window.__nmDone = true;
});
