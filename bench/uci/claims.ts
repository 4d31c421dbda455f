/**
 * The papers' claims as paired comparisons over the runs: for two methods, every
 * (dataset, nodes, seed) where both ran gives one paired difference of test error
 * (same split, same tuning budget). Reported as wins / ties / losses of the first
 * method and the mean difference with its standard error; and the time per epoch
 * of DEQ over each NM method (geometric mean of the paired ratios).
 */
import type { RunResult } from './aggregate.js';
import type { MethodName } from './config.js';
import { holm, pairedTest, type PairedTest } from './stats.js';

export interface PairedComparison {
  a: MethodName;
  b: MethodName;
  pairs: number;
  /** Runs where a's test error is lower / equal / higher than b's. */
  wins: number;
  ties: number;
  losses: number;
  /** Mean of (a − b) test error, and its standard error. */
  meanDiff: number;
  stdErr: number;
}

const pairKey = (r: RunResult) => `${r.dataset}|${r.nodes}|${r.seed}`;

function pairs(runs: RunResult[], a: MethodName, b: MethodName): [RunResult, RunResult][] {
  const bs = new Map(runs.filter((r) => r.method === b).map((r) => [pairKey(r), r]));
  return runs.filter((r) => r.method === a && bs.has(pairKey(r))).map((r) => [r, bs.get(pairKey(r))!]);
}

export function compare(runs: RunResult[], a: MethodName, b: MethodName): PairedComparison {
  const ps = pairs(runs, a, b);
  const d = ps.map(([x, y]) => x.testError - y.testError);
  const n = d.length;
  const mean = n ? d.reduce((s, v) => s + v, 0) / n : NaN;
  const sd = n > 1 ? Math.sqrt(d.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1)) : NaN;
  const eps = 1e-12;
  return {
    a,
    b,
    pairs: n,
    wins: d.filter((v) => v < -eps).length,
    ties: d.filter((v) => Math.abs(v) <= eps).length,
    losses: d.filter((v) => v > eps).length,
    meanDiff: mean,
    stdErr: n > 1 ? sd / Math.sqrt(n) : NaN,
  };
}

/** Geometric mean over paired runs of DEQ's time per epoch divided by `m`'s. */
export function speedOverDeq(runs: RunResult[], m: MethodName): { pairs: number; ratio: number } {
  const ps = pairs(runs, 'DEQ', m).filter(([x, y]) => x.secondsPerEpoch > 0 && y.secondsPerEpoch > 0);
  const logs = ps.map(([deq, y]) => Math.log(deq.secondsPerEpoch / y.secondsPerEpoch));
  return { pairs: ps.length, ratio: logs.length ? Math.exp(logs.reduce((s, v) => s + v, 0) / logs.length) : NaN };
}

/** One row of the claims table: a paired comparison over every (dataset, nodes, seed) both methods ran. */
export interface ClaimRow {
  claim: string;
  a: MethodName;
  b: MethodName;
  /** Paired statistics of a − b in test error (fractions); for the speed claim, of ln(time_b / time_a). */
  test: PairedTest;
  /** Holm-adjusted p-value across the table. */
  pHolm: number;
  kind: 'error' | 'speed';
}

/** The papers' claims (neural-modules-v3 §4, v4 §4) as (a, b): "a has lower test error than b". */
export const ERROR_CLAIMS: [string, MethodName, MethodName][] = [
  ['NMs beats NN', 'NMs', 'NN'],
  ['NMs&NM beats NN', 'NMs&NM', 'NN'],
  ['NMs&NM+sched beats NN', 'NMs&NM+sched', 'NN'],
  ['NMs beats DEQ', 'NMs', 'DEQ'],
  ['NMs&NM beats DEQ', 'NMs&NM', 'DEQ'],
  ['NMs beats DAG', 'NMs', 'DAG'],
  ['NMs&NM beats DAG', 'NMs&NM', 'DAG'],
  ['NM regularization beats none', 'NMs&NM', 'NMs'],
  ['NM regularization beats L1', 'NMs&NM', 'NMs&L1'],
  ['adaptive α beats fixed α', 'NMs&NM+sched', 'NMs&NM'],
];

/** The speed claim: the NM layers take less time per epoch than DEQ. */
export const SPEED_CLAIMS: [string, MethodName, MethodName][] = [
  ['NMs faster than DEQ', 'NMs', 'DEQ'],
  ['NMs&NM faster than DEQ', 'NMs&NM', 'DEQ'],
];

