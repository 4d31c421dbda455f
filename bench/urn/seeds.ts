/**
 * The URN examples' two experiments (examples/urn-spheres.ts, examples/urn-digits.ts)
 * over several seeds: test error, the emergent structure (read on the training
 * inputs), and the prune check on the held-out test inputs, per seed and as
 * mean ± std, with the paper's claims counted as "held in k of n seeds".
 *
 * Run: npx tsx bench/urn/seeds.ts --seeds 5 --experiment both
 * Flags: --seeds N (default 5), --first-seed (default 1), --experiment spheres|digits|both (default both),
 *        --out DIR (default bench/results/urn), --tables TDIR (default docs/results/urn, or DIR when --out
 *        is given), --epochs-spheres (default 40), --epochs-digits (default 60),
 *        --report-only (rewrite TDIR/*.md from the existing DIR/*.jsonl without training).
 * Writes DIR/{spheres,digits}.jsonl (one line per seed and variant, appended as runs finish) and
 * TDIR/{spheres,digits}.md, with the command and `git rev-parse --short HEAD`. Results: docs/URN_RESULTS.md.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { execSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DIGITS_DEFAULTS, SPHERES_DEFAULTS, digitsData, disposeData, runDigits, runSpheres, spheresData, type UrnRun } from '../../examples/urn-experiments.js';

function flag(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}
const SEEDS = Number(flag('seeds', '5'));
const FIRST = Number(flag('first-seed', '1'));
const EXPERIMENT = flag('experiment', 'both');
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
// The raw rows (JSONL) stay with the benchmarks; the tables docs/URN_RESULTS.md links to are in docs/results.
const OUT = resolve(flag('out', resolve(ROOT, 'bench/results/urn')));
const TABLES = resolve(flag('tables', process.argv.includes('--out') ? OUT : resolve(ROOT, 'docs/results/urn')));
const REPORT_ONLY = process.argv.includes('--report-only');
const EPOCHS = { spheres: Number(flag('epochs-spheres', '40')), digits: Number(flag('epochs-digits', '60')) };
if (!['spheres', 'digits', 'both'].includes(EXPERIMENT)) throw new Error(`--experiment must be spheres, digits or both; received ${EXPERIMENT}`);
if (!(SEEDS >= 1)) throw new Error(`--seeds must be ≥ 1; received ${SEEDS}`);

const COMMAND = `npx tsx bench/urn/seeds.ts ${process.argv.slice(2).join(' ')}`.trim();
const sh = (c: string) => {
  try {
    return execSync(c, { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
};
const COMMIT = sh('git rev-parse --short HEAD') + (sh('git status --porcelain --untracked-files=no') ? ' (+ uncommitted changes)' : '');

/** One JSONL line. */
interface Row {
  experiment: 'spheres' | 'digits';
  variant: string;
  seed: number;
  epochs: number;
  settings: object;
  neurons: number;
  iterations: number;
  trainSeconds: number;
  testError: number;
  activeCount: number;
  layerWidths: number[];
  hiddenLayerWidths: number[];
  /** Non-empty hidden layers among layers 1 … I−1 (hidden neurons first active at I feed nothing the output reads). */
  hiddenLayers: number;
  multiIteration: number;
  weights: { forward: number; skip: number; backward: number; lateral: number; inactive: number; total: number };
  /** forward / (forward + backward + lateral) among active neurons, by emergent layer. */
  forwardFraction: number;
  geometric: { forward: number; backward: number; lateral: number; forwardFraction: number; meanLength: number; weightedMeanLength: number } | null;
  prune: {
    keptWeights: number;
    trainMaxDiff: number;
    trainThresholdMaxDiff: number;
    trainOutputScale: number;
    heldOutSamples: number;
    heldOutMaxLogitDiff: number;
    heldOutThresholdMaxLogitDiff: number;
    heldOutMaxProbDiff: number;
    heldOutOutputScale: number;
    prunedTestError: number;
    deltaTestError: number;
    flipped: number;
    /** The held-out check on the test inputs inside the training inputs' per-feature range (absent in rows written before it existed). */
    inRange?: { samples: number; maxLogitDiff: number; maxProbDiff: number; flipped: number };
  };
  commit: string;
  command: string;
}

