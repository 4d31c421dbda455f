/**
 * From trials to results: per run (dataset, method, nodes, seed) the configuration
 * with the lowest validation error (ties: lower validation loss, then the earlier
 * configuration) is selected and its test error reported; per table cell
 * (dataset, method, nodes) the runs are summarized over seeds.
 */
import type { BenchConfig, MethodName } from './config.js';
import { planTrials } from './runner.js';
import type { TrialRecord, TrialStore } from './store.js';
import type { ModuleSummary, SolverSummary } from './train.js';

/** The result of one run: its selected trial. */
export interface RunResult {
  dataset: string;
  method: MethodName;
  nodes: number;
  seed: number;
  /** The selected trial's key in the store. */
  key: string;
  /** Index and values of the selected configuration. */
  configIndex: number;
  config: TrialRecord['config'];
  valError: number;
  testError: number;
  epochs: number;
  bestEpoch: number;
  /** The selected training ran to the epoch cap without early stopping. */
  hitCap: boolean;
  secondsPerEpoch: number;
  modules: ModuleSummary | null;
  solver: SolverSummary | null;
  /** Trials of the run (the tuning budget) and how many of them failed. */
  trials: number;
  failedTrials: number;
  /** Wall time of all the run's trials, seconds. */
  tuningSeconds: number;
}

export interface Stat {
  mean: number;
  /** Sample standard deviation (n − 1); 0 when n = 1. */
  std: number;
  n: number;
}

/** One table cell: a (dataset, method, nodes) summarized over seeds. */
export interface CellSummary {
  dataset: string;
  method: MethodName;
  nodes: number;
  testError: Stat;
  valError: Stat;
  secondsPerEpoch: Stat;
  epochs: Stat;
  /** Runs whose selected training hit the epoch cap. */
  hitCap: number;
  /**
   * Module structure of the selected trainings: count, largest, levels, kept edges,
   * balance = largest / mean module size (1 = equal sizes), and how many runs ended
   * acyclic (every module a single node: the graph became a DAG).
   */
  modules: { count: Stat; largest: Stat; levels: Stat; edges: Stat; balance: Stat; acyclic: number } | null;
}

/** Largest module over the mean module size (p / count): 1 when all modules have the same size. */
export const moduleBalance = (m: ModuleSummary, nodes: number) => (m.largest * m.count) / nodes;

export function stat(xs: number[]): Stat {
  const n = xs.length;
  if (n === 0) return { mean: NaN, std: NaN, n: 0 };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, n };
}

/** Runs whose every trial is stored, for the grid of `cfg`; runs with all trials failed are left out. */
export function collectRuns(cfg: BenchConfig, store: TrialStore): { runs: RunResult[]; incomplete: number; allFailed: number } {
  const groups = new Map<string, { trials: (TrialRecord | undefined)[] }>();
  for (const t of planTrials(cfg)) {
    const id = `${t.dataset}|${t.method}|${t.nodes}|${t.seed}`;
    if (!groups.has(id)) groups.set(id, { trials: [] });
    groups.get(id)!.trials.push(store.get(t.key));
  }
  const runs: RunResult[] = [];
  let incomplete = 0;
  let allFailed = 0;
  for (const g of groups.values()) {
    if (g.trials.some((t) => t === undefined)) {
      incomplete++;
      continue;
    }
    const trials = g.trials as TrialRecord[];
    const ok = trials.filter((t) => t.valError != null && t.testError != null);
    if (ok.length === 0) {
      allFailed++;
      continue;
    }
    const best = ok.reduce((a, b) => {
      if (b.valError! !== a.valError!) return b.valError! < a.valError! ? b : a;
      const la = a.valLoss ?? Infinity;
      const lb = b.valLoss ?? Infinity;
      if (lb !== la) return lb < la ? b : a;
      return b.configIndex < a.configIndex ? b : a;
    });
    runs.push({
      dataset: best.dataset,
      method: best.method,
      nodes: best.nodes,
      seed: best.seed,
      key: best.key,
      configIndex: best.configIndex,
      config: best.config,
      valError: best.valError!,
      testError: best.testError!,
      epochs: best.epochs,
      bestEpoch: best.bestEpoch,
      hitCap: best.error == null && best.epochs >= best.settings.epochs,
      secondsPerEpoch: best.secondsPerEpoch,
      modules: best.modules,
      solver: best.solver,
      trials: trials.length,
      failedTrials: trials.length - ok.length,
      tuningSeconds: trials.reduce((a, t) => a + t.wallSeconds, 0),
    });
  }
  return { runs, incomplete, allFailed };
}

/** Table cells of the runs, in (dataset, method, nodes) order of the config. */
export function summarize(cfg: BenchConfig, runs: RunResult[]): CellSummary[] {
  const cells: CellSummary[] = [];
  for (const dataset of cfg.datasets) {
    for (const method of cfg.methods) {
      for (const nodes of cfg.nodes) {
        const rs = runs.filter((r) => r.dataset === dataset && r.method === method && r.nodes === nodes);
        if (rs.length === 0) continue;
        const ms = rs.map((r) => r.modules).filter((m): m is ModuleSummary => m != null);
        cells.push({
          dataset,
          method,
          nodes,
          testError: stat(rs.map((r) => r.testError)),
          valError: stat(rs.map((r) => r.valError)),
          secondsPerEpoch: stat(rs.map((r) => r.secondsPerEpoch)),
          epochs: stat(rs.map((r) => r.epochs)),
          hitCap: rs.filter((r) => r.hitCap).length,
          modules: ms.length
            ? {
                count: stat(ms.map((m) => m.count)),
                largest: stat(ms.map((m) => m.largest)),
                levels: stat(ms.map((m) => m.levels)),
                edges: stat(ms.map((m) => m.edges)),
                balance: stat(ms.map((m) => moduleBalance(m, nodes))),
                acyclic: ms.filter((m) => m.largest === 1).length,
              }
            : null,
        });
      }
    }
  }
  return cells;
}