/** Every claim both of whose methods ran, with paired statistics and Holm's correction across all rows. */
export function claimRows(runs: RunResult[]): ClaimRow[] {
  const rows: Omit<ClaimRow, 'pHolm'>[] = [];
  for (const [claim, a, b] of ERROR_CLAIMS) {
    const ps = pairs(runs, a, b);
    if (ps.length) rows.push({ claim, a, b, kind: 'error', test: pairedTest(ps.map(([x, y]) => x.testError - y.testError)) });
  }
  for (const [claim, a, b] of SPEED_CLAIMS) {
    const ps = pairs(runs, a, b).filter(([x, y]) => x.secondsPerEpoch > 0 && y.secondsPerEpoch > 0);
    if (ps.length) rows.push({ claim, a, b, kind: 'speed', test: pairedTest(ps.map(([x, y]) => Math.log(y.secondsPerEpoch / x.secondsPerEpoch))) });
  }
  const adjusted = holm(rows.map((r) => r.test.p));
  return rows.map((r, i) => ({ ...r, pHolm: adjusted[i] }));
}

const pv = (p: number) => (!Number.isFinite(p) ? '–' : p < 1e-4 ? p.toExponential(1) : p.toFixed(4));
const pts = (v: number) => `${v >= 0 ? '+' : ''}${(100 * v).toFixed(2)}`;

/** The verdict of a row at family-wise level 0.05 (Holm). */
export function verdict(r: ClaimRow): string {
  if (!Number.isFinite(r.pHolm)) return 'too few pairs';
  if (r.pHolm >= 0.05) return 'not shown (no significant difference)';
  const forClaim = r.kind === 'error' ? r.test.mean < 0 : r.test.mean > 0;
  return forClaim ? 'supported' : `refuted: ${r.b} ${r.kind === 'error' ? 'has lower error' : 'is faster'}`;
}

/** The claims table: pairs, mean difference with 95 % CI, wins/ties/losses, p, Holm p, verdict. */
export function claimsStatsTable(rows: ClaimRow[]): string {
  const out = ['| claim | pairs | mean a − b | 95 % CI | a better / tie / worse | p (paired t) | p (Holm) | verdict |', '|---|---|---|---|---|---|---|---|'];
  for (const r of rows) {
    const t = r.test;
    if (r.kind === 'error') {
      out.push(
        `| ${r.claim} (${r.a} vs ${r.b}) | ${t.n} | ${pts(t.mean)} points | [${pts(t.ciLow)}, ${pts(t.ciHigh)}] | ${t.negative} / ${t.zero} / ${t.positive} | ${pv(t.p)} | ${pv(r.pHolm)} | ${verdict(r)} |`,
      );
    } else {
      const x = (v: number) => `×${Math.exp(v).toFixed(2)}`;
      out.push(
        `| ${r.claim} (${r.b} time ÷ ${r.a} time, geometric mean) | ${t.n} | ${x(t.mean)} | [${x(t.ciLow)}, ${x(t.ciHigh)}] | ${t.positive} / ${t.zero} / ${t.negative} | ${pv(t.p)} | ${pv(r.pHolm)} | ${verdict(r)} |`,
      );
    }
  }
  return out.join('\n');
}

/** The comparisons the papers make, as a markdown table (over all datasets and per dataset). */
export function claimsTable(runs: RunResult[], methods: MethodName[], datasets: string[]): string {
  const want: [MethodName, MethodName][] = [
    ['NMs', 'NN'],
    ['NMs', 'DEQ'],
    ['NMs', 'DAG'],
    ['NMs&NM', 'NN'],
    ['NMs&NM', 'DEQ'],
    ['NMs&NM', 'DAG'],
    ['NMs&NM', 'NMs'],
    ['NMs&NM', 'NMs&L1'],
    ['NMs&L1', 'NMs'],
  ];
  const scopes: [string, RunResult[]][] = [['all', runs], ...datasets.map((d) => [d, runs.filter((r) => r.dataset === d)] as [string, RunResult[]])];
  const out = ['| comparison (a vs b) | scope | pairs | a better / tie / worse | mean test-error difference a − b ± s.e. |', '|---|---|---|---|---|'];
  for (const [a, b] of want) {
    if (!methods.includes(a) || !methods.includes(b)) continue;
    for (const [scope, rs] of scopes) {
      const c = compare(rs, a, b);
      if (c.pairs === 0) continue;
      const se = Number.isFinite(c.stdErr) ? ` ± ${c.stdErr.toFixed(4)}` : '';
      out.push(`| ${a} vs ${b} | ${scope} | ${c.pairs} | ${c.wins} / ${c.ties} / ${c.losses} | ${c.meanDiff >= 0 ? '+' : ''}${c.meanDiff.toFixed(4)}${se} |`);
    }
  }
  if (methods.includes('DEQ')) {
    out.push('', '| method | scope | pairs | DEQ time per epoch ÷ method time per epoch (geometric mean) |', '|---|---|---|---|');
    for (const m of methods.filter((x) => x !== 'DEQ')) {
      for (const [scope, rs] of scopes) {
        const s = speedOverDeq(rs, m);
        if (s.pairs) out.push(`| ${m} | ${scope} | ${s.pairs} | ×${s.ratio.toFixed(2)} |`);
      }
    }
  }
  return out.join('\n');
}