function toRow(experiment: Row['experiment'], run: UrnRun, epochs: number, settings: object): Row {
  const s = run.structure;
  const h = s.prune.heldOut!;
  const w = s.weights;
  const among = w.forward + w.backward + w.lateral;
  const g = s.geometric;
  const gn = g ? g.forward + g.backward + g.lateral : 0;
  return {
    experiment,
    variant: run.tag,
    seed: run.seed,
    epochs,
    settings,
    neurons: s.neurons,
    iterations: s.iterations,
    trainSeconds: run.trainSeconds,
    testError: run.testError,
    activeCount: s.activeCount,
    layerWidths: s.layerWidths,
    hiddenLayerWidths: s.hiddenLayerWidths,
    hiddenLayers: s.hiddenLayerWidths.slice(0, s.iterations - 1).filter((v) => v > 0).length,
    multiIteration: s.multiIteration,
    weights: { ...w },
    forwardFraction: among > 0 ? w.forward / among : 0,
    geometric: g
      ? {
          forward: g.forward,
          backward: g.backward,
          lateral: g.lateral,
          forwardFraction: gn > 0 ? g.forward / gn : 0,
          meanLength: g.meanLength,
          weightedMeanLength: g.weightedMeanLength,
        }
      : null,
    prune: {
      keptWeights: s.prune.keptWeights,
      trainMaxDiff: s.prune.maxDiff,
      trainThresholdMaxDiff: s.prune.thresholdMaxDiff,
      trainOutputScale: s.prune.outputScale,
      heldOutSamples: h.numSamples,
      heldOutMaxLogitDiff: run.heldOut.maxLogitDiff,
      heldOutThresholdMaxLogitDiff: h.thresholdMaxDiff,
      heldOutMaxProbDiff: run.heldOut.maxProbDiff,
      heldOutOutputScale: run.heldOut.outputScale,
      prunedTestError: run.heldOut.prunedTestError,
      deltaTestError: run.heldOut.prunedTestError - run.testError,
      flipped: run.heldOut.flipped,
      inRange: run.heldOut.inRange,
    },
    commit: COMMIT,
    command: COMMAND,
  };
}

// ---------- the markdown report ----------

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const std = (v: number[]) => (v.length < 2 ? 0 : Math.sqrt(v.reduce((a, b) => a + (b - mean(v)) ** 2, 0) / (v.length - 1)));
const pm = (v: number[], digits: number, scale = 1) => `${(scale * mean(v)).toFixed(digits)} ± ${(scale * std(v)).toFixed(digits)}`;
const exp = (v: number) => v.toExponential(1);

/** A claim checked per seed (or per seed pair). */
interface Claim {
  text: string;
  holds: (rows: Row[]) => boolean;
  /** Rows it can be checked on (default: all). */
  applies?: (row: Row) => boolean;
}

/** The variant's rows of one seed, by variant name. */
type Seed = Record<string, Row>;

