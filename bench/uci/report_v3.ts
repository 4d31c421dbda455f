/**
 * The sections protocol v3 adds to tables.md: the grids and their coverage, the claims
 * table with cluster-aware statistics (claims_v3.ts), non-convergence per method, and
 * the module structure as distributions over runs. Also the module summary table that
 * `--module-summary` prints for any protocol (the table at the top of docs/RESULTS.md).
 */
import type { RunResult } from './aggregate.js';
import { V3_GRID_SIZE, type BenchConfig, type MethodName } from './config.js';
import { V3_PRIMARY, v3Breakdown, v3ClaimRows, v3ClaimsTable } from './claims_v3.js';
import { describeV3Grids, v3Factors } from './grids_v3.js';
import { cellId, retimedRuns, retimeSpeedTable, retimeTable } from './retime.js';
import type { TrialRecord } from './store.js';

/** Methods whose layer has modules (a NeuralModule layer). */
const hasModules = (m: MethodName) => m !== 'NN' && m !== 'CFF' && m !== 'OPTNET';

/** Quantile q of sorted values (linear interpolation between order statistics). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  return sorted[lo] + (h - lo) * ((sorted[Math.min(lo + 1, sorted.length - 1)] ?? sorted[lo]) - sorted[lo]);
}

const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(1));
/** median [q1–q3] (min–max) of values. */
export function distribution(values: readonly number[]): string {
  const s = values.slice().sort((a, b) => a - b);
  if (s.length === 0) return '–';
  return `${fmt(quantile(s, 0.5))} [${fmt(quantile(s, 0.25))}–${fmt(quantile(s, 0.75))}] (${fmt(s[0])}–${fmt(s[s.length - 1])})`;
}

/** The issue's modules criterion for a run: at least 3 modules of two or more nodes, and none larger than 25 nodes. */
export const MODULES_GOAL = { minModules: 3, maxLargest: 25 } as const;

/**
 * Module structure as distributions over the selected runs, per method and p: the
 * largest module, the number of modules of two or more nodes, and the nodes in them
 * (median [quartiles] (min–max) over runs), the runs that meet {@link MODULES_GOAL}, and
 * the runs that ended acyclic.
 */
export function moduleDistributionTable(runs: readonly RunResult[], methods: readonly MethodName[], nodes: readonly number[]): string {
  const out = [
    `| method | p | runs | largest module | modules of ≥ 2 nodes | nodes in modules of ≥ 2 | ≥ ${MODULES_GOAL.minModules} modules of ≥ 2, largest ≤ ${MODULES_GOAL.maxLargest} | acyclic |`,
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const m of methods.filter(hasModules)) {
    for (const p of nodes) {
      const ms = runs.filter((r) => r.method === m && r.nodes === p && r.modules).map((r) => r.modules!);
      if (ms.length === 0) continue;
      const sized = ms.filter((x) => x.sizes);
      const multi = sized.map((x) => x.sizes!.filter((z) => z >= 2));
      const goal = multi.filter((z) => z.length >= MODULES_GOAL.minModules && Math.max(...z) <= MODULES_GOAL.maxLargest).length;
      out.push(
        `| ${m} | ${p} | ${ms.length} | ${distribution(ms.map((x) => x.largest))} | ${sized.length ? distribution(multi.map((z) => z.length)) : 'not recorded'} | ${
          sized.length ? distribution(multi.map((z) => z.reduce((a, b) => a + b, 0))) : 'not recorded'
        } | ${sized.length ? `${goal}/${sized.length}` : 'not recorded'} | ${ms.filter((x) => x.largest === 1).length}/${ms.length} |`,
      );
    }
  }
  return out.join('\n');
}

/**
 * The module summary (docs/RESULTS.md, near the top): per method with modules other than
 * DEQ (one module by construction) and DAG (acyclic by construction), and per p, the mean
 * largest module over the selected runs and the runs that ended acyclic.
 */
export function moduleSummaryTable(runs: readonly RunResult[], methods: readonly MethodName[], nodes: readonly number[]): string {
  const rows = methods.filter((m) => hasModules(m) && m !== 'DEQ' && m !== 'DAG');
  const head = nodes.flatMap((p) => [`largest module, p = ${p} (mean over runs)`, `acyclic, p = ${p}`]);
  const out = [`| method | ${head.join(' | ')} |`, `|---|${head.map(() => '---|').join('')}`];
  for (const m of rows) {
    const cells = nodes.flatMap((p) => {
      const ms = runs.filter((r) => r.method === m && r.nodes === p && r.modules).map((r) => r.modules!);
      if (ms.length === 0) return ['–', '–'];
      return [(ms.reduce((a, x) => a + x.largest, 0) / ms.length).toFixed(1), `${ms.filter((x) => x.largest === 1).length}/${ms.length}`];
    });
    out.push(`| ${m} | ${cells.join(' | ')} |`);
  }
  return out.join('\n');
}

/**
 * Non-convergence per method (and per `contractive` setting where the grid has it):
 * selected runs whose last forward solve (the test prediction) missed its tolerance,
 * trainings with at least one training batch whose forward or backward solve missed
 * it, and the share of such batches over all trainings.
 */
