/**
 * Same-window timing of the selected runs (`--retime`). A run's time per epoch in the
 * grid is measured in whatever window its trial ran: the grid spans sessions under
 * different loads, and a method rerun later (DEQ on the host engine) ran in another
 * window than the methods it is compared with. `--retime` trains the selected
 * configuration of every complete (dataset, p, seed) cell again, the cell's methods
 * one after the other (on `--workers` processes, as the grid), in an order rotated from
 * cell to cell, so the methods of a cell share one window. The reruns go to
 * `retime.jsonl` beside the trials (same keys); the report's speed rows use them. A
 * rerun repeats the trial's seeded training with the current code, so it also shows
 * whether the stored result reproduces.
 *
 * A cell is retimed as a unit: when a cell was cut short, resuming retimes all of it.
 */
import { collectRuns, type RunResult } from './aggregate.js';
import type { BenchConfig, MethodName } from './config.js';
import { trialSeconds } from './estimate.js';
import { GridProgress } from './progress.js';
import { trainAll } from './runner.js';
import { median } from './train.js';
import { TrialStore, type PlannedTrial, type TrialRecord } from './store.js';

/** The file of the reruns in the store's directory (`retime.jsonl.gz` is read too). */
export const RETIME_FILE = 'retime.jsonl';

export const cellId = (r: { dataset: string; nodes: number; seed: number }) => `${r.dataset}|${r.nodes}|${r.seed}`;

/**
 * The reruns of `--retime`, in run order: per cell (seed → dataset → p) whose every method
 * of `methods` has a complete run, the selected trial of each method; the methods' order
 * is rotated by one place from each cell to the next.
 */
export function planRetime(runs: readonly RunResult[], cfg: Pick<BenchConfig, 'seeds' | 'datasets' | 'nodes' | 'methods'>): PlannedTrial[] {
  const byCell = new Map<string, Map<MethodName, RunResult>>();
  for (const r of runs) {
    if (!byCell.has(cellId(r))) byCell.set(cellId(r), new Map());
    byCell.get(cellId(r))!.set(r.method, r);
  }
  const out: PlannedTrial[] = [];
  let cell = 0;
  for (const seed of cfg.seeds) {
    for (const dataset of cfg.datasets) {
      for (const nodes of cfg.nodes) {
        const rs = byCell.get(cellId({ dataset, nodes, seed }));
        if (!rs || !cfg.methods.every((m) => rs.has(m))) continue;
        const k = cell++ % cfg.methods.length;
        for (const m of [...cfg.methods.slice(k), ...cfg.methods.slice(0, k)]) {
          const r = rs.get(m)!;
          out.push({ dataset, method: m, nodes, seed, configIndex: r.configIndex, config: r.config, key: r.key });
        }
      }
    }
  }
  return out;
}

/** Whether a rerun reproduced its stored trial: the same epochs, validation and test error. */
export function reproduces(stored: TrialRecord, rerun: TrialRecord): boolean {
  return stored.epochs === rerun.epochs && stored.valError === rerun.valError && stored.testError === rerun.testError;
}

/** The planned reruns of cells not retimed completely yet. */
export function pendingRetime(plan: readonly PlannedTrial[], retimes: TrialStore): PlannedTrial[] {
  const incomplete = new Set(plan.filter((t) => !retimes.has(t.key)).map(cellId));
  return plan.filter((t) => incomplete.has(cellId(t)));
}

export interface RetimeSummary {
  /** Reruns trained now, and how many reproduced their stored trial. */
  executed: number;
  reproduced: number;
  /** Reruns of the plan already stored (complete cells). */
  skipped: number;
  seconds: number;
}