function claimsFor(experiment: Row['experiment']): { variant: string | null; claim: Claim }[] {
  const prune: Claim = {
    text: 'prune check on held-out test inputs: no test prediction changes (pruned test error = unpruned)',
    holds: ([r]) => r.prune.flipped === 0 && r.prune.deltaTestError === 0,
  };
  const pruneExact: Claim = {
    text: 'prune check on held-out test inputs: max \\|Δ logit\\| < 1e-3 × output scale ("no change in the output")',
    holds: ([r]) => r.prune.heldOutMaxLogitDiff < 1e-3 * r.prune.heldOutOutputScale,
  };
  const pruneInRange: Claim = {
    text: 'prune check on the held-out test inputs inside the training range: no prediction changes and max \\|Δ logit\\| < 1e-3 × output scale',
    holds: ([r]) => r.prune.inRange!.flipped === 0 && r.prune.inRange!.maxLogitDiff < 1e-3 * r.prune.trainOutputScale,
    applies: (r) => r.prune.inRange != null,
  };
  if (experiment === 'spheres') {
    const common = (v: string): { variant: string; claim: Claim }[] => [
      { variant: v, claim: { text: '100% test accuracy', holds: ([r]) => r.testError === 0 } },
      { variant: v, claim: { text: 'sparse: fewer than half of the S neurons active', holds: ([r]) => r.activeCount < r.neurons / 2 } },
      {
        variant: v,
        claim: { text: 'MLP-like: forward synapses (to a later emergent layer) outnumber backward + lateral ones', holds: ([r]) => r.forwardFraction > 0.5 },
      },
      { variant: v, claim: { text: 'pure layered reading: no neuron active at more than one iteration', holds: ([r]) => r.multiIteration === 0 } },
      { variant: v, claim: { text: 'skip synapses (forward by ≥ 2 emergent layers) present', holds: ([r]) => r.weights.skip > 0 } },
      { variant: v, claim: prune },
      { variant: v, claim: pruneExact },
      { variant: v, claim: pruneInRange },
    ];
    return [
      ...common('plain'),
      { variant: 'plain', claim: { text: 'eq. 3: an MLP with I − 1 = 3 hidden layers (Fig. 3)', holds: ([r]) => r.hiddenLayers === r.iterations - 1 } },
      ...common('residual-output'),
      { variant: 'residual-output', claim: { text: 'eq. 6: one hidden layer (Fig. 4)', holds: ([r]) => r.hiddenLayers === 1 } },
      {
        variant: null,
        claim: { text: 'eq. 6 gives fewer hidden layers than eq. 3 (same seed)', holds: ([p, r]) => r.hiddenLayers < p.hiddenLayers },
      },
    ];
  }
  const v = ['without-synaptic-length', 'with-synaptic-length'];
  return [
    ...v.flatMap((name) => [
      { variant: name, claim: prune },
      { variant: name, claim: pruneExact },
      { variant: name, claim: pruneInRange },
    ]),
    {
      variant: 'with-synaptic-length',
      claim: {
        text: 'with c_syn: feed-forward in z: most synapses go up in z (forward > backward + lateral)',
        holds: ([r]) => r.geometric!.forwardFraction > 0.5,
      },
    },
    {
      variant: null,
      claim: {
        text: 'with c_syn: a larger share of synapses go up in z than without (same seed)',
        holds: ([a, b]) => b.geometric!.forwardFraction > a.geometric!.forwardFraction,
      },
    },
    {
      variant: null,
      claim: {
        text: 'with c_syn: locally connected: shorter mean synapse length than without (same seed)',
        holds: ([a, b]) => b.geometric!.meanLength < a.geometric!.meanLength,
      },
    },
    {
      variant: null,
      claim: { text: 'with c_syn: lower test error than without (same seed; the paper: +10 points on CIFAR-10)', holds: ([a, b]) => b.testError < a.testError },
    },
    {
      variant: 'with-synaptic-length',
      claim: {
        text: 'with c_syn: the harder task uses every layer (hidden neurons in all of layers 1 … I − 1)',
        holds: ([r]) => r.hiddenLayers === r.iterations - 1,
      },
    },
  ];
}

