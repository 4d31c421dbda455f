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
import { report, type Row } from './seeds_report.js';
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

const exp = (v: number) => v.toExponential(1);

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