/** Retimes every complete cell of the grid of `cfg` not retimed yet (see the file comment). */
export async function runRetime(cfg: BenchConfig, write: (text: string) => void = (t) => void process.stdout.write(t)): Promise<RetimeSummary> {
  const t0 = performance.now();
  const store = new TrialStore(cfg.out);
  const retimes = new TrialStore(cfg.out, RETIME_FILE);
  const plan = planRetime(collectRuns(cfg, store).runs, cfg);
  const pending = pendingRetime(plan, retimes);
  const stored = pending.reduce((a, t) => a + trialSeconds(store.get(t.key)!), 0);
  const took = stored >= 3600 ? `${(stored / 3600).toFixed(1)} h` : `${(stored / 60).toFixed(1)} min`;
  write(
    `retime: ${plan.length / cfg.methods.length} complete cells, ${pending.length} reruns to train (their trials took ${took} in the grid) → ${retimes.path}\n`,
  );
  const progress = new GridProgress(pending, write, Boolean(process.stdout.isTTY), plan.length - pending.length);
  for (const t of pending) progress.observe(t, trialSeconds(store.get(t.key)!));
  progress.parallel = Math.max(1, Math.min(cfg.workers, pending.length));
  let executed = 0;
  let reproduced = 0;
  const onRecord = (t: PlannedTrial, record: TrialRecord) => {
    retimes.append(record);
    const old = store.get(t.key)!;
    const same = reproduces(old, record);
    executed++;
    if (same) reproduced++;
    const fmt = (r: TrialRecord) => `${r.secondsPerEpoch.toFixed(3)}s/ep`;
    progress.finished(
      t,
      record.wallSeconds,
      `${fmt(record)} (grid ${fmt(old)}) ${same ? 'reproduced' : `differs: test ${old.testError} → ${record.testError}`}`,
      trialSeconds(record),
    );
  };
  await trainAll(cfg, pending, progress, onRecord);
  progress.end();
  return { executed, reproduced, skipped: plan.length - pending.length, seconds: (performance.now() - t0) / 1000 };
}

/**
 * The runs with the time per epoch of their rerun, for the runs that have one (the rest
 * are left out): what the report's speed rows compare when `--retime` has run.
 */
export function retimedRuns(runs: readonly RunResult[], retimes: readonly TrialRecord[]): RunResult[] {
  const byKey = new Map(retimes.map((r) => [r.key, r]));
  return runs.flatMap((r) => {
    const x = byKey.get(r.key);
    return x && x.secondsPerEpoch > 0 ? [{ ...r, secondsPerEpoch: x.secondsPerEpoch }] : [];
  });
}

/**
 * Per method: the runs retimed, how many reruns reproduced the stored trial, and the
 * median of (the grid's time per epoch ÷ the rerun's), which shows how the grid's
 * windows differ from the retime's.
 */
export function retimeTable(
  runs: readonly RunResult[],
  trials: readonly TrialRecord[],
  retimes: readonly TrialRecord[],
  methods: readonly MethodName[],
): string {
  const stored = new Map(trials.map((t) => [t.key, t]));
  const again = new Map(retimes.map((t) => [t.key, t]));
  const out = ['| method | runs retimed | reproduced (epochs, val and test error equal) | grid ÷ retime, time per epoch (median) |', '|---|---|---|---|'];
  for (const m of methods) {
    const pairs = runs.filter((r) => r.method === m && again.has(r.key) && stored.has(r.key)).map((r) => [stored.get(r.key)!, again.get(r.key)!] as const);
    if (pairs.length === 0) continue;
    const same = pairs.filter(([a, b]) => reproduces(a, b)).length;
    const ratios = pairs.filter(([a, b]) => a.secondsPerEpoch > 0 && b.secondsPerEpoch > 0).map(([a, b]) => a.secondsPerEpoch / b.secondsPerEpoch);
    out.push(`| ${m} | ${pairs.length} | ${same}/${pairs.length} | ${ratios.length ? `×${median(ratios).toFixed(2)}` : '–'} |`);
  }
  return out.join('\n');
}

/**
 * DEQ's time per epoch ÷ each method's, per dataset and p, from the reruns: the geometric
 * mean over the retimed seeds of the cell (the speed rows' figures before clustering).
 */
export function retimeSpeedTable(timed: readonly RunResult[], methods: readonly MethodName[], datasets: readonly string[], nodes: readonly number[]): string {
  const others = methods.filter((m) => m !== 'DEQ');
  const out = [`| dataset | p | seeds | ${others.join(' | ')} |`, `|---|---|---|${others.map(() => '---|').join('')}`];
  const at = new Map(timed.map((r) => [`${cellId(r)}|${r.method}`, r.secondsPerEpoch]));
  for (const d of datasets) {
    for (const p of nodes) {
      const seeds = Array.from(new Set(timed.filter((r) => r.dataset === d && r.nodes === p && r.method === 'DEQ').map((r) => r.seed)));
      if (seeds.length === 0) continue;
      const cells = others.map((m) => {
        const logs = seeds.flatMap((s) => {
          const deq = at.get(`${d}|${p}|${s}|DEQ`);
          const x = at.get(`${d}|${p}|${s}|${m}`);
          return deq && x ? [Math.log(deq / x)] : [];
        });
        return logs.length ? `×${Math.exp(logs.reduce((a, b) => a + b, 0) / logs.length).toFixed(2)}` : '–';
      });
      out.push(`| ${d} | ${p} | ${seeds.length} | ${cells.join(' | ')} |`);
    }
  }
  return out.join('\n');
}