function report(experiment: Row['experiment'], rows: Row[]): string {
  const variants = [...new Set(rows.map((r) => r.variant))];
  const seeds = [...new Set(rows.map((r) => r.seed))].sort((a, b) => a - b);
  const bySeed = new Map<number, Seed>();
  for (const r of rows) bySeed.set(r.seed, { ...(bySeed.get(r.seed) ?? {}), [r.variant]: r });
  const out: string[] = [];
  const commits = [...new Set(rows.map((r) => r.commit))];
  const commands = [...new Set(rows.map((r) => r.command))];
  out.push(`# URN ${experiment}: ${seeds.length} seeds`, '');
  out.push(`Commit: ${commits.join(', ')}. Command(s):`, '', '```', ...commands, '```', '');
  out.push(`Epochs: ${rows[0].epochs}; settings: \`${JSON.stringify(rows[0].settings)}\`.`, '');
  out.push(
    'Structure read on the training inputs; prune check on the held-out test inputs (the structure zeroes every synapse j→k',
    'without j active at some iteration l and k active at l + 1 on the training inputs, and the biases of never-active neurons).',
    '',
  );
  for (const v of variants) {
    const rs = rows.filter((r) => r.variant === v).sort((a, b) => a.seed - b.seed);
    const geo = rs[0].geometric != null;
    out.push(`## ${v} (${rs.length} seeds)`, '');
    const head = [
      'seed',
      'test error %',
      'active / S',
      'layer widths 0…I',
      'hidden layers (1…I−1)',
      'multi-iteration',
      'fwd / skip / bwd / lat',
      ...(geo ? ['z: fwd / bwd / lat', 'z-forward %', 'mean length'] : []),
      'kept synapses',
      'train max \\|Δ\\|',
      'test max \\|Δ logit\\|',
      'test max \\|Δ prob\\|',
      'flipped',
      'Δ test error (points)',
      'in training range: samples / max \\|Δ logit\\| / flipped',
      'train s',
    ];
    out.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`);
    for (const r of rs) {
      const g = r.geometric;
      out.push(
        `| ${[
          r.seed,
          (100 * r.testError).toFixed(2),
          `${r.activeCount} / ${r.neurons}`,
          `[${r.layerWidths.join(', ')}]`,
          `${r.hiddenLayers} ([${r.hiddenLayerWidths.join(', ')}])`,
          r.multiIteration,
          `${r.weights.forward} / ${r.weights.skip} / ${r.weights.backward} / ${r.weights.lateral}`,
          ...(g ? [`${g.forward} / ${g.backward} / ${g.lateral}`, (100 * g.forwardFraction).toFixed(1), g.meanLength.toFixed(2)] : []),
          r.prune.keptWeights,
          exp(r.prune.trainMaxDiff),
          `${exp(r.prune.heldOutMaxLogitDiff)} (scale ${r.prune.heldOutOutputScale.toFixed(1)})`,
          exp(r.prune.heldOutMaxProbDiff),
          `${r.prune.flipped} / ${r.prune.heldOutSamples}`,
          (100 * r.prune.deltaTestError).toFixed(2),
          r.prune.inRange ? `${r.prune.inRange.samples} / ${exp(r.prune.inRange.maxLogitDiff)} / ${r.prune.inRange.flipped}` : '–',
          r.trainSeconds.toFixed(0),
        ].join(' | ')} |`,
      );
    }
    const col = (f: (r: Row) => number) => rs.map(f);
    out.push(
      `| **mean ± std** | ${[
        pm(
          col((r) => r.testError),
          2,
          100,
        ),
        pm(
          col((r) => r.activeCount),
          1,
        ),
        `[${rs[0].layerWidths.map((_, l) => mean(col((r) => r.layerWidths[l])).toFixed(1)).join(', ')}]`,
        pm(
          col((r) => r.hiddenLayers),
          1,
        ),
        pm(
          col((r) => r.multiIteration),
          1,
        ),
        `${mean(col((r) => r.weights.forward)).toFixed(0)} / ${mean(col((r) => r.weights.skip)).toFixed(0)} / ${mean(col((r) => r.weights.backward)).toFixed(0)} / ${mean(col((r) => r.weights.lateral)).toFixed(0)}`,
        ...(geo
          ? [
              `${mean(col((r) => r.geometric!.forward)).toFixed(0)} / ${mean(col((r) => r.geometric!.backward)).toFixed(0)} / ${mean(col((r) => r.geometric!.lateral)).toFixed(0)}`,
              pm(
                col((r) => r.geometric!.forwardFraction),
                1,
                100,
              ),
              pm(
                col((r) => r.geometric!.meanLength),
                2,
              ),
            ]
          : []),
        pm(
          col((r) => r.prune.keptWeights),
          0,
        ),
        `max ${exp(Math.max(...col((r) => r.prune.trainMaxDiff)))}`,
        `max ${exp(Math.max(...col((r) => r.prune.heldOutMaxLogitDiff)))}`,
        `max ${exp(Math.max(...col((r) => r.prune.heldOutMaxProbDiff)))}`,
        `${mean(col((r) => r.prune.flipped)).toFixed(1)}`,
        pm(
          col((r) => r.prune.deltaTestError),
          2,
          100,
        ),
        rs.every((r) => r.prune.inRange) ? `max ${exp(Math.max(...col((r) => r.prune.inRange!.maxLogitDiff)))}` : '–',
        mean(col((r) => r.trainSeconds)).toFixed(0),
      ].join(' | ')} |`,
      '',
    );
  }
  out.push('## Claims, held in k of n seeds', '', '| variant | claim | k of n | seeds where it holds |', '|---|---|---|---|');
  const order = experiment === 'spheres' ? ['plain', 'residual-output'] : ['without-synaptic-length', 'with-synaptic-length'];
  for (const { variant, claim } of claimsFor(experiment)) {
    let k = 0;
    let n = 0;
    const held: number[] = [];
    for (const s of seeds) {
      const seed = bySeed.get(s)!;
      const args = variant ? [seed[variant]] : order.map((o) => seed[o]);
      if (args.some((a) => a == null)) continue;
      if (claim.applies && !args.every(claim.applies)) continue;
      n++;
      if (claim.holds(args)) {
        k++;
        held.push(s);
      }
    }
    if (n > 0) out.push(`| ${variant ?? order.join(' vs ')} | ${claim.text} | **${k} of ${n}** | ${held.join(', ') || '–'} |`);
  }
  out.push('');
  return out.join('\n');
}

// ---------- the runs ----------

await tf.setBackend('wasm');
mkdirSync(OUT, { recursive: true });
mkdirSync(TABLES, { recursive: true });
const experiments = (EXPERIMENT === 'both' ? ['spheres', 'digits'] : [EXPERIMENT]) as Row['experiment'][];
console.log(`URN seeds: ${experiments.join(' + ')}, seeds ${FIRST}…${FIRST + SEEDS - 1}, backend ${tf.getBackend()}, commit ${COMMIT}`);
for (const experiment of experiments) {
  const jsonl = `${OUT}/${experiment}.jsonl`;
  if (!REPORT_ONLY) writeFileSync(jsonl, '');
  const epochs = EPOCHS[experiment];
  const t0 = Date.now();
  for (let seed = FIRST; !REPORT_ONLY && seed < FIRST + SEEDS; seed++) {
    const data = experiment === 'spheres' ? spheresData(seed) : await digitsData(seed);
    const settings = experiment === 'spheres' ? SPHERES_DEFAULTS : DIGITS_DEFAULTS;
    const onRun = (run: UrnRun) => {
      const row = toRow(experiment, run, epochs, settings);
      appendFileSync(jsonl, JSON.stringify(row) + '\n');
      console.log(
        `[${experiment} seed ${seed} ${run.tag}] ${row.trainSeconds.toFixed(0)} s, test error ${(100 * row.testError).toFixed(2)}%, active ${row.activeCount}, ` +
          `layers [${row.layerWidths.join(', ')}], fwd/skip/bwd/lat ${row.weights.forward}/${row.weights.skip}/${row.weights.backward}/${row.weights.lateral}` +
          (row.geometric ? `, z-forward ${(100 * row.geometric.forwardFraction).toFixed(1)}%, mean length ${row.geometric.meanLength.toFixed(2)}` : '') +
          `; prune: train ${exp(row.prune.trainMaxDiff)}, test logit ${exp(row.prune.heldOutMaxLogitDiff)}, prob ${exp(row.prune.heldOutMaxProbDiff)}, ` +
          `flipped ${row.prune.flipped}, Δ error ${(100 * row.prune.deltaTestError).toFixed(2)} points`,
      );
    };
    if (experiment === 'spheres') await runSpheres(data, SPHERES_DEFAULTS, { seed, epochs, onRun });
    else await runDigits(data, DIGITS_DEFAULTS, { seed, epochs, onRun });
    disposeData(data);
  }
  const rows = readFileSync(jsonl, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Row);
  writeFileSync(`${TABLES}/${experiment}.md`, report(experiment, rows));
  console.log(`${experiment}: ${((Date.now() - t0) / 60000).toFixed(1)} min; wrote ${jsonl} and ${TABLES}/${experiment}.md`);
}
