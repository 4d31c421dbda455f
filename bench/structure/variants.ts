/**
 * Structure-learning variants on the UCI digits (docs/STRUCTURE.md): which graph
 * regularizer gives visible, balanced modules in a plain 30-epoch fit.
 *
 * Setup (fixed): NeuralModule p = 100 (`--p`), density ρ = 0.05 (`--density`; top-K mask), Adam 0.01,
 * batch 64, `modulePartition()` every epoch, the seeded stratified 70/15/15 split of
 * bench/uci/data.ts (test error on the 15 % test part), Math.random seeded per run
 * (fit shuffling), seeded initializers. Per run it records test error, module
 * count, largest module, balance (largest / mean module size), modules with ≥ 2
 * nodes, and the edge census of the final graph around its largest ("core") module:
 * kept edges and mean coefficient C of the regularizer per class (core→core,
 * other→core, core→other, other→other).
 *
 * Variants (`--variants a,b,…`, default: all):
 *   none                  no graph regularizer
 *   l1:<λ>                nm.regularizers.offDiagonalL1({ l1: λ })
 *   rep:<α>               nm({ alpha: α, form: 'repulsion' })
 *   size:<α>              nm({ alpha: α, form: 'size' })
 *   excess:<α>[:<t>]      nm({ alpha: α, form: 'excess', targetSize: t })
 *   rep+sched:<α>         repulsion + nm.callbacks.nmAlphaSchedule() (balance-aware α)
 *   excess+sched:<α>      excess + nmAlphaSchedule()
 *   <any>~prox            the regularizer in proximal mode (`proximal: true`)
 *   <any>~batch           re-partition every batch (default: every epoch)
 *   <any>~hyst:<h>        mask hysteresis h (bench/structure/mask_policy.ts)
 *   <any>~floor:<θ>       drop kept edges below θ·median kept |W| (mask_policy.ts)
 *   <any>~warm:<e>        the first e of the epochs at density 1 without the regularizer
 *                         (a dense warm-up of the same model), whose weights then start
 *                         the layer at its density for the remaining epochs
 *   <any>~l1:<λ>          nm()'s uniform L1 term (`l1: λ`) on top of the form (rep,
 *                         size, excess)
 *   <any>~prune:<θ>:<f>   at epoch fraction f one re-partition with floor θ, then the
 *                         mask only shrinks (kept edges below the floor are dropped)
 *   <any>~decayk:<f>:<r>  Adam's rate decayed geometrically from epoch fraction f to r×
 *                         at the end, the proximal steps at the undecayed rate (constant
 *                         thresholds; planted.ts's `+decayk`)
 *   <any>~settle:<n>:<τ>[:<r>[:<l>]]  modulePartition({ decayWhenSettled }) (planted.ts's
 *                         `+settle`): the rate decays to r× from the settled epoch or fraction l
 *   nn                    baseline without a NeuralModule: Dense(p, tanh) hidden
 *                         layer, same split, optimizer, epochs and output layer
 *   <any>@<τ>             the same with a threshold mask on top of top-K: at every
 *                         re-partition off-diagonal |W| < τ is set to 0 (never kept)
 *
 * `--table-only` rewrites <out>/<tag>.md from the JSONL without training.
 * `--percolation` prints instead the largest SCC and the count of ≥ 2-node SCCs of
 * random directed graphs on p nodes at mean degree 0.5…4.95 (50…495 edges at p = 100), without training.
 *
 * Usage: npx tsx bench/structure/variants.ts [--seeds 5] [--epochs 30]
 *          [--variants none,l1:1e-3,rep:1e-3] [--out docs/results/structure]
 *          [--tag name] [--p 100] [--density 0.05] [--backend wasm] [--data <dir of digits.csv>, default ../shared/datasets]
 * Appends one JSON line per run to <out>/<tag>.jsonl and rewrites <out>/<tag>.md
 * (the table over all lines of that file, with the commit and command).
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { execSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as nm from 'tfjs-neural-modules';
import { loadDataset, makeSplit } from '../uci/data.js';
import { withSeededRandom } from '../uci/seeded_random.js';
import { stronglyConnectedComponents } from 'tfjs-neural-modules/internal';
import { parseVariant, ZeroBelow, type Reg, type Variant } from './variant.js';
import { TAUS, tableOf, type Run } from './variants_table.js';
import { withMaskPolicy } from './mask_policy.js';
import { percolationTable } from './percolation.js';
import { flag } from '../flags.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const argv = process.argv.slice(2);
const SEEDS = Number(flag('seeds', '5'));
const FIRST_SEED = Number(flag('first-seed', '1'));
const EPOCHS = Number(flag('epochs', '30'));
const P = Number(flag('p', '100'));
if (!Number.isInteger(P) || P < 2) throw new Error(`--p must be an integer ≥ 2; received ${flag('p', '100')}`);
const DENSITY = Number(flag('density', '0.05'));
if (!(DENSITY > 0 && DENSITY <= 1)) throw new Error(`--density must be in (0, 1]; received ${flag('density', '0.05')}`);
/** What a run records of the layer size and density: only values other than the defaults (100, 0.05). */
const SETTING: Pick<Run, 'p' | 'density'> = { ...(P !== 100 ? { p: P } : {}), ...(DENSITY !== 0.05 ? { density: DENSITY } : {}) };
const LR = 0.01;
const BATCH = 64;
const OUT = resolve(ROOT, flag('out', 'docs/results/structure'));
const TAG = flag('tag', 'variants');
const VARIANTS = flag('variants', 'none,l1:1e-3,rep:1e-3,rep:1e-2,excess:1e-3,rep+sched:1e-2').split(',');
const BACKEND = flag('backend', 'wasm');

