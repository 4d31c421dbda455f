/**
 * Estimates the wall time of a benchmark grid from the trials already measured:
 * per method, the cost of one epoch per training sample is fitted as a power law in
 * the node count p (log-log least squares over the measured node counts; exponent 2,
 * or 1 for NN, when only one count was measured), times the expected epochs (the
 * measured fraction of the epoch cap, applied to the new cap), times the training
 * samples of each dataset (70% of its rows, or --max-train). A rough guide: it
 * inherits the machine load of the measured trials and ignores feature counts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchConfig, MethodName } from './config.js';
import { customTrainRows } from './custom_data.js';
import { SPLIT_FRACTIONS } from './data.js';
import type { TrialRecord } from './store.js';

export interface GridEstimate {
  /** Estimated seconds of the whole grid. */
  seconds: number;
  perDataset: Record<string, number>;
  perMethod: Partial<Record<MethodName, number>>;
  /** Methods without any measured trial (left out of the estimate). */
  unmeasured: MethodName[];
}

interface Fit {
  a: number;
  b: number;
  epochFraction: number;
}

function fitMethod(method: MethodName, trials: TrialRecord[]): Fit | null {
  const ts = trials.filter((t) => t.method === method && t.epochs > 0 && t.samples.train > 0);
  if (ts.length === 0) return null;
  const pts = ts.map((t) => ({ x: Math.log(t.nodes), y: Math.log(t.wallSeconds / (t.epochs * t.samples.train)) }));
  const mx = pts.reduce((s, p) => s + p.x, 0) / pts.length;
  const my = pts.reduce((s, p) => s + p.y, 0) / pts.length;
  const sxx = pts.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  const b = sxx > 1e-9 ? pts.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0) / sxx : method === 'NN' ? 1 : 2;
  const epochFraction = ts.reduce((s, t) => s + t.epochs / t.settings.epochs, 0) / ts.length;
  return { a: my - b * mx, b, epochFraction };
}

/** Rows of a dataset CSV (without the header). */
function rowCount(dir: string, name: string): number {
  const text = readFileSync(join(dir, `${name}.csv`), 'utf8');
  return text.split('\n').filter((l) => l.trim().length > 0).length - 1;
}

export function estimateGrid(cfg: BenchConfig, trials: TrialRecord[]): GridEstimate {
  const est: GridEstimate = { seconds: 0, perDataset: {}, perMethod: {}, unmeasured: [] };
  const fits = new Map<MethodName, Fit>();
  for (const m of cfg.methods) {
    const f = fitMethod(m, trials);
    if (f) fits.set(m, f);
    else est.unmeasured.push(m);
  }
  for (const d of cfg.datasets) {
    const rows = cfg.custom ? 0 : rowCount(cfg.dataDir, d);
    const train = Math.min(cfg.custom ? customTrainRows(cfg.custom) : Math.round(SPLIT_FRACTIONS[0] * rows), cfg.maxTrain ?? Infinity);
    for (const [m, f] of fits) {
      for (const p of cfg.nodes) {
        const s = Math.exp(f.a + f.b * Math.log(p)) * train * f.epochFraction * cfg.epochs * cfg.budget * cfg.seeds.length;
        est.seconds += s;
        est.perDataset[d] = (est.perDataset[d] ?? 0) + s;
        est.perMethod[m] = (est.perMethod[m] ?? 0) + s;
      }
    }
  }
  return est;
}

const h = (s: number) => (s >= 3600 ? `${(s / 3600).toFixed(1)} h` : `${(s / 60).toFixed(1)} min`);

export function formatEstimate(e: GridEstimate): string {
  const lines = [`estimated wall time of the grid: ${h(e.seconds)}`];
  lines.push(
    `  per dataset: ${Object.entries(e.perDataset)
      .map(([k, v]) => `${k} ${h(v)}`)
      .join(', ')}`,
  );
  lines.push(
    `  per method: ${Object.entries(e.perMethod)
      .map(([k, v]) => `${k} ${h(v!)}`)
      .join(', ')}`,
  );
  if (e.unmeasured.length) lines.push(`  not estimated (no measured trial): ${e.unmeasured.join(', ')}`);
  return lines.join('\n');
}
