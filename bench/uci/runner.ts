/**
 * Runs the benchmark grid: seed → dataset → nodes → method → tuning configuration,
 * so a partial run holds complete seeds first. Trials already in the store are
 * skipped; each new one is trained under a seeded Math.random and appended.
 * With `--workers N` the trials go to N child processes (bench/uci/worker.ts), one
 * trial at a time each, in plan order; this process alone writes the store.
 */
import { layerEngine, type BenchConfig } from './config.js';
import { customSplit } from './custom_data.js';
import { loadDataset, makeSplit, toBinary, type SplitData } from './data.js';
import { buildCff, buildModel, runConfigs } from './methods.js';
import { trialProvenance } from './provenance.js';
import { runInWorkers } from './workers.js';
import { estimateGrid, trialSeconds } from './estimate.js';
import { GridProgress } from './progress.js';
import { hashSeed, withSeededRandom } from './seeded_random.js';
import { TrialStore, trialKey, trialSettings, type PlannedTrial, type TrialRecord } from './store.js';
import { trainCffTrial, trainTrial } from './train.js';

/** Every trial of the grid, in run order. */
export function planTrials(cfg: BenchConfig): PlannedTrial[] {
  const settings = trialSettings(cfg);
  const out: PlannedTrial[] = [];
  for (const seed of cfg.seeds) {
    for (const dataset of cfg.datasets) {
      for (const nodes of cfg.nodes) {
        for (const method of cfg.methods) {
          runConfigs(method, cfg, { dataset, nodes, seed }).forEach((config, configIndex) => {
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

/**
 * Seconds of one training by `dataset|method|nodes`, fitted to every trial in the store
 * (estimate.ts), for the ETA of trials whose (dataset, method, p) has none measured yet;
 * empty when nothing is stored or the model cannot be built (the ETA then falls back).
 */
function costModel(cfg: BenchConfig, store: TrialStore): ReadonlyMap<string, number> {
  const trials = store.all();
  if (trials.length === 0) return new Map();
  try {
    return estimateGrid(cfg, trials).perTraining;
  } catch {
    return new Map();
  }
}

/** Trains every trial of the grid that is not in the store yet. */
export async function runGrid(cfg: BenchConfig, opts: RunOptions = {}): Promise<RunSummary> {
  const t0 = performance.now();
  const store = new TrialStore(cfg.out);
  const plan = planTrials(cfg);
  const write = opts.write ?? ((t: string) => void process.stdout.write(t));
  const pending = plan.filter((t) => !store.has(t.key));
  const progress = new GridProgress(pending, write, opts.inPlace ?? Boolean(process.stdout.isTTY), plan.length - pending.length, costModel(cfg, store));
  for (const t of plan) {
    const r = store.get(t.key);
    if (r) progress.observe(t, trialSeconds(r));
  }
  progress.parallel = Math.max(1, Math.min(cfg.workers, pending.length));
  let executed = 0;
  const onRecord = (t: PlannedTrial, record: TrialRecord) => {
    store.append(record);
    executed++;
    const mods = record.modules ? ` modules ${record.modules.count} (largest ${record.modules.largest})` : '';
    const err = record.error ? ` [stopped: ${record.error.slice(0, 80)}]` : '';
    progress.finished(
      t,
      record.wallSeconds,
      `val ${pct(record.valError)} test ${pct(record.testError)} ${record.epochs} ep ${record.secondsPerEpoch.toFixed(2)}s/ep${mods}${err}`,
      trialSeconds(record),
    );
  };
  await trainAll(cfg, pending, progress, onRecord);
  progress.end();
  return { executed, skipped: plan.length - pending.length, store, seconds: (performance.now() - t0) / 1000 };
}

/** Trains `pending` in plan order, on `cfg.workers` child processes when more than one, else in this process. */
export async function trainAll(
  cfg: BenchConfig,
  pending: PlannedTrial[],
  progress: Pick<GridProgress, 'started'>,
  finished: (t: PlannedTrial, record: TrialRecord) => void,
): Promise<void> {
  if (cfg.workers > 1 && pending.length > 1) {
    await runInWorkers(cfg, pending, { started: (t) => progress.started(t), finished });
    return;
  }
  const trainer = new TrialTrainer(cfg);
  for (const t of pending) {
    progress.started(t);
    finished(t, await trainer.run(t));
  }
}

/** Trains planned trials of one configuration, one at a time, keeping one dataset split in memory. */
export class TrialTrainer {
  private readonly splits = new Map<string, SplitData>();
  constructor(private readonly cfg: BenchConfig) {}

  private async split(t: PlannedTrial): Promise<SplitData> {
    const id = `${t.dataset}|${t.seed}`;
    if (!this.splits.has(id)) {
      this.splits.clear();
      const cfg = this.cfg;
      const split = cfg.custom ? customSplit(cfg.custom, t.seed, cfg.maxTrain) : makeSplit(await loadDataset(cfg.dataDir, t.dataset), t.seed, cfg.maxTrain);
      this.splits.set(id, this.cfg.binary ? toBinary(split) : split);
    }
    return this.splits.get(id)!;
  }

  /** Trains one planned trial under its seeded Math.random and returns its record. */
  async run(t: PlannedTrial): Promise<TrialRecord> {
    const cfg = this.cfg;
    const data = await this.split(t);
    const shape = { features: data.numFeatures, classes: data.numClasses, nodes: t.nodes };
    const settings = { epochs: cfg.epochs, patience: cfg.patience, batchSize: cfg.batchSize };
    const start = performance.now();
    const outcome = await withSeededRandom(hashSeed(t.key), async () => {
      if (t.method === 'CFF') {
        const net = buildCff(t.config, shape);
        try {
          return await trainCffTrial(net, data, settings);
        } finally {
          net.dispose();
        }
      }
      const built = buildModel(t.method, t.config, shape, cfg.nmForm, layerEngine(t.method, cfg.deqEngine));
      try {
        return await trainTrial(built, data, settings);
      } finally {
        built.dispose();
      }
    });
    return {
      key: t.key,
      dataset: t.dataset,
      method: t.method,
      nodes: t.nodes,
      seed: t.seed,
      configIndex: t.configIndex,
      config: t.config,
      settings: trialSettings(cfg),
      samples: { train: data.train.numSamples, val: data.val.numSamples, test: data.test.numSamples },
      wallSeconds: (performance.now() - start) / 1000,
      finishedAt: new Date().toISOString(),
      provenance: await trialProvenance(),
      ...outcome,
    };
  }
}
