/**
 * Structure learning with NM regularization (neural-modules-v3 §3.5/§4.3,
 * neural-modules-v4 §3.5; shared/DESIGN.md §2).
 *
 * Trains a Neural Module layer (p = 100 nodes) on the UCI digits three ways with the
 * same budget (epochs, batch size, optimizer, initial weights, data split):
 *   none  — no graph regularization (NMs)
 *   L1    — off-diagonal L1 on the graph (NMs&L1)
 *   NM    — NM regularization with the recipe of docs/guide/structure-learning.md: the excess
 *           form (target module size ⌈√p⌉) with strengths scaled to the layer size,
 *           `nm.regularizers.nm({ alpha: 0.1·30/p, l1: 0.02·√(30/p), proximal: true })`
 *           (α = 0.03, λ = 0.011 at p = 100; applied as decoupled proximal steps) and
 *           `modulePartition({ every: 'batch', decayWhenSettled: true })` (the rate decays once
 *           the modules have settled); `--penalty` instead adds the penalty to the
 *           loss and re-partitions every epoch, as the papers do (NMs&NM)
 * and prints test error, module count, largest module, balance and kept edges; the
 * pictures (first vs last epoch, per epoch) go to out/structure-learning/.
 *
 * The kept density is the layer's `density` in all three regimes (the mask keeps the
 * K largest |W|), so the comparison is "which edges are kept", at equal kept edges.
 * L1 gets λ = 1e-2 by default. Fit shuffling uses
 * Math.random, so runs with the same seed differ slightly; the seed fixes the split and
 * the initial weights (identical across the three regimes).
 *
 * Usage: npm run example:structure -- [--seeds 1] [--epochs 30] [--alpha 0.1·30/p] [--nm-l1 0.02·√(30/p)] [--l1 1e-2]
 *        [--density min(0.05, 5/(p − 1))] [--form excess|repulsion|size] [--schedule] [--lr 0.01] [--batch 64]
 *        [--pictures-every 10] [--backend wasm] [--out out/structure-learning]
 *        [--penalty]
 * The recipe gave 5–9 multi-node modules and a largest module of 4–11 nodes in each of 10
 * seeds measured on the digits (docs/STRUCTURE.md, "A size rule for α and λ").
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { fileURLToPath } from 'node:url';
import * as nm from '../src/node.js';

// ---- command line ---------------------------------------------------------------
const argv = process.argv.slice(2);
function flag(name: string, dflt: number): number;
function flag(name: string, dflt: string): string;
function flag(name: string, dflt: number | string): number | string {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = argv[i + 1];
  if (v == null) throw new Error(`--${name} needs a value`);
  if (typeof dflt === 'number') {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`--${name} must be a number; received ${JSON.stringify(v)}`);
    return n;
  }
  return v;
}
const SEEDS = flag('seeds', 1);
const EPOCHS = flag('epochs', 30);
const P = flag('p', 100);
/** At most about 5 kept edges per node (the density rule, docs/STRUCTURE.md): 0.05 up to p = 100. */
const DENSITY = flag('density', Math.min(0.05, 5 / (P - 1)));
const L1 = flag('l1', 1e-2);
const ALPHA = flag('alpha', 0.1 * (30 / P));
/** The NM regularizer's uniform L1 term (its `l1` option). */
const NM_L1 = flag('nm-l1', 0.02 * Math.sqrt(30 / P));
const FORM = flag('form', 'excess') as 'excess' | 'repulsion' | 'size';
const LR = flag('lr', 0.01);
const BATCH = flag('batch', 64);
const OUT = flag('out', 'out/structure-learning');
const SCHEDULE = argv.includes('--schedule');
const BACKEND = flag('backend', 'wasm');
const PICTURES_EVERY = flag('pictures-every', 10);
const PENALTY = process.argv.includes('--penalty');

await tf.setBackend(BACKEND);
await tf.ready();

// ---- data -----------------------------------------------------------------------
const table = await nm.datasets.loadCsv(fileURLToPath(new URL('../data/digits.csv', import.meta.url)));

