/**
 * Cluster-aware statistics of protocol v3's claims table. Pairs that share a split
 * (the node counts of one (dataset, seed)) are not independent: they are averaged into
 * one value per cluster, and the tests run over the cluster means.
 *
 * - {@link signFlipTest}: the primary test, a sign-flip permutation test of
 *   "mean = 0" over the cluster means (exact enumeration up to 20 clusters, else a
 *   seeded Monte Carlo with 100 000 draws and the (1 + k) / (1 + R) estimate).
 * - {@link clusterBootstrapCI}: a seeded percentile bootstrap of the mean over clusters.
 * - {@link wilcoxonSignedRank}: the signed-rank check, exact (the conditional
 *   distribution of W+ given the ranks, midranks for ties, zeros dropped).
 */
import { Random } from 'tfjs-neural-modules/internal';

/** One paired difference and the cluster (split) it belongs to. */
export interface ClusteredDiff {
  cluster: string;
  d: number;
}

/** The mean difference of each cluster, in order of first appearance. */
export function clusterMeans(diffs: readonly ClusteredDiff[]): { cluster: string; mean: number; n: number }[] {
  const acc = new Map<string, { sum: number; n: number }>();
  for (const { cluster, d } of diffs) {
    const a = acc.get(cluster) ?? { sum: 0, n: 0 };
    a.sum += d;
    a.n++;
    acc.set(cluster, a);
  }
  return Array.from(acc, ([cluster, a]) => ({ cluster, mean: a.sum / a.n, n: a.n }));
}

const mean = (x: readonly number[]) => x.reduce((s, v) => s + v, 0) / x.length;

/** Clusters up to which {@link signFlipTest} enumerates all 2^n sign patterns. */
export const EXACT_SIGN_FLIP_MAX = 20;

/**
 * Two-sided sign-flip permutation test of mean(x) = 0: the share of sign patterns s
 * with |mean(s·x)| ≥ |mean(x)| (a relative tolerance of 1e-9 counts float ties as
 * ties). Exact up to `exactUpTo` ({@link EXACT_SIGN_FLIP_MAX}) values; beyond, `draws` (100 000) random
 * patterns from a generator seeded by `seed`, p = (1 + k) / (1 + draws). NaN when x is empty.
 */
export function signFlipTest(x: readonly number[], opts: { draws?: number; seed?: number; exactUpTo?: number } = {}): { p: number; exact: boolean } {
  const n = x.length;
  if (n === 0) return { p: NaN, exact: true };
  const obs = Math.abs(x.reduce((s, v) => s + v, 0));
  const tol =
    1e-9 *
    Math.max(
      obs,
      x.reduce((s, v) => s + Math.abs(v), 0),
      1e-300,
    );
  if (n <= (opts.exactUpTo ?? EXACT_SIGN_FLIP_MAX)) {
    let hit = 0;
    const total = 2 ** n;
    for (let mask = 0; mask < total; mask++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += mask & (1 << i) ? -x[i] : x[i];
      if (Math.abs(s) >= obs - tol) hit++;
    }
    return { p: hit / total, exact: true };
  }
  const draws = opts.draws ?? 100_000;
  const rng = new Random(opts.seed ?? 1);
  let hit = 0;
  for (let r = 0; r < draws; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += rng.next() < 0.5 ? -x[i] : x[i];
    if (Math.abs(s) >= obs - tol) hit++;
  }
  return { p: (1 + hit) / (1 + draws), exact: false };
}

/** Percentile bootstrap confidence interval of mean(x), resampling the values (clusters) with replacement; seeded. */
export function clusterBootstrapCI(x: readonly number[], opts: { level?: number; reps?: number; seed?: number } = {}): [number, number] {
  const n = x.length;
  if (n === 0) return [NaN, NaN];
  const level = opts.level ?? 0.95;
  const reps = opts.reps ?? 10_000;
  const rng = new Random(opts.seed ?? 1);
  const means = new Float64Array(reps);
  for (let r = 0; r < reps; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[Math.floor(rng.next() * n)];
    means[r] = s / n;
  }
  means.sort();
  const q = (f: number) => means[Math.min(reps - 1, Math.max(0, Math.floor(f * reps)))];
  return [q((1 - level) / 2), q(1 - (1 - level) / 2)];
}