// ---- reference: SCCs of random directed graphs (no training) ---------------------
if (argv.includes('--percolation')) {
  console.log(percolationTable(P));
  process.exit(0);
}

await tf.setBackend(BACKEND);
await tf.ready();
const DATA = flag('data', '');
const table = await loadDataset(DATA ? resolve(DATA) : resolve(ROOT, '../shared/datasets'), 'digits');

// ---- one run ---------------------------------------------------------------------
/** SCC sizes of the off-diagonal edges with |W| ≥ τ. */
function thresholdGraph(w: Float32Array, tau: number): { edges: number; largest: number; cyclicModules: number } {
  const rowPtr = new Int32Array(P + 1);
  const cols: number[] = [];
  for (let j = 0; j < P; j++) {
    for (let k = 0; k < P; k++) if (k !== j && Math.abs(w[j * P + k]) >= tau) cols.push(k);
    rowPtr[j + 1] = cols.length;
  }
  const { components } = stronglyConnectedComponents(P, rowPtr, Int32Array.from(cols));
  const sizes = components.map((c) => c.length);
  return { edges: cols.length, largest: Math.max(...sizes), cyclicModules: sizes.filter((z) => z >= 2).length };
}

/** Kept edges around the largest module: counts, mean |W| and mean coefficient C per class. */
function census(layer: nm.layers.NeuralModuleLayer, reg: Reg): Run['census'] {
  const s = layer.structure();
  const core = s.modules.reduce((b, m) => (m.length > b.length ? m : b), [] as number[]);
  const inCore = new Uint8Array(P);
  for (const v of core) inCore[v] = 1;
  const e = layer.edges();
  const w = layer.graphValues();
  const c = reg instanceof nm.regularizers.NMRegularizer ? reg.coefficients() : null;
  const acc = { coreCore: [0, 0, 0], otherCore: [0, 0, 0], coreOther: [0, 0, 0], otherOther: [0, 0, 0] };
  for (let j = 0; j < P; j++) {
    for (let q = e.rowPtr[j]; q < e.rowPtr[j + 1]; q++) {
      const k = e.colIdx[q];
      if (k === j) continue;
      const key = inCore[j] ? (inCore[k] ? 'coreCore' : 'coreOther') : inCore[k] ? 'otherCore' : 'otherOther';
      const a = acc[key];
      a[0]++;
      a[1] += c ? c[j * P + k] : 0;
      a[2] += Math.abs(w[j * P + k]);
    }
  }
  const out = {} as Run['census'];
  for (const [k, [n, sc, sw]] of Object.entries(acc)) {
    out[k as keyof Run['census']] = { edges: n, meanC: c && n ? sc / n : null, meanAbsW: n ? sw / n : 0 };
  }
  return out;
}

