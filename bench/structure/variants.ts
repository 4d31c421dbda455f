/**
 * Structure-learning variants on the UCI digits (docs/STRUCTURE.md): which graph
 * regularizer gives visible, balanced modules in a plain 30-epoch fit.
 *
 * Setup (fixed): NeuralModule p = 100, density ρ = 0.05 (top-K mask), Adam 0.01,
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
 *
 * Usage: npx tsx bench/structure/variants.ts [--seeds 5] [--epochs 30]
 *          [--variants none,l1:1e-3,rep:1e-3] [--out docs/results/structure]
 *          [--tag name] [--backend wasm] [--data <dir of digits.csv>, default ../shared/datasets]
 * Appends one JSON line per run to <out>/<tag>.jsonl and rewrites <out>/<tag>.md
 * (the table over all lines of that file, with the commit and command).
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { execSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as nm from '../../src/node.js';
import { loadDataset, makeSplit } from '../uci/data.js';
import { withSeededRandom } from '../uci/seeded_random.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const argv = process.argv.slice(2);
function flag(name: string, dflt: string): string {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = argv[i + 1];
  if (v == null) throw new Error(`--${name} needs a value`);
  return v;
}
const SEEDS = Number(flag('seeds', '5'));
const FIRST_SEED = Number(flag('first-seed', '1'));
const EPOCHS = Number(flag('epochs', '30'));
const P = 100;
const DENSITY = 0.05;
const LR = 0.01;
const BATCH = 64;
const OUT = resolve(ROOT, flag('out', 'docs/results/structure'));
const TAG = flag('tag', 'variants');
const VARIANTS = flag('variants', 'none,l1:1e-3,rep:1e-3,rep:1e-2,excess:1e-3,rep+sched:1e-2').split(',');
const BACKEND = flag('backend', 'wasm');

await tf.setBackend(BACKEND);
await tf.ready();
const DATA = flag('data', '');
const table = await loadDataset(DATA ? resolve(DATA) : resolve(ROOT, '../shared/datasets'), 'digits');

// ---- variants --------------------------------------------------------------------
type Reg = nm.regularizers.NMRegularizer | nm.regularizers.OffDiagonalL1 | null;
interface Variant {
  name: string;
  reg: () => Reg;
  schedule: boolean;
}

function parseVariant(spec: string): Variant {
  const [kind, a, t] = spec.split(':');
  const alpha = Number(a);
  const need = () => {
    if (!Number.isFinite(alpha)) throw new Error(`variant ${spec}: needs a number after ':'`);
  };
  switch (kind) {
    case 'none':
      return { name: spec, reg: () => null, schedule: false };
    case 'l1':
      need();
      return { name: spec, reg: () => nm.regularizers.offDiagonalL1({ l1: alpha }), schedule: false };
    case 'rep':
    case 'size':
    case 'rep+sched': {
      need();
      const form = kind === 'size' ? 'size' : 'repulsion';
      return { name: spec, reg: () => nm.regularizers.nm({ alpha, form }), schedule: kind === 'rep+sched' };
    }
    case 'excess':
    case 'excess+sched':
      need();
      return {
        name: spec,
        reg: () => nm.regularizers.nm({ alpha, form: 'excess', targetSize: t == null ? null : Number(t) }),
        schedule: kind === 'excess+sched',
      };
    default:
      throw new Error(`unknown variant ${spec}`);
  }
}

// ---- one run ---------------------------------------------------------------------
interface EdgeClass {
  edges: number;
  meanC: number | null;
  meanAbsW: number;
}

interface Run {
  variant: string;
  seed: number;
  epochs: number;
  testError: number;
  modules: number;
  largest: number;
  balance: number;
  cyclicModules: number;
  secondLargest: number;
  largestPerEpoch: number[];
  census: Record<'coreCore' | 'otherCore' | 'coreOther' | 'otherOther', EdgeClass>;
  seconds: number;
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

async function run(v: Variant, seed: number): Promise<Run> {
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
  });
  const model = tf.sequential();
  model.add(layer);
  model.add(tf.layers.dense({ units: k, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 3000 + seed }) }));
  model.compile({ optimizer: tf.train.adam(LR), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const callbacks = [nm.callbacks.modulePartition({ every: 'epoch' }), ...(v.schedule ? [nm.callbacks.nmAlphaSchedule()] : [])];
  const t0 = Date.now();
  const hist = await withSeededRandom(7000 + seed, () =>
    model.fit(train.x, train.y, { epochs: EPOCHS, batchSize: BATCH, shuffle: true, verbose: 0, callbacks }),
  );
  const seconds = (Date.now() - t0) / 1000;
  const pred = tf.tidy(() => tf.argMax(model.predict(test.x) as tf.Tensor, 1).dataSync());
  let wrong = 0;
  pred.forEach((c, i) => (wrong += c === test.labels[i] ? 0 : 1));
  const s = layer.structure();
  const st = nm.analysis.moduleStats(s.moduleSizes);
  const sizes = Array.from(s.moduleSizes).sort((a, b) => b - a);
  const out: Run = {
    variant: v.name,
    seed,
    epochs: EPOCHS,
    testError: wrong / pred.length,
    modules: st.modules,
    largest: st.largest,
    balance: st.balance,
    cyclicModules: st.cyclicModules,
    secondLargest: sizes[1] ?? 0,
    largestPerEpoch: (hist.history.nm_largest as number[]).map(Number),
    census: census(layer, reg),
    seconds,
  };
  model.dispose();
  (reg as { dispose?: () => void } | null)?.dispose?.();
  for (const d of [train, test]) tf.dispose([d.x, d.y]);
  return out;
}

// ---- table ---------------------------------------------------------------------------
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
const sd = (a: number[]) => (a.length > 1 ? Math.sqrt(a.reduce((s, v) => s + (v - mean(a)) ** 2, 0) / (a.length - 1)) : 0);
const cell = (a: number[], d: number) => `${mean(a).toFixed(d)} ± ${sd(a).toFixed(d)}`;

function tableOf(runs: Run[]): string {
  const names = [...new Set(runs.map((r) => r.variant))];
  const head =
    '| variant | seeds | test error | modules | largest | balance (largest/mean) | modules ≥ 2 | 2nd largest | acyclic | core in-edges C (other→core) | core out-edges C (core→other) | core-internal C | s/run |';
  const lines = [head, `|${'---|'.repeat(13)}`];
  for (const n of names) {
    const rs = runs.filter((r) => r.variant === n);
    const f = (g: (r: Run) => number) => rs.map(g);
    const cMean = (key: keyof Run['census']) => {
      const v = rs.map((r) => r.census[key].meanC).filter((x): x is number => x != null);
      return v.length ? mean(v).toExponential(1) : '–';
    };
    lines.push(
      `| ${n} | ${rs.length} | ${cell(f((r) => r.testError), 4)} | ${cell(f((r) => r.modules), 1)} | ${cell(f((r) => r.largest), 1)} | ` +
        `${cell(f((r) => r.balance), 2)} | ${cell(f((r) => r.cyclicModules), 1)} | ${cell(f((r) => r.secondLargest), 1)} | ` +
        `${rs.filter((r) => r.largest === 1).length}/${rs.length} | ${cMean('otherCore')} | ${cMean('coreOther')} | ${cMean('coreCore')} | ${mean(f((r) => r.seconds)).toFixed(0)} |`,
    );
  }
  lines.push('', 'Kept-edge census of the final graph (mean over seeds; core = the largest module):', '');
  lines.push('| variant | core→core | other→core | core→other | other→other |', '|---|---|---|---|---|');
  for (const n of names) {
    const rs = runs.filter((r) => r.variant === n);
    const c = (key: keyof Run['census']) => mean(rs.map((r) => r.census[key].edges)).toFixed(0);
    lines.push(`| ${n} | ${c('coreCore')} | ${c('otherCore')} | ${c('coreOther')} | ${c('otherOther')} |`);
  }
  return lines.join('\n');
}

// ---- main ----------------------------------------------------------------------------
mkdirSync(OUT, { recursive: true });
const jsonl = join(OUT, `${TAG}.jsonl`);
const commit = execSync('git rev-parse --short HEAD', { cwd: ROOT }).toString().trim();
const dirty = execSync('git status --porcelain -- src bench/structure', { cwd: ROOT }).toString().trim() ? ' (+ uncommitted changes)' : '';
const command = `npx tsx bench/structure/variants.ts ${argv.join(' ')}`.trim();
console.log(`digits p=${P} ρ=${DENSITY} adam ${LR} batch ${BATCH} epochs ${EPOCHS} seeds ${FIRST_SEED}..${FIRST_SEED + SEEDS - 1}; commit ${commit}${dirty}`);
for (const spec of VARIANTS) {
  const v = parseVariant(spec);
  for (let seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) {
    const r = await run(v, seed);
    appendFileSync(jsonl, JSON.stringify({ ...r, commit: commit + dirty, command }) + '\n');
    console.log(
      `${spec.padEnd(16)} seed ${seed}: error ${r.testError.toFixed(4)}  modules ${r.modules}  largest ${r.largest}  ` +
        `balance ${r.balance.toFixed(2)}  ≥2: ${r.cyclicModules}  2nd ${r.secondLargest}  (${r.seconds.toFixed(0)} s)`,
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
  `digits, p = ${P}, ρ = ${DENSITY}, Adam ${LR}, batch ${BATCH}, ${EPOCHS} epochs, modulePartition every epoch, ` +
  `seeded 70/15/15 split (test error on the test part), wasm backend.\n\n` +
  `Commands and commits: ${[...new Set(all.map((r) => `\`${(r as unknown as { command: string }).command}\` @ ${(r as unknown as { commit: string }).commit}`))].join('; ')}\n\n` +
  tableOf(all) +
  '\n';
writeFileSync(join(OUT, `${TAG}.md`), md);
console.log('\n' + tableOf(all));
