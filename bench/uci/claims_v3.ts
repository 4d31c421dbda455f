/**
 * Protocol v3's claims table. The comparisons and the decision rule are stated here,
 * before any v3 run, and are not chosen after seeing results:
 *
 * - **Primary family** ({@link V3_PRIMARY}): every NM variant against NN on test error,
 *   over every dataset and node count both ran. Estimand: the mean over clusters
 *   (one cluster = one (dataset, seed) split) of the cluster's mean paired difference
 *   a − b (averaged over the node counts). Test: two-sided sign-flip permutation test
 *   over the cluster means (stats_cluster.ts); Holm's correction over the family.
 * - **Checks**, reported next to every row: the Wilcoxon signed-rank exact p over the
 *   same cluster means, and the sign-flip p with each dataset left out in turn (the
 *   largest one is shown). A verdict stands only if the Holm p < 0.05, the Wilcoxon p
 *   < 0.05 and every leave-one-dataset-out p < 0.05 with the same sign of the mean;
 *   otherwise the verdict says which check it does not survive.
 * - **Secondary family** ({@link V3_SECONDARY}, exploratory): the papers' other error
 *   claims, the recipe against the default, and the speed claims (ln of DEQ's time per
 *   epoch over the method's); the same statistics, Holm over this family only.
 */
import type { RunResult } from './aggregate.js';
import type { MethodName } from './config.js';
import { hashSeed } from './seeded_random.js';
import { ERROR_CLAIMS, SPEED_CLAIMS } from './claims.js';
import { holm } from './stats.js';
import { clusteredTest, type ClusteredDiff, type ClusteredTest } from './stats_cluster.js';

/** [claim, a, b]: "a has lower test error than b" (speed rows: "a is faster than b"). */
export type Comparison = [string, MethodName, MethodName];

/** The primary comparisons (pre-stated): each NM variant vs NN, test error, all datasets and node counts. */
export const V3_PRIMARY: readonly Comparison[] = [
  ['NMs beats NN', 'NMs', 'NN'],
  ['NMs&L1 beats NN', 'NMs&L1', 'NN'],
  ['NMs&NM beats NN', 'NMs&NM', 'NN'],
  ['NM-default beats NN', 'NM-default', 'NN'],
  ['NM-recipe beats NN', 'NM-recipe', 'NN'],
];

/**
 * The secondary, exploratory comparisons (test error): protocol v2's claims that do not
 * involve NN or the adaptive α (NMs&NM+sched is not in the v3 grid), then two new ones.
 */
export const V3_SECONDARY: readonly Comparison[] = [
  ...ERROR_CLAIMS.filter(([, a, b]) => b !== 'NN' && a !== 'NMs&NM+sched'),
  ['the recipe beats the default', 'NM-recipe', 'NM-default'],
  ['DEQ beats NN', 'DEQ', 'NN'],
];

/** The secondary speed comparisons: the method's time per epoch is lower than DEQ's (protocol v2's two, then the fixed methods). */
export const V3_SPEED: readonly Comparison[] = [
  ...SPEED_CLAIMS,
  ['NM-default faster than DEQ', 'NM-default', 'DEQ'],
  ['NM-recipe faster than DEQ', 'NM-recipe', 'DEQ'],
];

export interface V3ClaimRow {
  claim: string;
  a: MethodName;
  b: MethodName;
  family: 'primary' | 'secondary';
  kind: 'error' | 'speed';
  /** Error rows: statistics of a − b test error; speed rows: of ln(time_b / time_a). */
  test: ClusteredTest;
  /** Holm-adjusted sign-flip p within the family. */
  pHolm: number;
  /** The largest sign-flip p with one dataset left out, that dataset, and whether every left-out mean kept the sign. */
  lodo: { p: number; dataset: string | null; sameSign: boolean };
}

const runKey = (r: RunResult) => `${r.dataset}|${r.nodes}|${r.seed}`;

/** The clustered paired differences of a vs b (cluster = dataset|seed). */
export function clusteredDiffs(
  runs: readonly RunResult[],
  a: MethodName,
  b: MethodName,
  kind: 'error' | 'speed',
): (ClusteredDiff & { dataset: string; nodes: number })[] {
  const bs = new Map(runs.filter((r) => r.method === b).map((r) => [runKey(r), r]));
  const out: (ClusteredDiff & { dataset: string; nodes: number })[] = [];
  for (const x of runs) {
    const y = x.method === a ? bs.get(runKey(x)) : undefined;
    if (!y) continue;
    if (kind === 'speed' && !(x.secondsPerEpoch > 0 && y.secondsPerEpoch > 0)) continue;
    const d = kind === 'error' ? x.testError - y.testError : Math.log(y.secondsPerEpoch / x.secondsPerEpoch);
    out.push({ cluster: `${x.dataset}|${x.seed}`, dataset: x.dataset, nodes: x.nodes, d });
  }
  return out;
}

function rowsOf(runs: readonly RunResult[], comps: readonly Comparison[], family: V3ClaimRow['family'], kind: V3ClaimRow['kind']) {
  const rows: Omit<V3ClaimRow, 'pHolm'>[] = [];
  for (const [claim, a, b] of comps) {
    const diffs = clusteredDiffs(runs, a, b, kind);
    if (diffs.length === 0) continue;
    const seed = hashSeed(`v3-claim|${claim}`);
    const test = clusteredTest(diffs, seed);
    const datasets = Array.from(new Set(diffs.map((d) => d.dataset)));
    let lodo: V3ClaimRow['lodo'] = { p: NaN, dataset: null, sameSign: true };
    if (datasets.length > 1) {
      lodo = { p: -1, dataset: null, sameSign: true };
      for (const left of datasets) {
        const t = clusteredTest(
          diffs.filter((d) => d.dataset !== left),
          seed,
        );
        if (Math.sign(t.mean) !== Math.sign(test.mean)) lodo.sameSign = false;
        if (!(t.p <= lodo.p)) lodo = { ...lodo, p: t.p, dataset: left };
      }
    }
    rows.push({ claim, a, b, family, kind, test, lodo });
  }
  return rows;
}

