/**
 * Protocol v3's cluster-aware statistics against known answers (hand-counted sign
 * patterns, Wilcoxon exact p-values from the tables / scipy.stats.wilcoxon), and the
 * v3 claims table's decision rule on constructed runs.
 */
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../bench/uci/aggregate.js';
import { clusteredDiffs, V3_PRIMARY, v3ClaimRows, v3Verdict } from '../bench/uci/claims_v3.js';
import type { MethodName } from '../bench/uci/config.js';
import { clusterBootstrapCI, clusteredTest, clusterMeans, signFlipTest, wilcoxonSignedRank } from '../bench/uci/stats_cluster.js';
import { Random } from '../src/utils/random.js';

describe('sign-flip permutation test', () => {
  it('exact: [1, 2, 3] has 8 sign patterns, |sum| ≥ 6 in 2 of them: p = 0.25', () => {
    expect(signFlipTest([1, 2, 3])).toEqual({ p: 0.25, exact: true });
    // All n values of one sign and equal: only the two constant patterns reach the observed |sum|.
    expect(signFlipTest([1, 1, 1, 1, 1]).p).toBe(2 / 32);
    // ±1 ± 2 ± 3 ± 4 = 10 − 2·S (S: the sum of the flipped values); observed 1 + 2 − 3 + 4 = 4: |10 − 2S| ≥ 4 for S ≤ 3 or S ≥ 7, 10 of 16 subsets.
    expect(signFlipTest([1, 2, -3, 4]).p).toBe(10 / 16);
    expect(signFlipTest([1, 1, -2]).p).toBe(1);
    expect(Number.isNaN(signFlipTest([]).p)).toBe(true);
  });

  it('counts float ties as ties: ±0.1 ± 0.2 ± 0.1 reaches |0.2| in 6 of 8 patterns, though 0.1 + 0.2 − 0.1 > 0.2 in floats', () => {
    expect(0.1 + 0.2 - 0.1).toBeGreaterThan(-0.1 + 0.2 + 0.1);
    expect(signFlipTest([0.1, 0.2, -0.1]).p).toBe(6 / 8);
  });

  it('Monte Carlo beyond 20 values: (1 + k) / (1 + draws), seeded, and close to the exact p where both apply', () => {
    const all = signFlipTest(Array<number>(25).fill(1), { draws: 2000, seed: 3 });
    expect(all.exact).toBe(false);
    expect(all.p).toBe(1 / 2001); // the exact p is 2 / 2^25: no draw reaches it
    const rng = new Random(5);
    const x = Array.from({ length: 24 }, () => rng.normal() + 0.4);
    const a = signFlipTest(x, { draws: 20_000, seed: 7 });
    expect(signFlipTest(x, { draws: 20_000, seed: 7 })).toEqual(a); // deterministic
    // Against the exact p of the first 20 values (Monte Carlo on them: within 4 standard errors).
    const exact = signFlipTest(x.slice(0, 20)).p;
    const mc = signFlipTest(x.slice(0, 20), { draws: 20_000, seed: 9, exactUpTo: 0 });
    expect(mc.exact).toBe(false);
    expect(Math.abs(mc.p - exact)).toBeLessThan(4 * Math.sqrt((exact * (1 - exact)) / 20_000) + 1e-4);
  });
});

describe('Wilcoxon signed-rank, exact', () => {
  it('n = 10: W+ = 8 → p = 50/1024, W+ = 9 → p = 66/1024 (the table: critical value 8 at 0.05 two-sided; scipy.stats.wilcoxon)', () => {
    const r8 = wilcoxonSignedRank([-1, -2, -3, -4, -5, -6, -7, 8, -9, -10]);
    expect(r8).toEqual({ n: 10, wPlus: 8, p: 0.048828125 });
    expect(wilcoxonSignedRank([-1, -2, -3, -4, -5, -6, -7, -8, 9, -10]).p).toBe(0.064453125);
  });

  it('n = 5 all positive: p = 2/32 = 0.0625 (n = 5 cannot reach 0.05); zeros are dropped', () => {
    expect(wilcoxonSignedRank([1, 2, 3, 4, 5]).p).toBe(0.0625);
    expect(wilcoxonSignedRank([0, 0, 1, 2, 3, 4, 5])).toEqual({ n: 5, wPlus: 15, p: 0.0625 });
    expect(Number.isNaN(wilcoxonSignedRank([0, 0]).p)).toBe(true);
  });

  it('scipy.stats.wilcoxon(x, method="exact") of 12 differences: W− = 10, p = 0.02099609375', () => {
    const x = [0.012, -0.004, 0.031, 0.008, -0.015, 0.022, 0.027, 0.005, -0.002, 0.019, 0.011, 0.035];
    const r = wilcoxonSignedRank(x);
    expect(r.wPlus).toBe(78 - 10);
    expect(r.p).toBeCloseTo(0.02099609375, 14);
  });

  it('ties get midranks: [1, 1, −1, 2] → ranks 2, 2, 2, 4, W+ = 8; hand count over the 16 subsets: p = 2·4/16 = 0.5', () => {
    expect(wilcoxonSignedRank([1, 1, -1, 2])).toEqual({ n: 4, wPlus: 8, p: 0.5 });
  });
});

