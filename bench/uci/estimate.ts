/**
 * Estimates the wall time of a benchmark grid from trials already measured (in --out
 * and the --timing-from stores, any protocol):
 * - cost of one epoch per training sample (the trial's time ÷ epochs ÷ training rows: it
 *   includes the validation pass and the final evaluation; each epoch counted at the
 *   median epoch's time, {@link trialSeconds}, so pauses do not count) as a power law in the
 *   node count p, fitted per method by log-log least squares with one intercept per
 *   dataset (it carries the feature count), the exponent from the variation within datasets
 *   (when no dataset was measured at two p: the mean measured exponent of the Neural Module
 *   methods, else 2, or 1 for NN); on a dataset the method was not
 *   measured on, its mean intercept shifted by that dataset's offset in the other methods' fits;
 * - epochs per training: the mean over the method's trials that ran to early stopping
 *   with an epoch cap of at least 100 (per dataset where measured), at most the new cap;
 *   a method without such trials takes the mean of every method that has them (a proxy,
 *   listed in the output); with no such trial at all, the measured fraction of the cap;
 * - DEQ's trials on the engine of --deq-engine only, when there are any (the engines differ
 *   about 2× at ρ = 1);
 * - times the training rows of each dataset (70 % of its rows, or --max-train), the
 *   budget and the seeds; divided by --workers for the wall time (ideal parallelism).
 * A rough guide: it inherits the machine load of the measured trials.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchConfig, MethodName } from './config.js';
import { customTrainRows } from './custom_data.js';
import { SPLIT_FRACTIONS } from './data.js';
import type { TrialRecord } from './store.js';

export interface GridEstimate {
  /** Estimated worker-seconds of the whole grid (the sum of the trials' wall times). */
  seconds: number;
  /** Estimated wall seconds with --workers processes. */
  wallSeconds: number;
  /** Trainings in the grid. */
  trainings: number;
  perDataset: Record<string, number>;
  perMethod: Partial<Record<MethodName, number>>;
  /** Per node count, worker-seconds. */
  perNodes: Record<string, number>;
  /** Seconds of one training, by `dataset|method|nodes` (what the progress line's ETA uses for trials not measured yet). */
  perTraining: Map<string, number>;
  /** Methods without any measured trial (left out of the estimate). */
  unmeasured: MethodName[];
  /** Methods whose epochs per training come from the other methods' mean (no trial that ran to early stopping). */
  epochProxy: MethodName[];
  /** Methods timed at one p per dataset, whose exponent of p is the mean of the NM methods' measured ones. */
  borrowedExponent: MethodName[];
}

interface Fit {
  /** Exponent of p. */
  b: number;
  /** Intercept of ln(seconds per epoch per sample) at ln p = 0: overall and per dataset. */
  a: number;
  aByDataset: Map<string, number>;
  /** Whether the exponent was measured (some dataset at two or more p) rather than borrowed. */
  ownExponent: boolean;
}

const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;

/**
 * The time a trial would take undisturbed: its wall time with every epoch counted at the
 * median epoch's time (a pause of the grid, or the machine freezing the process, stretches
 * the epochs in flight, not the median); the set-up and the final evaluation as measured.
 * Trials that stored no epoch times count at their wall time.
 */
export function trialSeconds(t: Pick<TrialRecord, 'wallSeconds' | 'epochs' | 'secondsPerEpoch' | 'epochSeconds'>): number {
  const es = t.epochSeconds;
  if (!Array.isArray(es) || es.length === 0 || !(t.secondsPerEpoch > 0)) return t.wallSeconds;
  const overhead = Math.max(0, t.wallSeconds - es.reduce((a, b) => a + b, 0));
  return overhead + es.length * t.secondsPerEpoch;
}