/**
 * Every pre-stated comparison whose methods both ran, with Holm's correction within each family.
 * The speed rows compare the times per epoch of `speedRuns` (default `runs`; the report passes
 * the same-window reruns of `--retime` when there are any, bench/uci/retime.ts).
 */
export function v3ClaimRows(runs: readonly RunResult[], speedRuns: readonly RunResult[] = runs): V3ClaimRow[] {
  const adjust = (rows: Omit<V3ClaimRow, 'pHolm'>[]): V3ClaimRow[] => {
    const ps = holm(rows.map((r) => r.test.p));
    return rows.map((r, i) => ({ ...r, pHolm: ps[i] }));
  };
  return [
    ...adjust(rowsOf(runs, V3_PRIMARY, 'primary', 'error')),
    ...adjust([...rowsOf(runs, V3_SECONDARY, 'secondary', 'error'), ...rowsOf(speedRuns, V3_SPEED, 'secondary', 'speed')]),
  ];
}

const pv = (p: number) => (!Number.isFinite(p) ? '–' : p < 1e-4 ? p.toExponential(1) : p.toFixed(4));

/** The verdict of a row: the Holm p at 0.05, then the checks it must survive. */
export function v3Verdict(r: V3ClaimRow): string {
  if (!Number.isFinite(r.pHolm)) return 'too few clusters';
  if (r.pHolm >= 0.05) return 'not shown (Holm p ≥ 0.05)';
  const forClaim = r.kind === 'error' ? r.test.mean < 0 : r.test.mean > 0;
  const base = forClaim ? 'supported' : `refuted: ${r.b} ${r.kind === 'error' ? 'has lower error' : 'is faster'}`;
  const fails: string[] = [];
  if (!(r.test.pWilcoxon < 0.05)) fails.push(`Wilcoxon p = ${pv(r.test.pWilcoxon)}`);
  if (Number.isFinite(r.lodo.p) && !(r.lodo.p < 0.05)) fails.push(`without ${r.lodo.dataset} p = ${pv(r.lodo.p)}`);
  if (!r.lodo.sameSign) fails.push('the sign changes with a dataset left out');
  return fails.length ? `${base} by the primary test, but not robust (${fails.join('; ')})` : base;
}

const pts = (v: number) => `${v >= 0 ? '+' : ''}${(100 * v).toFixed(2)}`;
const ratio = (v: number) => `×${Math.exp(v).toFixed(2)}`;

/** The v3 claims table: clusters (pairs), mean a − b with its bootstrap CI, cluster wins, sign-flip p, Holm p, the checks, verdict. */
export function v3ClaimsTable(rows: readonly V3ClaimRow[]): string {
  const out = [
    '| family | claim | clusters (pairs) | mean a − b | 95 % CI (cluster bootstrap) | clusters a better / tie / worse | p (sign-flip) | p (Holm) | p (Wilcoxon) | largest p, one dataset left out | verdict |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const t = r.test;
    const f = r.kind === 'error' ? (v: number) => `${pts(v)} points` : ratio;
    const name = r.kind === 'error' ? `${r.claim} (${r.a} vs ${r.b})` : `${r.claim} (${r.b} time ÷ ${r.a} time)`;
    const wins = r.kind === 'error' ? `${t.negative} / ${t.zero} / ${t.positive}` : `${t.positive} / ${t.zero} / ${t.negative}`;
    const lodo = Number.isFinite(r.lodo.p) ? `${pv(r.lodo.p)} (without ${r.lodo.dataset})` : '–';
    out.push(
      `| ${r.family} | ${name} | ${t.clusters} (${t.pairs}) | ${f(t.mean)} | [${f(t.ciLow)}, ${f(t.ciHigh)}] | ${wins} | ${pv(t.p)}${t.exact ? '' : '*'} | ${pv(r.pHolm)} | ${pv(t.pWilcoxon)} | ${lodo} | ${v3Verdict(r)} |`,
    );
  }
  return out.join('\n');
}

/** Mean a − b per node count and per dataset for the primary comparisons (descriptive, no test). */
export function v3Breakdown(runs: readonly RunResult[]): string {
  const out = ['| comparison | scope | pairs | mean a − b, points | a better / tie / worse (pairs) |', '|---|---|---|---|---|'];
  for (const [, a, b] of V3_PRIMARY) {
    const diffs = clusteredDiffs(runs, a, b, 'error');
    if (diffs.length === 0) continue;
    const scopes: [string, typeof diffs][] = [
      ...Array.from(new Set(diffs.map((d) => d.nodes))).map((p) => [`p = ${p}`, diffs.filter((d) => d.nodes === p)] as [string, typeof diffs]),
      ...Array.from(new Set(diffs.map((d) => d.dataset))).map((s) => [s, diffs.filter((d) => d.dataset === s)] as [string, typeof diffs]),
    ];
    for (const [scope, ds] of scopes) {
      const m = ds.reduce((s, d) => s + d.d, 0) / ds.length;
      const eps = 1e-12;
      out.push(
        `| ${a} vs ${b} | ${scope} | ${ds.length} | ${pts(m)} | ${ds.filter((d) => d.d < -eps).length} / ${ds.filter((d) => Math.abs(d.d) <= eps).length} / ${ds.filter((d) => d.d > eps).length} |`,
      );
    }
  }
  return out.join('\n');
}