describe('clusters and the bootstrap', () => {
  it('averages the pairs of a cluster first: clusters of unequal size weigh the same', () => {
    const diffs = [
      { cluster: 'a', d: 3 },
      { cluster: 'b', d: 0 },
      { cluster: 'b', d: 0 },
      { cluster: 'b', d: 0 },
    ];
    expect(clusterMeans(diffs)).toEqual([
      { cluster: 'a', mean: 3, n: 1 },
      { cluster: 'b', mean: 0, n: 3 },
    ]);
    const t = clusteredTest(diffs);
    expect(t).toMatchObject({ pairs: 4, clusters: 2, mean: 1.5, positive: 1, zero: 1, negative: 0 });
    // Two cluster means 3 and 0: sign patterns give |sum| 3 in all 4: p = 1.
    expect(t.p).toBe(1);
  });

  it('the percentile bootstrap of [0, 1] is [0, 1] (the resampled mean is 0, 0.5 or 1 with probabilities 1/4, 1/2, 1/4); constant data give a point', () => {
    expect(clusterBootstrapCI([0, 1], { seed: 2 })).toEqual([0, 1]);
    for (const v of clusterBootstrapCI([0.2, 0.2, 0.2])) expect(v).toBeCloseTo(0.2, 15);
    const rng = new Random(4);
    const x = Array.from({ length: 40 }, () => rng.normal());
    const [lo, hi] = clusterBootstrapCI(x, { seed: 1 });
    const m = x.reduce((a, b) => a + b, 0) / x.length;
    const se = Math.sqrt(x.reduce((a, b) => a + (b - m) ** 2, 0) / (x.length - 1) / x.length);
    // Close to mean ± 1.96 s.e. for normal data (within 25 % of the half-width).
    expect(Math.abs(hi - lo - 2 * 1.96 * se)).toBeLessThan(0.25 * 2 * 1.96 * se);
    expect(clusterBootstrapCI(x, { seed: 1 })).toEqual([lo, hi]);
  });
});

/** Runs of `a` and NN over datasets × seeds × node counts, with a − NN = effect(dataset, seed, p). */
function runsOf(a: MethodName, datasets: string[], seeds: number, effect: (d: string, s: number, p: number) => number): RunResult[] {
  const out: RunResult[] = [];
  for (const dataset of datasets) {
    for (let seed = 1; seed <= seeds; seed++) {
      for (const nodes of [40, 100]) {
        const base = { dataset, nodes, seed, secondsPerEpoch: 1 } as RunResult;
        out.push({ ...base, method: 'NN', testError: 0.1 });
        out.push({ ...base, method: a, testError: 0.1 + effect(dataset, seed, nodes) });
      }
    }
  }
  return out;
}

describe('the v3 claims table', () => {
  it('pairs of one (dataset, seed) are one cluster: 3 datasets × 8 seeds × 2 node counts = 24 clusters of 2 pairs', () => {
    const runs = runsOf('NMs', ['a', 'b', 'c'], 8, () => -0.01);
    const diffs = clusteredDiffs(runs, 'NMs', 'NN', 'error');
    expect(diffs).toHaveLength(48);
    const [row] = v3ClaimRows(runs);
    expect(row).toMatchObject({ claim: 'NMs beats NN', family: 'primary' });
    expect(row.test.clusters).toBe(24);
    expect(row.test.pairs).toBe(48);
    expect(row.test.mean).toBeCloseTo(-0.01, 12);
    expect(v3Verdict(row)).toBe('supported');
  });

  it('a difference carried by one dataset is significant overall but does not survive leaving that dataset out', () => {
    const rng = new Random(11);
    const runs = runsOf('NMs&NM', ['a', 'b', 'letter'], 8, (d) => (d === 'letter' ? -0.05 : 0.001 * rng.normal()));
    const [row] = v3ClaimRows(runs);
    expect(row.pHolm).toBeLessThan(0.05);
    expect(row.lodo.dataset).toBe('letter');
    expect(row.lodo.p).toBeGreaterThan(0.05);
    expect(v3Verdict(row)).toMatch(/^supported by the primary test, but not robust \(.*without letter p = /);
  });

  it('Holm runs over the primary family only; no difference is not shown', () => {
    // Cluster means ∓0.001·⌈s/2⌉ over seeds s = 1..10: they cancel in pairs.
    const runs = [
      ...runsOf('NMs', ['a', 'b'], 10, (_, s) => (s % 2 === 0 ? 1 : -1) * 0.001 * Math.ceil(s / 2)),
      ...runsOf('NMs&NM', ['a', 'b'], 10, () => 0.02).filter((r) => r.method !== 'NN'),
    ];
    const rows = v3ClaimRows(runs).filter((r) => r.family === 'primary');
    expect(rows.map((r) => r.a)).toEqual(['NMs', 'NMs&NM']);
    expect(v3Verdict(rows[0])).toBe('not shown (Holm p ≥ 0.05)');
    expect(v3Verdict(rows[1])).toBe('refuted: NN has lower error');
    // Two rows: Holm multiplies the smaller p by 2.
    const [small] = [rows[0].test.p, rows[1].test.p].sort((x, y) => x - y);
    expect(Math.min(rows[0].pHolm, rows[1].pHolm)).toBeCloseTo(Math.min(1, 2 * small), 12);
    expect(V3_PRIMARY.every(([, , b]) => b === 'NN')).toBe(true);
  });
});