function split(seed: number) {
  const [trainIdx, testIdx] = nm.datasets.stratifiedSplit(table.y, [0.8, 0.2], seed);
  const train0 = nm.datasets.subset(table, trainIdx);
  const stats = nm.datasets.featureStats(train0);
  const train = nm.datasets.standardize(train0, stats);
  const test = nm.datasets.standardize(nm.datasets.subset(table, testIdx), stats);
  const k = table.classes.length;
  const tensors = (t: typeof train) => ({
    x: tf.tensor2d(t.x, [t.numSamples, t.numFeatures]),
    y: tf.oneHot(tf.tensor1d(t.y, 'int32'), k),
    labels: t.y,
  });
  return { train: tensors(train), test: tensors(test) };
}

// ---- one run --------------------------------------------------------------------
type Regime = 'none' | 'L1' | 'NM';
const REGIMES: Regime[] = ['none', 'L1', 'NM'];

interface Result {
  regime: Regime;
  seed: number;
  testError: number;
  modules: number;
  largest: number;
  balance: number;
  gini: number;
  cyclic: number;
  edges: number;
  seconds: number;
}

/** One compact progress line per epoch (module statistics read from the layer). */
class EpochLine extends tf.Callback {
  private t0 = Date.now();
  constructor(
    private readonly label: string,
    private readonly layer: nm.layers.NeuralModuleLayer,
  ) {
    super();
  }
  override async onEpochEnd(epoch: number, logs?: Record<string, unknown>): Promise<void> {
    const l = (k: string) => {
      const v = logs?.[k] as number | { dataSync(): ArrayLike<number> } | undefined;
      return v == null ? NaN : typeof v === 'number' ? v : v.dataSync()[0];
    };
    const st = nm.analysis.moduleStats(this.layer.structure().moduleSizes);
    const alpha = logs?.nm_alpha_largest != null ? ` α(largest) ${l('nm_alpha_largest').toExponential(1)}` : '';
    console.log(
      `${this.label} epoch ${String(epoch + 1).padStart(2)}/${EPOCHS}  loss ${l('loss').toFixed(3)}  acc ${l('acc').toFixed(3)}  ` +
        `modules ${st.modules}  largest ${st.largest}  balance ${st.balance.toFixed(2)}  gini ${st.gini.toFixed(3)}  ` +
        `iters ${l('nm_fwd_iters').toFixed(1)}/${l('nm_bwd_iters').toFixed(1)}${alpha}  (${((Date.now() - this.t0) / 1000).toFixed(0)}s)`,
    );
  }
}

