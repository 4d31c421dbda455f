/**
 * Estimates the wall time of a benchmark grid from trials already measured (in --out
 * and the --timing-from stores, any protocol):
 * - cost of one epoch per training sample (wall time of the trial ÷ epochs ÷ training
 *   rows: it includes the validation pass and the final evaluation) as a power law in the
 *   node count p, fitted per method by log-log least squares over every measured trial
 *   (exponent 2, or 1 for NN, when one p was measured), with a per-dataset intercept
 *   where that dataset was measured for the method (it carries the feature count);
 * - epochs per training: the mean over the method's trials that ran to early stopping
 *   with an epoch cap of at least 100 (per dataset where measured), at most the new cap;
 *   a method without such trials takes the mean of every method that has them (a proxy,
 *   listed in the output); with no such trial at all, the measured fraction of the cap;
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
  /** Methods without any measured trial (left out of the estimate). */
  unmeasured: MethodName[];
  /** Methods whose epochs per training come from the other methods' mean (no trial that ran to early stopping). */
  epochProxy: MethodName[];
}

interface Fit {
  /** Exponent of p. */
  b: number;
  /** Intercept of ln(seconds per epoch per sample) at ln p = 0: overall and per dataset. */
  a: number;
  aByDataset: Map<string, number>;
}

const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;

function fitMethod(method: MethodName, trials: TrialRecord[]): Fit | null {
  const ts = trials.filter((t) => t.method === method && t.epochs > 0 && t.samples.train > 0 && t.wallSeconds > 0);
  if (ts.length === 0) return null;
  const pts = ts.map((t) => ({ d: t.dataset, x: Math.log(t.nodes), y: Math.log(t.wallSeconds / (t.epochs * t.samples.train)) }));
  const mx = mean(pts.map((p) => p.x));
  const my = mean(pts.map((p) => p.y));
  const sxx = pts.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  const b = sxx > 1e-9 ? pts.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0) / sxx : method === 'NN' ? 1 : 2;
  const aByDataset = new Map<string, number>();
  for (const d of new Set(pts.map((p) => p.d))) aByDataset.set(d, mean(pts.filter((p) => p.d === d).map((p) => p.y - b * p.x)));
  return { b, a: my - b * mx, aByDataset };
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

export function estimateGrid(cfg: BenchConfig, trials: TrialRecord[]): GridEstimate {
  const est: GridEstimate = { seconds: 0, wallSeconds: 0, trainings: 0, perDataset: {}, perMethod: {}, perNodes: {}, unmeasured: [], epochProxy: [] };
  const everyEpochs = epochsOf(trials);
  for (const m of cfg.methods) {
    const f = fitMethod(m, trials);
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
      const a = f.aByDataset.get(d) ?? f.a;
      for (const p of cfg.nodes) {
        const n = cfg.budget * cfg.seeds.length;
        const s = Math.exp(a + f.b * Math.log(p)) * train * e * n;
        est.seconds += s;
        est.trainings += n;
        est.perDataset[d] = (est.perDataset[d] ?? 0) + s;
        est.perMethod[m] = (est.perMethod[m] ?? 0) + s;
        est.perNodes[p] = (est.perNodes[p] ?? 0) + s;
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
  if (e.unmeasured.length) lines.push(`  not estimated (no measured trial): ${e.unmeasured.join(', ')}`);
  return lines.join('\n');
}
