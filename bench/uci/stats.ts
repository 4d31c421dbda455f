/**
 * The statistics of the claims table (protocol v2): paired differences with their mean,
 * a 95 % confidence interval and a two-sided paired t-test, and Holm's step-down
 * correction across the table. Student's t distribution via the regularized
 * incomplete beta function (continued fraction, Numerical Recipes §6.4 in outline).
 */

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; |error| < 1e-13 over the range used here). */
export function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
    9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0];
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 500; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** The regularized incomplete beta function I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betaFraction(x, a, b)) / a : 1 - (front * betaFraction(1 - x, b, a)) / b;
}

/** P(|T| ≥ |t|) for Student's t with `df` degrees of freedom. */
export function tTwoSidedP(t: number, df: number): number {
  if (!Number.isFinite(t)) return Number.isNaN(t) ? NaN : 0;
  return incompleteBeta(df / (df + t * t), df / 2, 0.5);
}

/** The t quantile q with P(|T| ≤ q) = `level` (bisection on {@link tTwoSidedP}). */
export function tCritical(df: number, level = 0.95): number {
  let lo = 0;
  let hi = 1e3;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (tTwoSidedP(mid, df) > 1 - level) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Summary of paired differences d = a − b. */
export interface PairedTest {
  n: number;
  mean: number;
  /** 95 % confidence interval of the mean (t-based); NaN for n < 2. */
  ciLow: number;
  ciHigh: number;
  /** Two-sided paired t-test p-value of mean = 0 (every difference equal: the exact sign test; NaN for n < 2). */
  p: number;
  /** Differences < 0 / = 0 / > 0 (|d| ≤ 1e-12 counts as a tie). */
  negative: number;
  zero: number;
  positive: number;
}

export function pairedTest(d: number[], level = 0.95): PairedTest {
  const n = d.length;
  const eps = 1e-12;
  const counts = { negative: d.filter((v) => v < -eps).length, zero: d.filter((v) => Math.abs(v) <= eps).length, positive: d.filter((v) => v > eps).length };
  if (n < 2) return { n, mean: n ? d[0] : NaN, ciLow: NaN, ciHigh: NaN, p: NaN, ...counts };
  const mean = d.reduce((s, v) => s + v, 0) / n;
  const sd = Math.sqrt(d.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1));
  const se = sd / Math.sqrt(n);
  // Every difference equal: the t statistic is undefined; use the exact sign test (all n on one side).
  if (se === 0) return { n, mean, ciLow: mean, ciHigh: mean, p: mean === 0 ? 1 : Math.min(1, 2 * 0.5 ** n), ...counts };
  const q = tCritical(n - 1, level);
  return { n, mean, ciLow: mean - q * se, ciHigh: mean + q * se, p: tTwoSidedP(mean / se, n - 1), ...counts };
}

/** Holm's step-down adjusted p-values (same order as `ps`; NaN entries stay NaN and do not count). */
export function holm(ps: number[]): number[] {
  const idx = ps.map((p, i) => [p, i] as const).filter(([p]) => Number.isFinite(p));
  idx.sort((x, y) => x[0] - y[0]);
  const m = idx.length;
  const out = ps.map(() => NaN);
  let running = 0;
  idx.forEach(([p, i], k) => {
    running = Math.max(running, Math.min(1, (m - k) * p));
    out[i] = running;
  });
  return out;
}