function medianKept(layer: nm.layers.NeuralModuleLayer): number {
  const e = layer.edges();
  const w = layer.graphValues();
  const a: number[] = [];
  for (let j = 0; j < P; j++) for (let q = e.rowPtr[j]; q < e.rowPtr[j + 1]; q++) if (e.colIdx[q] !== j) a.push(Math.abs(w[j * P + e.colIdx[q]]));
  a.sort((x, y) => x - y);
  return a[a.length >> 1] ?? 0;
}

/** The Dense(p, tanh) baseline: test error and loss only (no structure). */
async function runNN(v: Variant, seed: number): Promise<Run> {
  const split = makeSplit(table, seed);
  const k = split.numClasses;
  const x = tf.tensor2d(split.train.x, [split.train.numSamples, split.train.numFeatures]);
  const y = tf.oneHot(tf.tensor1d(split.train.y, 'int32'), k);
  const tx = tf.tensor2d(split.test.x, [split.test.numSamples, split.test.numFeatures]);
  const model = tf.sequential();
  model.add(
    tf.layers.dense({ inputShape: [split.numFeatures], units: P, activation: 'tanh', kernelInitializer: tf.initializers.glorotUniform({ seed: 1000 + seed }) }),
  );
  model.add(tf.layers.dense({ units: k, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 3000 + seed }) }));
  model.compile({ optimizer: tf.train.adam(LR), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const t0 = Date.now();
  const hist = await withSeededRandom(7000 + seed, () => model.fit(x, y, { epochs: EPOCHS, batchSize: BATCH, shuffle: true, verbose: 0 }));
  const seconds = (Date.now() - t0) / 1000;
  const probs = tf.tidy(() => (model.predict(tx) as tf.Tensor).dataSync());
  let ce = 0;
  let wrong = 0;
  split.test.y.forEach((label, i) => {
    let best = 0;
    for (let c = 1; c < k; c++) if (probs[i * k + c] > probs[i * k + best]) best = c;
    wrong += best === label ? 0 : 1;
    ce -= Math.log(Math.max(probs[i * k + label], 1e-12));
  });
  model.dispose();
  tf.dispose([x, y, tx]);
  const none = { edges: 0, meanC: null, meanAbsW: 0 };
  const n = split.test.numSamples;
  return {
    variant: v.name,
    ...SETTING,
    seed,
    epochs: EPOCHS,
    testError: wrong / n,
    testLoss: ce / n,
    modules: 0,
    largest: 0,
    balance: 0,
    cyclicModules: 0,
    secondLargest: 0,
    largestPerEpoch: [],
    finalLoss: Number(hist.history.loss[EPOCHS - 1]),
    census: { coreCore: none, otherCore: none, coreOther: none, otherOther: none },
    gamma: 0,
    medianKeptAbsW: 0,
    threshold: TAUS.map((tau) => ({ tau, edges: 0, largest: 0, cyclicModules: 0 })),
    seconds,
  };
}

/**
 * The `~warm:e` phase: the same model with the NeuralModule layer at density 1 and no
 * regularizer, trained e epochs (fit shuffling seeded apart from the main phase); its
 * weights (input kernel, graph, head) then start `model`, whose layer re-partitions to
 * its own density.
 */
async function denseWarmUp(
  model: tf.Sequential,
  epochs: number,
  everyBatch: boolean,
  x: tf.Tensor,
  y: tf.Tensor,
  n: number,
  k: number,
  seed: number,
): Promise<void> {
  const dense = tf.sequential();
  dense.add(
    nm.layers.neuralModule({
      inputShape: [n],
      units: P,
      density: 1,
      solver: { method: 'anderson', tol: 1e-4, maxIter: 50 },
      inputInitializer: tf.initializers.glorotUniform({ seed: 1000 + seed }),
      graphInitializer: { className: 'NMContractiveGraph', config: { gain: 0.5, density: 1, seed: 2000 + seed } },
    }),
  );
  dense.add(tf.layers.dense({ units: k, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 3000 + seed }) }));
  dense.compile({ optimizer: tf.train.adam(LR), loss: 'categoricalCrossentropy' });
  await withSeededRandom(6000 + seed, () =>
    dense.fit(x, y, {
      epochs,
      batchSize: BATCH,
      shuffle: true,
      verbose: 0,
      callbacks: [nm.callbacks.modulePartition({ every: everyBatch ? 'batch' : 'epoch' })],
    }),
  );
  const layer = model.layers[0] as nm.layers.NeuralModuleLayer;
  const [kernel, graph] = dense.layers[0].getWeights();
  layer.setWeights([kernel, graph, ...layer.getWeights().slice(2)]);
  layer.repartition();
  model.layers[1].setWeights(dense.layers[1].getWeights());
  dense.dispose();
}

