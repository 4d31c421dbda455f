/**
 * Writes the benchmark outputs into the output directory, each file atomically
 * (temp file + rename): results.json (settings, every trial, every run's selected
 * trial, the table cells), tables.md, and the SVG (and PNG) plots under plots/.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { collectRuns, summarize, type CellSummary, type RunResult } from './aggregate.js';
import { claimRows, claimsStatsTable, claimsTable } from './claims.js';
import { V3_GRID_SIZE, type BenchConfig } from './config.js';
import { SPLIT_FRACTIONS } from './data.js';
import { V3_LEVELS, v3Grid } from './grids_v3.js';
import { PAPER_SGD, tuningGrid, V2_GRIDS } from './methods.js';
import { v3Sections } from './report_v3.js';
import { planTrials } from './runner.js';
import { errorChart, renderSvg, timeChart, type ChartSpec } from './plots.js';
import { renderPng } from './raster.js';
import { markdownReport, structureByStrength, type StrengthTrial, type TableShape } from './report.js';
import { RETIME_FILE } from './retime.js';
import { TrialStore, type TrialRecord } from './store.js';

export interface BenchResults {
  generatedAt: string;
  command: string;
  settings: Omit<BenchConfig, 'reportOnly' | 'dryRun' | 'estimate' | 'moduleSummary' | 'timingFrom' | 'retime'> & {
    split: readonly number[];
    tuning: Record<string, unknown>;
  };
  counts: { plannedRuns: number; completeRuns: number; incompleteRuns: number; failedRuns: number; trials: number; trialsAtCap: number };
  /** The distinct commits, package versions, backends and Node versions of the trials, and how many trials record no provenance. */
  provenance: { commits: string[]; packageVersions: string[]; backends: string[]; nodeVersions: string[]; withoutProvenance: number };
  /** Sum of the wall time of every trial in the grid, seconds. */
  trainingSeconds: number;
  runs: RunResult[];
  cells: CellSummary[];
  trials: TrialRecord[];
  /** The same-window reruns of the runs (`--retime`, bench/uci/retime.ts), when any are stored. */
  retimes: TrialRecord[];
}

export function writeAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

const distinct = (xs: string[]) => Array.from(new Set(xs)).sort();

/** Builds the results of the grid of `cfg` from the store. */
export function buildResults(cfg: BenchConfig, store: TrialStore, command: string): BenchResults {
  const { runs, incomplete, allFailed } = collectRuns(cfg, store);
  const cells = summarize(cfg, runs);
  const inGrid = new Set(runs.map((r) => `${r.dataset}|${r.method}|${r.nodes}|${r.seed}`));
  // Only the trials this grid planned (a store may also hold other protocols' trials of the same runs).
  const planned = new Set(planTrials(cfg).map((t) => t.key));
  const trials = store.all().filter((t) => planned.has(t.key) && inGrid.has(`${t.dataset}|${t.method}|${t.nodes}|${t.seed}`));
  const selected = new Set(runs.map((r) => r.key));
  const { reportOnly: _r, dryRun: _d, estimate: _e, moduleSummary: _m, timingFrom: _t, retime: _rt, ...settings } = cfg;
  return {
    generatedAt: new Date().toISOString(),
    command,
    settings: {
      ...settings,
      split: SPLIT_FRACTIONS,
      tuning:
        cfg.protocol === 'v1'
          ? Object.fromEntries(cfg.methods.map((m) => [m, tuningGrid(m, cfg.budget as 1 | 2 | 4)]))
          : cfg.protocol === 'v3'
            ? { gridSize: V3_GRID_SIZE, levels: V3_LEVELS, grids: Object.fromEntries(cfg.methods.map((m) => [m, v3Grid(m)])) }
            : { grids: V2_GRIDS, paperSgd: PAPER_SGD },
    },
    counts: {
      plannedRuns: cfg.datasets.length * cfg.methods.length * cfg.nodes.length * cfg.seeds.length,
      completeRuns: runs.length,
      incompleteRuns: incomplete,
      failedRuns: allFailed,
      trials: trials.length,
      trialsAtCap: trials.filter((t) => t.error == null && t.epochs >= t.settings.epochs).length,
    },
    provenance: {
      commits: distinct(trials.map((t) => t.provenance?.commit ?? 'not recorded')),
      packageVersions: distinct(trials.map((t) => t.provenance?.packageVersion ?? 'not recorded')),
      backends: distinct(trials.map((t) => t.provenance?.backend ?? t.settings.backend)),
      nodeVersions: distinct(trials.map((t) => t.provenance?.node ?? 'not recorded')),
      withoutProvenance: trials.filter((t) => t.provenance == null).length,
    },
    trainingSeconds: trials.reduce((a, t) => a + t.wallSeconds, 0),
    runs,
    cells,
    trials,
    retimes: new TrialStore(cfg.out, RETIME_FILE).all().filter((r) => selected.has(r.key)),
  };
}