export function nonConvergenceTable(runs: readonly RunResult[], trials: readonly TrialRecord[], methods: readonly MethodName[]): string {
  const out = [
    '| method | graph constraint | selected runs: test solve not converged | trainings with a non-converged training solve | non-converged training batches (forward / backward) |',
    '|---|---|---|---|---|',
  ];
  const label = (c: boolean | undefined) => (c == null ? 'layer default' : c ? 'contractive' : 'none');
  for (const m of methods.filter(hasModules)) {
    const settings = Array.from(new Set(trials.filter((t) => t.method === m).map((t) => t.config.contractive)));
    for (const c of settings) {
      const rs = runs.filter((r) => r.method === m && r.config.contractive === c && r.solver);
      const ts = trials.filter((t) => t.method === m && t.config.contractive === c && t.solver);
      const counted = ts.filter((t) => t.solver!.trainBatches != null);
      const batches = counted.reduce((a, t) => a + t.solver!.trainBatches!, 0);
      const fwd = counted.reduce((a, t) => a + t.solver!.forwardNonConverged!, 0);
      const bwd = counted.reduce((a, t) => a + t.solver!.backwardNonConverged!, 0);
      const anyBad = counted.filter((t) => t.solver!.forwardNonConverged! + t.solver!.backwardNonConverged! > 0).length;
      const share = (k: number) => (batches ? `${((100 * k) / batches).toFixed(1)} %` : '–');
      out.push(
        `| ${m} | ${label(c)} | ${rs.filter((r) => !r.solver!.converged).length}/${rs.length} | ${counted.length ? `${anyBad}/${counted.length}` : 'not recorded'} | ${share(fwd)} / ${share(bwd)} |`,
      );
    }
  }
  return out.join('\n');
}

/** The grid sizes and the coverage B / grid size per method (v3). */
export function gridTable(cfg: BenchConfig): string {
  const b = Math.min(cfg.budget, V3_GRID_SIZE);
  return [
    '| method | factors (besides lr) | grid size | configurations per run | coverage |',
    '|---|---|---|---|---|',
    ...cfg.methods.map((m) => `| ${m} | ${v3Factors(m).join(', ') || '–'} | ${V3_GRID_SIZE} | ${b} | ${((100 * b) / V3_GRID_SIZE).toFixed(0)} % |`),
  ].join('\n');
}

/** What the speed rows rest on: the `--retime` reruns when any are stored, else the grid's own times. */
function speedSource(runs: readonly RunResult[], retimes: readonly TrialRecord[]): { speedRuns: readonly RunResult[]; text: string } {
  const speedRuns = retimedRuns(runs, retimes);
  if (speedRuns.length === 0)
    return {
      speedRuns: runs,
      text: "Speed rows: DEQ time per epoch ÷ the method's (geometric mean over clusters), from the grid's trials, which ran in different windows (no `--retime` reruns stored).",
    };
  const cells = new Set(speedRuns.map(cellId)).size;
  return {
    speedRuns,
    text:
      "Speed rows: DEQ time per epoch ÷ the method's (geometric mean over clusters), from the same-window reruns of `--retime` " +
      `(${speedRuns.length} runs in ${cells} (dataset, p, seed) cells; see the timing section below).`,
  };
}

/** The v3 sections of tables.md; `retimes`: the `--retime` reruns of the runs (bench/uci/retime.ts). */
export function v3Sections(cfg: BenchConfig, runs: readonly RunResult[], trials: readonly TrialRecord[], retimes: readonly TrialRecord[] = []): string {
  const speed = speedSource(runs, retimes);
  return [
    '',
    '## Protocol v3: tuning grids',
    '',
    describeV3Grids([])
      .map((l) => l.trim())
      .join('; '),
    '',
    gridTable(cfg),
    '',
    '## Protocol v3: claims (cluster-aware)',
    '',
    `Pre-stated primary comparisons (bench/uci/claims_v3.ts): ${V3_PRIMARY.map(([, a, b]) => `${a} vs ${b}`).join(', ')}, test error, every dataset and p. ` +
      'One cluster = one (dataset, seed) split: its pairs (the node counts) are averaged first. p (sign-flip) is a two-sided sign-flip permutation ' +
      'test over the cluster means (exact up to 20 clusters; * = Monte Carlo, 100 000 draws); Holm runs within each family; the CI is a ' +
      '10 000-draw cluster bootstrap. A verdict stands only if it survives the Wilcoxon signed-rank check and every leave-one-dataset-out test ' +
      `(p < 0.05, same sign). ${speed.text}`,
    '',
    v3ClaimsTable(v3ClaimRows(runs, speed.speedRuns)),
    '',
    '### Primary comparisons per node count and per dataset (descriptive)',
    '',
    v3Breakdown(runs),
    '',
    '## Protocol v3: non-convergence per method',
    '',
    nonConvergenceTable(runs, trials, cfg.methods),
    '',
    ...(retimes.length
      ? [
          '## Protocol v3: same-window timing (`--retime`)',
          '',
          "Each complete (dataset, p, seed) cell's selected trainings rerun back to back (bench/uci/retime.ts); the speed rows above use these times.",
          '',
          retimeTable(runs, trials, retimes, cfg.methods),
          '',
          "DEQ's time per epoch ÷ each method's in the reruns, per dataset and p (geometric mean over the retimed seeds; above 1: faster than DEQ):",
          '',
          retimeSpeedTable(speed.speedRuns, cfg.methods, cfg.datasets, cfg.nodes),
          '',
        ]
      : []),
    '## Protocol v3: module structure over runs (median [quartiles] (min–max) of the selected runs)',
    '',
    moduleDistributionTable(runs, cfg.methods, cfg.nodes),
    '',
  ].join('\n');
}