function fitMethod(method: MethodName, trials: TrialRecord[], borrowed?: number): Fit | null {
  const ts = trials.filter((t) => t.method === method && t.epochs > 0 && t.samples.train > 0 && t.wallSeconds > 0);
  if (ts.length === 0) return null;
  const pts = ts.map((t) => ({ d: t.dataset, x: Math.log(t.nodes), y: Math.log(trialSeconds(t) / (t.epochs * t.samples.train)) }));
  const datasets = Array.from(new Set(pts.map((p) => p.d)));
  // The exponent from the variation within each dataset (dataset fixed effects), so a method timed on one dataset at one p and
  // on another at another p does not take the datasets' difference for a p effect.
  let sxy = 0;
  let sxx = 0;
  for (const d of datasets) {
    const g = pts.filter((p) => p.d === d);
    const mx = mean(g.map((p) => p.x));
    const my = mean(g.map((p) => p.y));
    for (const p of g) {
      sxy += (p.x - mx) * (p.y - my);
      sxx += (p.x - mx) ** 2;
    }
  }
  const b = sxx > 1e-9 ? sxy / sxx : (borrowed ?? (method === 'NN' ? 1 : 2));
  const aByDataset = new Map<string, number>();
  for (const d of datasets) aByDataset.set(d, mean(pts.filter((p) => p.d === d).map((p) => p.y - b * p.x)));
  return { b, a: mean(Array.from(aByDataset.values())), aByDataset, ownExponent: sxx > 1e-9 };
}

/**
 * The intercept of `fit` on dataset `d`: measured, or the method's mean intercept shifted by the dataset's mean offset in the
 * other methods' fits (its per-sample cost relative to the datasets this method was measured on).
 */
function interceptOn(fit: Fit, d: string, all: Fit[]): number {
  const measured = fit.aByDataset.get(d);
  if (measured != null) return measured;
  const offset = (f: Fit, x: string) => f.aByDataset.get(x)! - f.a;
  const others = all.filter((f) => f !== fit);
  if (!others.some((f) => f.aByDataset.has(d))) return fit.a;
  const mine = Array.from(fit.aByDataset.keys());
  // A dataset offset from the methods measured on it (the method itself aside); 0 when none was.
  const shift = (x: string) => {
    const on = others.filter((f) => f.aByDataset.has(x));
    return on.length ? mean(on.map((f) => offset(f, x))) : 0;
  };
  return fit.a - mean(mine.map(shift)) + shift(d);
}

/** Mean epochs of the trials that ran to early stopping under a cap of at least 100, per dataset (key '') = all datasets. */
function epochsOf(trials: TrialRecord[]): Map<string, number> {
  const ts = trials.filter((t) => t.settings.epochs >= 100 && t.epochs > 0 && t.error == null);
  const out = new Map<string, number>();
  if (ts.length === 0) return out;
  out.set('', mean(ts.map((t) => t.epochs)));
  for (const d of new Set(ts.map((t) => t.dataset))) out.set(d, mean(ts.filter((t) => t.dataset === d).map((t) => t.epochs)));
  return out;
}

/** Rows of a dataset CSV (without the header). */
function rowCount(dir: string, name: string): number {
  const text = readFileSync(join(dir, `${name}.csv`), 'utf8');
  return text.split('\n').filter((l) => l.trim().length > 0).length - 1;
}