async function run(v: Variant, seed: number): Promise<Run> {
  if (v.nn) return runNN(v, seed);
  const split = makeSplit(table, seed);
  const k = split.numClasses;
  const t = (d: nm.datasets.Table) => ({
    x: tf.tensor2d(d.x, [d.numSamples, d.numFeatures]),
    y: tf.oneHot(tf.tensor1d(d.y, 'int32'), k),
    labels: d.y,
  });
  const train = t(split.train);
  const test = t(split.test);
  const reg = v.reg();
  const layer = nm.layers.neuralModule({
    inputShape: [split.numFeatures],
    units: P,
    density: DENSITY,
    solver: { method: 'anderson', tol: 1e-4, maxIter: 50 },
    inputInitializer: tf.initializers.glorotUniform({ seed: 1000 + seed }),
    graphInitializer: { className: 'NMContractiveGraph', config: { gain: 0.5, density: DENSITY, seed: 2000 + seed } },
    graphRegularizer: reg,
    ...(v.tau != null ? { graphConstraint: new ZeroBelow(v.tau) } : {}),
  });
  const control = v.hysteresis || v.floor || v.prune ? withMaskPolicy(layer, P, { hysteresis: v.hysteresis ?? 0, floor: v.floor ?? 0, bound: 0.9 }) : null;
  const optimizer = tf.train.adam(LR);
  /** The current factor of `~decayk` (1 before the decay starts). */
  let lrFactor = 1;
  if (v.decayk) {
    // the proximal step at the undecayed rate: thresholds η₀·α·C and η₀·λ stay constant
    const ownStep = layer.proximalStep.bind(layer);
    layer.proximalStep = (lr: number) => ownStep(lr / lrFactor);
  }
  const pruner = {
    onEpochBegin: async (epoch: number) => {
      if (v.prune && control && epoch === Math.floor(v.prune[1] * EPOCHS)) {
        control.policy.floor = v.prune[0];
        layer.repartition();
        control.frozen = true;
      }
      if (v.decayk) {
        // the same schedule as planted.ts's +decay/+decayk, counted over the epochs after a warm-up
        const [from, to] = v.decayk;
        const epochs = EPOCHS - (v.warm ?? 0);
        const start = Math.floor(from * epochs);
        const t = epoch < start ? 0 : (epoch - start + 1) / Math.max(1, epochs - start);
        lrFactor = Math.pow(to, t);
        (optimizer as unknown as { learningRate: number }).learningRate = LR * lrFactor;
      }
    },
  };
  const model = tf.sequential();
  model.add(layer);
  model.add(tf.layers.dense({ units: k, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 3000 + seed }) }));
  model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const callbacks = [
    pruner,
    nm.callbacks.modulePartition({
      every: v.everyBatch ? 'batch' : 'epoch',
      ...(v.settle ? { decayWhenSettled: { patience: v.settle[0], agreement: v.settle[1], factor: v.settle[2], latest: v.settle[3] } } : {}),
    }),
    ...(v.schedule ? [nm.callbacks.nmAlphaSchedule()] : []),
  ];
  const t0 = Date.now();
  const warm = v.warm ?? 0;
  if (warm > 0) await denseWarmUp(model, warm, v.everyBatch ?? false, train.x, train.y, split.numFeatures, k, seed);
  const hist = await withSeededRandom(7000 + seed, () =>
    model.fit(train.x, train.y, { epochs: EPOCHS - warm, batchSize: BATCH, shuffle: true, verbose: 0, callbacks }),
  );
  const seconds = (Date.now() - t0) / 1000;
  const probs = tf.tidy(() => (model.predict(test.x) as tf.Tensor).dataSync());
  const pred = Int32Array.from(test.labels, (_, i) => {
    let best = 0;
    for (let c = 1; c < k; c++) if (probs[i * k + c] > probs[i * k + best]) best = c;
    return best;
  });
  let ce = 0;
  test.labels.forEach((y, i) => (ce -= Math.log(Math.max(probs[i * k + y], 1e-12))));
  let wrong = 0;
  pred.forEach((c, i) => (wrong += c === test.labels[i] ? 0 : 1));
  const s = layer.structure();
  const st = nm.analysis.moduleStats(s.moduleSizes);
  const sizes = Array.from(s.moduleSizes).sort((a, b) => b - a);
  const out: Run = {
    variant: v.name,
    ...SETTING,
    seed,
    epochs: EPOCHS,
    testError: wrong / pred.length,
    testLoss: ce / pred.length,
    modules: st.modules,
    largest: st.largest,
    balance: st.balance,
    cyclicModules: st.cyclicModules,
    secondLargest: sizes[1] ?? 0,
    largestPerEpoch: (hist.history.nm_largest as number[]).map(Number),
    finalLoss: Number(hist.history.loss[EPOCHS - warm - 1]),
    census: census(layer, reg),
    gamma: layer.edges().gamma,
    medianKeptAbsW: medianKept(layer),
    threshold: TAUS.map((tau) => ({ tau, ...thresholdGraph(layer.graphValues(), tau) })),
    seconds,
  };
  model.dispose();
  (reg as { dispose?: () => void } | null)?.dispose?.();
  for (const d of [train, test]) tf.dispose([d.x, d.y]);
  return out;
}

