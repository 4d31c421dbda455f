/**
 * `npm run bench:uci -- [uci] [flags]`: the UCI benchmark of the Neural Modules
 * papers' tables (NN, DEQ, DAG, NMs, NMs&L1, NMs&NM × node counts × seeds).
 * See `--help` and docs/RESULTS.md.
 */
import { fileURLToPath } from 'node:url';
import { setBackend } from './backend.js';
import { BenchConfigError, checkData, parseArgs, usage, type BenchConfig } from './config.js';
import { loadCustomData } from './custom_data.js';
import { collectRuns } from './aggregate.js';
import { estimateGrid, formatEstimate } from './estimate.js';
import { describeV3Grids } from './grids_v3.js';
import { moduleSummaryTable } from './report_v3.js';
import { unavailableMethods } from './methods.js';
import { buildResults, writeOutputs } from './output.js';
import { planTrials, runGrid } from './runner.js';
import { RETIME_FILE, runRetime } from './retime.js';
import { TRIALS_FILE, TrialStore } from './store.js';

/** Runs the benchmark for a command line; returns the process exit code. */
export async function main(argv: string[], log: (s: string) => void = (s) => console.log(s)): Promise<number> {
  let cfg: BenchConfig | null;
  try {
    cfg = parseArgs(argv);
    if (cfg == null) {
      log(usage());
      return 0;
    }
    if (cfg.compact) {
      for (const file of [TRIALS_FILE, RETIME_FILE]) {
        const store = new TrialStore(cfg.out, file);
        const { records, folded, plainKept } = store.compact();
        log(
          folded === 0
            ? `${store.path}: nothing to fold (${records} records in ${file}.gz)`
            : `${store.path}: ${folded} line${folded === 1 ? '' : 's'} folded into ${file}.gz (${records} record${records === 1 ? '' : 's'})` +
                (plainKept ? `; ${file} grew meanwhile and is kept (its records are in both files)` : `; ${file} removed`),
        );
      }
      return 0;
    }
    if (!cfg.reportOnly && !cfg.moduleSummary) {
      if (cfg.custom) loadCustomData(cfg.custom);
      else checkData(cfg.dataDir, cfg.datasets);
    }
    const missing = unavailableMethods(cfg.methods);
    if (missing.length && !cfg.reportOnly && !cfg.dryRun && !cfg.estimate && !cfg.moduleSummary) {
      throw new BenchConfigError(
        `--methods: ${missing.map((m) => `${m.method} needs ${m.missing}`).join('; ')}, which src/regularizers/index.ts does not export yet. Run the other methods with --methods.`,
      );
    }
  } catch (e) {
    if (e instanceof BenchConfigError) {
      console.error(`nm-bench uci: ${e.message}\n\n${usage()}`);
      return 2;
    }
    throw e;
  }
  const command = `npm run bench:uci -- ${argv.join(' ')}`.trim();
  const plan = planTrials(cfg);
  log(
    `UCI benchmark: ${cfg.datasets.join(',')} × nodes ${cfg.nodes.join(',')} × ${cfg.methods.join(',')} × ${cfg.seeds.length} seeds × budget ${cfg.budget} (protocol ${cfg.protocol}) = ${plan.length} trials, ${cfg.workers} worker${cfg.workers > 1 ? 's' : ''} → ${cfg.out}`,
  );
  if (cfg.protocol === 'v3' && (cfg.dryRun || cfg.estimate)) log(describeV3Grids(cfg.methods).join('\n'));
  if (cfg.estimate) {
    const timing = [cfg.out, ...(cfg.timingFrom ?? [])].flatMap((d) => new TrialStore(d).all());
    log(formatEstimate(estimateGrid(cfg, timing), cfg.workers));
    return 0;
  }
  if (cfg.dryRun) {
    const store = new TrialStore(cfg.out);
    log(`${plan.filter((t) => store.has(t.key)).length} of them already stored in ${store.path}`);
    return 0;
  }
  if (cfg.moduleSummary) {
    const { runs } = collectRuns(cfg, new TrialStore(cfg.out));
    log(`<!-- ${command} -->\n${moduleSummaryTable(runs, cfg.methods, cfg.nodes)}`);
    return 0;
  }
  if (cfg.retime && !cfg.reportOnly) {
    await setBackend(cfg.backend);
    const r = await runRetime(cfg);
    log(
      `retimed ${r.executed} trainings (${r.reproduced} reproduced their stored trial), skipped ${r.skipped} already retimed, in ${(r.seconds / 60).toFixed(1)} min`,
    );
  } else if (!cfg.reportOnly) {
    await setBackend(cfg.backend);
    const summary = await runGrid(cfg);
    log(`trained ${summary.executed} trials, skipped ${summary.skipped} already stored, in ${(summary.seconds / 60).toFixed(1)} min`);
  }
  const results = buildResults(cfg, new TrialStore(cfg.out), command);
  const files = await writeOutputs(cfg, results);
  log(
    `${results.counts.completeRuns}/${results.counts.plannedRuns} runs complete; wrote ${files.length} files: ${cfg.tables ?? cfg.out}/{results.json,tables.md,plots/}`,
  );
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