export function estimateGrid(cfg: BenchConfig, measured: TrialRecord[]): GridEstimate {
  // DEQ's cost depends on its engine (--deq-engine): timed from trials on the same engine when there are any.
  const onEngine = (t: TrialRecord) => t.method !== 'DEQ' || (t.settings.deqEngine === 'host') === (cfg.deqEngine === 'host');
  const trials = measured.some((t) => t.method === 'DEQ' && onEngine(t)) ? measured.filter(onEngine) : measured;
  const est: GridEstimate = {
    seconds: 0,
    wallSeconds: 0,
    trainings: 0,
    perDataset: {},
    perMethod: {},
    perNodes: {},
    perTraining: new Map(),
    unmeasured: [],
    epochProxy: [],
    borrowedExponent: [],
  };
  const everyEpochs = epochsOf(trials);
  const fits = new Map<MethodName, Fit>();
  const methods = new Set([...cfg.methods, ...trials.map((t) => t.method)]);
  for (const m of methods) {
    const f = fitMethod(m, trials);
    if (f) fits.set(m, f);
  }
  // A method timed at one p per dataset takes the mean measured exponent of the Neural Module methods (NN and DEQ aside).
  const nmExponents = Array.from(fits).filter(([m, f]) => f.ownExponent && m !== 'NN' && m !== 'DEQ' && m !== 'CFF' && m !== 'OPTNET');
  const borrowed = nmExponents.length ? mean(nmExponents.map(([, f]) => f.b)) : undefined;
  for (const [m, f] of fits) {
    if (f.ownExponent || m === 'NN' || m === 'DEQ') continue;
    fits.set(m, fitMethod(m, trials, borrowed)!);
    if (borrowed != null) est.borrowedExponent.push(m);
  }
  for (const m of cfg.methods) {
    const f = fits.get(m);
    if (!f) {
      est.unmeasured.push(m);
      continue;
    }
    const own = trials.filter((t) => t.method === m && t.epochs > 0);
    let epochs = epochsOf(own);
    if (epochs.size === 0 && everyEpochs.size > 0) {
      est.epochProxy.push(m);
      epochs = everyEpochs;
    }
    // Nothing ran to early stopping under a cap of 100 or more: the measured fraction of the cap, applied to the new cap.
    const capFraction = own.length ? mean(own.map((t) => t.epochs / t.settings.epochs)) : 1;
    for (const d of cfg.datasets) {
      const rows = cfg.custom ? 0 : rowCount(cfg.dataDir, d);
      const train = Math.min(cfg.custom ? customTrainRows(cfg.custom) : Math.round(SPLIT_FRACTIONS[0] * rows), cfg.maxTrain ?? Infinity);
      const e = Math.min(cfg.epochs, epochs.get(d) ?? epochs.get('') ?? capFraction * cfg.epochs);
      const a = interceptOn(f, d, Array.from(fits.values()));
      for (const p of cfg.nodes) {
        const n = cfg.budget * cfg.seeds.length;
        const s = Math.exp(a + f.b * Math.log(p)) * train * e * n;
        est.seconds += s;
        est.trainings += n;
        est.perDataset[d] = (est.perDataset[d] ?? 0) + s;
        est.perMethod[m] = (est.perMethod[m] ?? 0) + s;
        est.perNodes[p] = (est.perNodes[p] ?? 0) + s;
        est.perTraining.set(`${d}|${m}|${p}`, s / n);
      }
    }
  }
  est.wallSeconds = est.seconds / Math.max(1, cfg.workers);
  return est;
}

const h = (s: number) => (s >= 3600 ? `${(s / 3600).toFixed(1)} h` : `${(s / 60).toFixed(1)} min`);
const list = (o: Record<string, number | undefined>) =>
  Object.entries(o)
    .map(([k, v]) => `${k} ${h(v!)}`)
    .join(', ');

export function formatEstimate(e: GridEstimate, workers = 1): string {
  const lines = [
    `estimated wall time of the grid: ${h(e.wallSeconds)} on ${workers} worker${workers > 1 ? 's' : ''} (${h(e.seconds)} of training, ${e.trainings} trainings)`,
  ];
  lines.push(`  per dataset: ${list(e.perDataset)}`);
  lines.push(`  per method: ${list(e.perMethod)}`);
  lines.push(`  per node count: ${list(e.perNodes)}`);
  if (e.epochProxy.length) lines.push(`  epochs per training from the other methods' mean (none of theirs ran to early stopping): ${e.epochProxy.join(', ')}`);
  if (e.borrowedExponent.length)
    lines.push(`  exponent of p from the other Neural Module methods (timed at one p per dataset): ${e.borrowedExponent.join(', ')}`);
  if (e.unmeasured.length) lines.push(`  not estimated (no measured trial): ${e.unmeasured.join(', ')}`);
  return lines.join('\n');
}