async function run(regime: Regime, seed: number, data: ReturnType<typeof split>): Promise<Result> {
  const graphRegularizer =
    regime === 'L1'
      ? nm.regularizers.offDiagonalL1({ l1: L1 })
      : regime === 'NM'
        ? nm.regularizers.nm({ alpha: ALPHA, form: FORM, l1: NM_L1, proximal: !PENALTY })
        : null;
  const layer = nm.layers.neuralModule({
    inputShape: [table.numFeatures],
    units: P,
    density: DENSITY,
    solver: { method: 'anderson', tol: 1e-4, maxIter: 50 },
    inputInitializer: tf.initializers.glorotUniform({ seed: 1000 + seed }),
    graphInitializer: { className: 'NMContractiveGraph', config: { gain: 0.5, density: DENSITY, seed: 2000 + seed } },
    graphRegularizer,
  });
  const model = tf.sequential();
  model.add(layer);
  model.add(tf.layers.dense({ units: table.classes.length, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 3000 + seed }) }));
  model.compile({ optimizer: tf.train.adam(LR), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const label = `[seed ${seed} ${regime.padEnd(4)}]`;
  const callbacks: tf.CustomCallbackArgs[] | tf.Callback[] = [
    nm.callbacks.modulePartition(regime === 'NM' && !PENALTY ? { every: 'batch', decayWhenSettled: true } : { every: 'epoch' }),
    ...(regime === 'NM' && SCHEDULE ? [nm.callbacks.nmAlphaSchedule({ targetSize: Math.ceil(Math.sqrt(P)) })] : []),
    nm.callbacks.structureLogger({ dir: `${OUT}/seed${seed}/${regime}`, every: PICTURES_EVERY }),
    new EpochLine(label, layer),
  ];
  const t0 = Date.now();
  await model.fit(data.train.x, data.train.y, { epochs: EPOCHS, batchSize: BATCH, shuffle: true, verbose: 0, callbacks });
  const seconds = (Date.now() - t0) / 1000;
  const pred = tf.tidy(() => tf.argMax(model.predict(data.test.x) as tf.Tensor, 1).dataSync());
  let wrong = 0;
  pred.forEach((c, i) => (wrong += c === data.test.labels[i] ? 0 : 1));
  const s = layer.structure();
  const st = nm.analysis.moduleStats(s.moduleSizes);
  await writeFile(`${OUT}/seed${seed}/${regime}/final.svg`, nm.analysis.renderStructure(layer));
  model.dispose();
  (graphRegularizer as { dispose?: () => void } | null)?.dispose?.();
  return {
    regime,
    seed,
    testError: wrong / pred.length,
    modules: st.modules,
    largest: st.largest,
    balance: st.balance,
    gini: st.gini,
    cyclic: st.cyclicModules,
    edges: s.edges,
    seconds,
  };
}

async function writeFile(path: string, text: string): Promise<void> {
  const fs = await import('node:fs/promises');
  await fs.writeFile(path, text);
}

// ---- main -----------------------------------------------------------------------
console.log(
  `structure learning on digits: p=${P}, density=${DENSITY}, epochs=${EPOCHS}, batch=${BATCH}, adam lr=${LR}, ` +
    `L1 λ=${L1}, NM α=${ALPHA.toPrecision(3)} λ=${NM_L1.toPrecision(3)} (${FORM}${SCHEDULE ? ' + adaptive α' : ''}), seeds=${SEEDS}, backend=${tf.getBackend()}`,
);
const results: Result[] = [];
for (let seed = 1; seed <= SEEDS; seed++) {
  const data = split(seed);
  for (const regime of REGIMES) results.push(await run(regime, seed, data));
  for (const t of [data.train, data.test]) {
    t.x.dispose();
    t.y.dispose();
  }
}

const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
const sd = (a: number[]) => (a.length > 1 ? Math.sqrt(a.reduce((s, v) => s + (v - mean(a)) ** 2, 0) / (a.length - 1)) : 0);
const cell = (a: number[], digits: number) => (a.length > 1 ? `${mean(a).toFixed(digits)} ± ${sd(a).toFixed(digits)}` : mean(a).toFixed(digits));
const cols = ['regime', 'test error', 'modules', 'modules ≥2', 'largest', 'balance (largest/mean)', 'gini', 'kept edges', 'time (s)'];
const rows = REGIMES.map((r) => {
  const rs = results.filter((x) => x.regime === r);
  const f = (k: keyof Result) => rs.map((x) => x[k] as number);
  return [
    r,
    cell(f('testError'), 4),
    cell(f('modules'), 1),
    cell(f('cyclic'), 1),
    cell(f('largest'), 1),
    cell(f('balance'), 2),
    cell(f('gini'), 3),
    cell(f('edges'), 0),
    cell(f('seconds'), 0),
  ];
});
const widths = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i].length)));
const line = (r: string[]) => `| ${r.map((v, i) => v.padEnd(widths[i])).join(' | ')} |`;
console.log(`\nmean ± sd over ${SEEDS} seed(s):`);
console.log(line(cols));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
console.log('\nper seed:');
for (const r of results) {
  console.log(
    `  seed ${r.seed} ${r.regime.padEnd(4)} error ${r.testError.toFixed(4)}  modules ${r.modules} (${r.cyclic} with ≥2 nodes)  largest ${r.largest}  ` +
      `balance ${r.balance.toFixed(2)}  gini ${r.gini.toFixed(3)}  edges ${r.edges}  ${r.seconds.toFixed(0)}s`,
  );
}
console.log(`\npictures: ${OUT}/seed<k>/<regime>/ (<layer>_first_vs_last.{svg,png}, <layer>_epochNNN.{svg,png}, final.svg)`);