// ---- main ----------------------------------------------------------------------------
mkdirSync(OUT, { recursive: true });
const jsonl = join(OUT, `${TAG}.jsonl`);
const commit = execSync('git rev-parse --short HEAD', { cwd: ROOT }).toString().trim();
const dirty = execSync('git status --porcelain -- src bench/structure', { cwd: ROOT }).toString().trim() ? ' (+ uncommitted changes)' : '';
const command = `npx tsx bench/structure/variants.ts ${argv.join(' ')}`.trim();
console.log(`digits p=${P} ρ=${DENSITY} adam ${LR} batch ${BATCH} epochs ${EPOCHS} seeds ${FIRST_SEED}..${FIRST_SEED + SEEDS - 1}; commit ${commit}${dirty}`);
for (const spec of argv.includes('--table-only') ? [] : VARIANTS) {
  const v = parseVariant(spec);
  for (let seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) {
    const r = await run(v, seed);
    appendFileSync(jsonl, JSON.stringify({ ...r, commit: commit + dirty, command }) + '\n');
    console.log(
      `${spec.padEnd(16)} seed ${seed}: error ${r.testError.toFixed(4)}  modules ${r.modules}  largest ${r.largest}  ` +
        `balance ${r.balance.toFixed(2)}  ≥2: ${r.cyclicModules}  2nd ${r.secondLargest}  loss ${r.finalLoss.toFixed(4)}  (${r.seconds.toFixed(0)} s)`,
    );
  }
}
const all: Run[] = existsSync(jsonl)
  ? readFileSync(jsonl, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Run)
  : [];
const md =
  `# Structure-learning variants (${TAG})\n\n` +
  `digits, p = ${[...new Set(all.map((r) => r.p ?? 100))].join(', ')}, ρ = ${[...new Set(all.map((r) => r.density ?? 0.05))].join(', ')}, Adam ${LR}, batch ${BATCH}, ${[...new Set(all.map((r) => r.epochs))].join(', ')} epochs, modulePartition every epoch (every batch for ~batch variants), ` +
  `seeded 70/15/15 split (test error on the test part), wasm backend.\n\n` +
  `This file: written by \`${command}\` @ ${commit}${dirty}.\n\n` +
  `Runs (JSONL \`${TAG}.jsonl\`), by command @ commit: ${[...new Set(all.map((r) => `\`${(r as unknown as { command: string }).command}\` @ ${(r as unknown as { commit: string }).commit}`))].join('; ')}\n\n` +
  tableOf(all) +
  '\n';
writeFileSync(join(OUT, `${TAG}.md`), md);
console.log('\n' + tableOf(all));
