/**
 * The papers' claims as paired comparisons over the runs: for two methods, every
 * (dataset, nodes, seed) where both ran gives one paired difference of test error
 * (same split, same tuning budget). Reported as wins / ties / losses of the first
 * method and the mean difference with its standard error; and the time per epoch
 * of DEQ over each NM method (geometric mean of the paired ratios).
 */
import type { RunResult } from './aggregate.js';
import type { MethodName } from './config.js';

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
