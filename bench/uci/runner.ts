/**
 * Runs the benchmark grid: seed → dataset → nodes → method → tuning configuration,
 * so a partial run holds complete seeds first. Trials already in the store are
 * skipped; each new one is trained under a seeded Math.random and appended.
 */
import type { BenchConfig, MethodName } from './config.js';
import { customSplit } from './custom_data.js';
import { loadDataset, makeSplit, toBinary, type SplitData } from './data.js';
import { buildCff, buildModel, tuningGrid, type MethodConfig } from './methods.js';
import { GridProgress } from './progress.js';
import { hashSeed, withSeededRandom } from './seeded_random.js';
import { TrialStore, trialKey, trialSettings, type TrialRecord } from './store.js';
import { trainCffTrial, trainTrial } from './train.js';

/** One planned trial. */
export interface PlannedTrial {
  dataset: string;
  method: MethodName;
  nodes: number;
  seed: number;
  configIndex: number;
  config: MethodConfig;
  key: string;
}

/** Every trial of the grid, in run order. */
export function planTrials(cfg: BenchConfig): PlannedTrial[] {
  const settings = trialSettings(cfg);
  const out: PlannedTrial[] = [];
  for (const seed of cfg.seeds) {
    for (const dataset of cfg.datasets) {
      for (const nodes of cfg.nodes) {
        for (const method of cfg.methods) {
          tuningGrid(method, cfg.budget).forEach((config, configIndex) => {
            out.push({ dataset, method, nodes, seed, configIndex, config, key: trialKey({ dataset, method, nodes, seed, config, settings }) });
          });
        }
      }
    }
  }
  return out;
}

export interface RunOptions {
  /** Where progress goes. Default: process.stdout. */
  write?: (text: string) => void;
  /** Redraw one progress line in place. Default: process.stdout.isTTY. */
  inPlace?: boolean;
}

export interface RunSummary {
  /** Trials trained in this invocation. */
  executed: number;
  /** Trials found in the store and not redone. */
  skipped: number;
  store: TrialStore;
  /** Wall time of this invocation, seconds. */
  seconds: number;
}

const pct = (v: number | null) => (v == null ? 'n/a' : `${(100 * v).toFixed(2)}%`);

/** Trains every trial of the grid that is not in the store yet. */
export async function runGrid(cfg: BenchConfig, opts: RunOptions = {}): Promise<RunSummary> {
  const t0 = performance.now();
  const store = new TrialStore(cfg.out);
  const plan = planTrials(cfg);
  const write = opts.write ?? ((t: string) => void process.stdout.write(t));
  const pending = plan.filter((t) => !store.has(t.key));
  const progress = new GridProgress(pending, write, opts.inPlace ?? Boolean(process.stdout.isTTY), plan.length - pending.length);
  for (const t of plan) {
    const r = store.get(t.key);
    if (r) progress.observe(t, r.wallSeconds);
  }
  const settings = trialSettings(cfg);
  const splits = new Map<string, SplitData>(); // one dataset/seed at a time
  let executed = 0;
  for (const t of pending) {
    progress.started(t);
    const splitId = `${t.dataset}|${t.seed}`;
    if (!splits.has(splitId)) {
      splits.clear();
      const split = cfg.custom ? customSplit(cfg.custom, t.seed, cfg.maxTrain) : makeSplit(await loadDataset(cfg.dataDir, t.dataset), t.seed, cfg.maxTrain);
      splits.set(splitId, cfg.binary ? toBinary(split) : split);
    }
    const data = splits.get(splitId)!;
    const start = performance.now();
    const outcome = await withSeededRandom(hashSeed(t.key), async () => {
      if (t.method === 'CFF') {
        const net = buildCff(t.config, { features: data.numFeatures, classes: data.numClasses, nodes: t.nodes });
        try {
          return await trainCffTrial(net, data, { epochs: cfg.epochs, patience: cfg.patience, batchSize: cfg.batchSize });
        } finally {
          net.dispose();
        }
      }
      const built = buildModel(t.method, t.config, { features: data.numFeatures, classes: data.numClasses, nodes: t.nodes }, cfg.nmForm);
      try {
        return await trainTrial(built, data, { epochs: cfg.epochs, patience: cfg.patience, batchSize: cfg.batchSize });
      } finally {
        built.dispose();
      }
    });
    const wallSeconds = (performance.now() - start) / 1000;
    const record: TrialRecord = {
      key: t.key,
      dataset: t.dataset,
      method: t.method,
      nodes: t.nodes,
      seed: t.seed,
      configIndex: t.configIndex,
      config: t.config,
      settings,
      samples: { train: data.train.numSamples, val: data.val.numSamples, test: data.test.numSamples },
      wallSeconds,
      finishedAt: new Date().toISOString(),
      ...outcome,
    };
    store.append(record);
    executed++;
    const mods = outcome.modules ? ` modules ${outcome.modules.count} (largest ${outcome.modules.largest})` : '';
    const err = outcome.error ? ` [stopped: ${outcome.error.slice(0, 80)}]` : '';
    progress.finished(
      t,
      wallSeconds,
      `val ${pct(outcome.valError)} test ${pct(outcome.testError)} ${outcome.epochs} ep ${outcome.secondsPerEpoch.toFixed(2)}s/ep${mods}${err}`,
    );
  }
  progress.end();
  return { executed, skipped: plan.length - pending.length, store, seconds: (performance.now() - t0) / 1000 };
}