export function tableShape(cfg: BenchConfig): TableShape {
  return { datasets: cfg.datasets, methods: cfg.methods, nodes: cfg.nodes, seeds: cfg.seeds.length };
}

/** Writes results.json, tables.md and the plots; returns the files written. */
export async function writeOutputs(cfg: BenchConfig, results: BenchResults): Promise<string[]> {
  const dir = cfg.tables ?? cfg.out;
  mkdirSync(join(dir, 'plots'), { recursive: true });
  const files: string[] = [];
  const put = (name: string, data: string | Uint8Array) => {
    const path = join(dir, name);
    writeAtomic(path, data);
    files.push(path);
  };
  put('results.json', `${JSON.stringify(results, null, 1)}\n`);
  const c = results.counts;
  const preamble = [
    `Generated ${results.generatedAt} by \`${results.command}\`.`,
    '',
    `Runs complete: ${c.completeRuns} of ${c.plannedRuns} planned (${c.incompleteRuns} incomplete, ${c.failedRuns} with every trial failed); ` +
      `${c.trials} trials (${c.trialsAtCap} of them hit the ${cfg.epochs}-epoch cap), ${(results.trainingSeconds / 60).toFixed(1)} min of training wall time. ` +
      `Protocol ${cfg.protocol}. Commits: ${results.provenance.commits.join(', ')}; package ${results.provenance.packageVersions.join(', ')}; backend ${results.provenance.backends.join(', ')}; ` +
      `Node ${results.provenance.nodeVersions.join(', ')}` +
      `${results.provenance.withoutProvenance ? `; **${results.provenance.withoutProvenance} trials without provenance** (no commit recorded)` : ''}. ` +
      `Split ${SPLIT_FRACTIONS.join('/')} (stratified, seeds ${cfg.seeds.join(', ')}); tuning budget ${cfg.budget} configurations per method; ` +
      `max ${cfg.epochs} epochs, patience ${cfg.patience}, batch ${cfg.batchSize}, backend ${cfg.backend}` +
      `${cfg.maxTrain != null ? `, training set capped at ${cfg.maxTrain} samples` : ''}.` +
      `${cfg.binary ? " Binary tasks (--binary, the v4 paper's Table 2 protocol): the first half of the sorted classes vs. the rest." : ''}`,
  ];
  const claims =
    cfg.protocol === 'v3'
      ? v3Sections(cfg, results.runs, results.trials, results.retimes)
      : [
          '',
          "## Paired comparisons (the papers' claims)",
          '',
          'Each pair is one (dataset, nodes, seed): same split, same tuning budget, selected configurations.',
          '',
          claimsStatsTable(claimRows(results.runs)),
          '',
          'Error differences are in percentage points of test error; "a better" counts pairs where a has the lower error (for the speed rows: where a is faster). ' +
            "p is a two-sided paired t-test; Holm's correction runs over every row of this table. The per-dataset breakdown follows.",
          '',
          claimsTable(results.runs, cfg.methods, cfg.datasets),
          '',
        ].join('\n');
  const strength = structureByStrength(results.trials as StrengthTrial[], cfg.methods);
  const byStrength = strength
    ? ['', '## Module structure by regularization strength (every training, not only the selected ones)', '', strength, ''].join('\n')
    : '';
  put('tables.md', markdownReport(results.cells, tableShape(cfg), preamble) + claims + byStrength);
  const charts: [string, ChartSpec][] = cfg.datasets.flatMap((d) => [
    [`plots/error_${d}`, errorChart(results.cells, d, cfg.methods, cfg.nodes)] as [string, ChartSpec],
    ...(cfg.methods.includes('DEQ') ? [[`plots/time_${d}`, timeChart(results.cells, d, cfg.methods, cfg.nodes)] as [string, ChartSpec]] : []),
  ]);
  for (const [name, spec] of charts) {
    put(`${name}.svg`, renderSvg(spec));
    put(`${name}.png`, await renderPng(spec));
  }
  return files;
}