/** Result of {@link wilcoxonSignedRank}. */
export interface WilcoxonResult {
  /** Non-zero differences (zeros are dropped). */
  n: number;
  /** Sum of the (mid)ranks of the positive differences. */
  wPlus: number;
  /** Two-sided exact p-value: 2·min(P(W+ ≤ w), P(W+ ≥ w)), at most 1; NaN when n = 0. */
  p: number;
}

/**
 * Wilcoxon's signed-rank test of a zero median, exact: ranks of |x| (midranks for
 * ties), zeros (|x| ≤ `eps`) dropped; the null distribution of W+ is that of the sum
 * of a random subset of the ranks, counted by dynamic programming over doubled ranks
 * (integers even with midranks).
 */
export function wilcoxonSignedRank(x: readonly number[], eps = 1e-12): WilcoxonResult {
  const v = x.filter((d) => Math.abs(d) > eps);
  const n = v.length;
  if (n === 0) return { n: 0, wPlus: 0, p: NaN };
  const order = v.map((d, i) => [Math.abs(d), i] as const).sort((a, b) => a[0] - b[0]);
  const rank2 = new Array<number>(n); // twice the midrank: an integer
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && Math.abs(order[j + 1][0] - order[i][0]) <= eps * Math.max(1, order[i][0])) j++;
    for (let k = i; k <= j; k++) rank2[order[k][1]] = i + 1 + j + 1; // 2 · (i+1 + j+1)/2
    i = j + 1;
  }
  const total2 = rank2.reduce((s, r) => s + r, 0);
  // counts[s] = number of subsets of the ranks whose doubled sum is s (as float64: exact up to 2^53).
  let counts = new Float64Array(total2 + 1);
  counts[0] = 1;
  for (const r of rank2) {
    const next = counts.slice();
    for (let s = r; s <= total2; s++) next[s] += counts[s - r];
    counts = next;
  }
  const w2 = v.reduce((s, d, i) => s + (d > 0 ? rank2[i] : 0), 0);
  const all = 2 ** n;
  let lo = 0;
  let hi = 0;
  for (let s = 0; s <= total2; s++) {
    if (s <= w2) lo += counts[s];
    if (s >= w2) hi += counts[s];
  }
  return { n, wPlus: w2 / 2, p: Math.min(1, (2 * Math.min(lo, hi)) / all) };
}

/** Summary of a clustered paired comparison (see {@link clusteredTest}). */
export interface ClusteredTest {
  /** Pairs and clusters. */
  pairs: number;
  clusters: number;
  /** Mean over clusters of the cluster means. */
  mean: number;
  /** 95 % cluster-bootstrap percentile interval of {@link mean}. */
  ciLow: number;
  ciHigh: number;
  /** Sign-flip permutation p (two-sided) over the cluster means, and whether it was exact. */
  p: number;
  exact: boolean;
  /** Wilcoxon signed-rank exact p over the cluster means (the check). */
  pWilcoxon: number;
  /** Clusters whose mean is < 0 / = 0 / > 0. */
  negative: number;
  zero: number;
  positive: number;
}

/** The primary statistics of one comparison: cluster means, bootstrap CI, sign-flip p, Wilcoxon check. Seeded: deterministic. */
export function clusteredTest(diffs: readonly ClusteredDiff[], seed = 1): ClusteredTest {
  const cm = clusterMeans(diffs).map((c) => c.mean);
  const eps = 1e-12;
  const counts = { negative: cm.filter((v) => v < -eps).length, zero: cm.filter((v) => Math.abs(v) <= eps).length, positive: cm.filter((v) => v > eps).length };
  if (cm.length === 0) return { pairs: 0, clusters: 0, mean: NaN, ciLow: NaN, ciHigh: NaN, p: NaN, exact: true, pWilcoxon: NaN, ...counts };
  const [ciLow, ciHigh] = clusterBootstrapCI(cm, { seed });
  const flip = signFlipTest(cm, { seed });
  return {
    pairs: diffs.length,
    clusters: cm.length,
    mean: mean(cm),
    ciLow,
    ciHigh,
    p: flip.p,
    exact: flip.exact,
    pWilcoxon: wilcoxonSignedRank(cm).p,
    ...counts,
  };
}
