/**
 * Re-partitions every Neural Module layer of a model during `model.fit` (also those
 * inside nested models and wrappers such as `tf.layers.timeDistributed`): the mask,
 * modules and schedule are recomputed from the current graph weights (DESIGN.md §1,
 * "Re-partition"), every epoch, every batch, or every N batches.
 *
 * It writes into the epoch logs (and so `history.history`), per layer (suffix `_i`
 * when the model has several): `nm_modules` (module count), `nm_largest` (largest
 * module), `nm_fwd_iters` and `nm_bwd_iters` (mean solver iterations per call over
 * the epoch). With `decayWhenSettled` also `nm_agreement` (the modules' adjusted Rand
 * index with the previous epoch's) and `nm_lr` (the optimizer's rate in that epoch).
 *
 * @example
 * await model.fit(x, y, { epochs: 20, callbacks: [nm.callbacks.modulePartition({ every: 'epoch' })] });
 */
import { checkKeys, fail } from '../utils/errors.js';
import { NMCallback } from './nm_callback.js';
import { moduleLabels } from '../graph/schedule.js';
import { resolveDecayWhenSettled, SettleDecay, type DecayWhenSettledArgs, type ResolvedDecayWhenSettled } from './settle_decay.js';

type Logs = Record<string, number | unknown>;

/** Arguments of {@link modulePartition}. */
export interface ModulePartitionArgs {
  /** When to re-partition: `'epoch'`, `'batch'`, or every N batches (integer ≥ 1). Default: `'epoch'`. */
  every?: 'epoch' | 'batch' | number;
  /** Print one line per epoch with the module statistics. Default: false. */
  verbose?: boolean;
  /**
   * The learning rate η of the proximal steps (graph regularizers with `proximal: true`):
   * `'current'`, the optimizer's rate at each step; `'initial'`, the optimizer's rate
   * when `fit` began, so the thresholds η·α·C and η·λ stay constant while a learning-rate
   * schedule shrinks the optimizer's steps (a decayed rate then settles the partition
   * without weakening the regularizer, docs/STRUCTURE.md). Default: `'current'`.
   * Caveat: `tf.train.sgd` and `tf.train.momentum` step with a scalar made from their
   * rate, so a schedule must call `optimizer.setLearningRate(η)` on them; a plain
   * assignment to `optimizer.learningRate` changes only what this callback reads.
   * With `decayWhenSettled` it must be (and defaults to) `'initial'`.
   */
  proximalRate?: 'current' | 'initial';
  /**
   * Decay the optimizer's learning rate once the modules have settled (ours, not the
   * papers'; settle_decay.ts): after `patience` epochs in a row whose modules agree with
   * the previous epoch's to an adjusted Rand index of at least `agreement`, the rate
   * decays geometrically to `factor`× at the last epoch; the proximal steps stay at the
   * rate `fit` began with; `latest` (a fraction of the epochs) starts it there at the
   * latest. `true`: `{ factor: 0.1, patience: 10, agreement: 0.95, latest: null }`.
   * Caveats: it sets the optimizer's rate (through `setLearningRate` where the optimizer
   * has it) and leaves it where the decay ended; do not combine it with another schedule.
   * Default: null (the rate is not touched).
   */
  decayWhenSettled?: DecayWhenSettledArgs | boolean | null;
}

/** The partition callback (see {@link modulePartition}). */
export class ModulePartitionCallback extends NMCallback {
  protected readonly where = 'modulePartition';
  readonly everyBatches: number | null;
  readonly verbose: boolean;
  readonly proximalRate: 'current' | 'initial';
  readonly decayWhenSettled: ResolvedDecayWhenSettled | null;
  private batchCount = 0;
  /** This fit's settle state and starting rate (with `decayWhenSettled`). */
  private settle: { state: SettleDecay; rate0: number } | null = null;
  /** The optimizer's rate when `fit` began (`proximalRate: 'initial'` with a proximal regularizer), else null. */
  private initialRate: number | null = null;

  constructor(args: ModulePartitionArgs = {}) {
    super();
    if (args == null || typeof args !== 'object')
      fail(
        'modulePartition',
        'args',
        args,
        "an object { every?: 'epoch' | 'batch' | number, verbose?, proximalRate?: 'current' | 'initial', decayWhenSettled? }",
      );
    checkKeys('modulePartition', args, ['every', 'verbose', 'proximalRate', 'decayWhenSettled']);
    const every = args.every ?? 'epoch';
    if (every === 'epoch') this.everyBatches = null;
    else if (every === 'batch') this.everyBatches = 1;
    else if (typeof every === 'number' && Number.isInteger(every) && every >= 1) this.everyBatches = every;
    else fail('modulePartition', 'every', every, "'epoch', 'batch' or an integer >= 1");
    this.verbose = args.verbose ?? false;
    const decay = args.decayWhenSettled ?? null;
    this.decayWhenSettled = decay === null || decay === false ? null : resolveDecayWhenSettled('modulePartition', decay);
    const rate = args.proximalRate ?? (this.decayWhenSettled ? 'initial' : 'current');
    if (rate !== 'current' && rate !== 'initial') fail('modulePartition', 'proximalRate', rate, "'current' or 'initial'");
    if (rate === 'current' && this.decayWhenSettled)
      fail(
        'modulePartition',
        'proximalRate',
        rate,
        "'initial' when decayWhenSettled is set",
        'The decay shrinks only the optimizer’s steps; proximal steps at the decayed rate would weaken the graph regularizer with it. Leave proximalRate out.',
      );
    this.proximalRate = rate;
  }

  /** The resolved arguments: `new ModulePartitionCallback(cb.getConfig())` is an equivalent callback. */
  getConfig(): Required<ModulePartitionArgs> {
    const every = this.everyBatches == null ? 'epoch' : this.everyBatches === 1 ? 'batch' : this.everyBatches;
    return { every, verbose: this.verbose, proximalRate: this.proximalRate, decayWhenSettled: this.decayWhenSettled ? { ...this.decayWhenSettled } : null };
  }

  override async onTrainBegin(): Promise<void> {
    const layers = this.neuralModules();
    // read before any epoch-begin schedule changes it; only where a proximal step will use it
    this.initialRate = this.proximalRate === 'initial' && layers.some((l) => l.hasProximalRegularizer()) ? this.learningRate() : null;
    this.settle = this.decayWhenSettled ? { state: new SettleDecay(this.decayWhenSettled), rate0: this.learningRate('decayWhenSettled') } : null;
    for (const l of layers) l.resetWarnings();
  }

  override async onEpochBegin(epoch: number): Promise<void> {
    for (const l of this.neuralModules()) l.resetCounters();
    if (this.settle) {
      const epochs = Number(this.params?.epochs);
      if (!Number.isFinite(epochs))
        fail(this.where, 'params.epochs', this.params?.epochs, 'the epoch count of the running fit (set by model.fit / fitDataset)');
      const start = this.settle.state.startIn(epochs);
      if (start !== null && epoch >= start) this.setLearningRate(this.settle.rate0 * this.settle.state.rateFactor(epoch, epochs));
    }
  }

  /** Sets the optimizer's rate: through `setLearningRate` where the optimizer caches a scalar made from it (SGD, momentum). */
  private setLearningRate(rate: number): void {
    const opt = this.requireModel().optimizer as unknown as { learningRate: number; setLearningRate?: (r: number) => void };
    if (typeof opt.setLearningRate === 'function') opt.setLearningRate(rate);
    else opt.learningRate = rate;
  }

  override async onBatchEnd(): Promise<void> {
    this.batchCount++;
    const layers = this.neuralModules();
    const proximal = layers.filter((l) => l.hasProximalRegularizer());
    if (proximal.length > 0) {
      const lr = this.initialRate ?? this.learningRate();
      for (const l of proximal) l.proximalStep(lr);
    }
    if (this.everyBatches != null && this.batchCount % this.everyBatches === 0) {
      for (const l of layers) l.repartition();
    }
  }

  /** The optimizer's current learning rate η, which scales the proximal steps and which `decayWhenSettled` decays. */
  private learningRate(user: 'proximal' | 'decayWhenSettled' = 'proximal'): number {
    const opt = this.requireModel().optimizer as unknown as { learningRate?: unknown; constructor: { name: string } } | undefined;
    const lr = opt?.learningRate;
    if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) {
      fail(
        this.where,
        'model.optimizer.learningRate',
        lr,
        'a finite number >= 0',
        (user === 'proximal' ? 'A graph regularizer in proximal mode scales its step by the learning rate' : 'decayWhenSettled decays the learning rate') +
          `; ${opt ? opt.constructor.name : 'the model'} has none. Use an optimizer with a learningRate (tf.train.adam, tf.train.sgd, nm.optimizers.adam, …)` +
          (user === 'proximal' ? ' or proximal: false.' : ' or leave decayWhenSettled out.'),
      );
    }
    return lr;
  }

  override async onEpochEnd(epoch: number, logs?: Logs): Promise<void> {
    const layers = this.neuralModules();
    if (this.everyBatches == null) for (const l of layers) l.repartition();
    const structures = layers.map((l) => l.structure());
    const agreement = this.settle
      ? this.settle.state.observe(
          epoch,
          structures.map((s) => moduleLabels(s.modules)),
          structures.some((s) => s.largestModule >= 2),
        )
      : null;
    if (this.settle && logs) logs.nm_lr = this.learningRate();
    layers.forEach((l, i) => {
      const s = structures[i];
      const c = l.counters;
      const suffix = layers.length > 1 ? `_${i}` : '';
      const stats = {
        [`nm_modules${suffix}`]: s.modules.length,
        [`nm_largest${suffix}`]: s.largestModule,
        [`nm_fwd_iters${suffix}`]: c.forwardCalls ? c.forwardIterations / c.forwardCalls : 0,
        [`nm_bwd_iters${suffix}`]: c.backwardCalls ? c.backwardIterations / c.backwardCalls : 0,
      };
      if (agreement) stats[`nm_agreement${suffix}`] = agreement[i];
      if (logs) Object.assign(logs, stats);
      if (this.verbose) {
        console.log(
          `epoch ${epoch + 1} ${l.name}: ${s.modules.length} modules, largest ${s.largestModule}, ` +
            `iterations fwd ${stats[`nm_fwd_iters${suffix}`].toFixed(1)} bwd ${stats[`nm_bwd_iters${suffix}`].toFixed(1)}`,
        );
      }
    });
  }
}

/** Creates a {@link ModulePartitionCallback}. */
export function modulePartition(args: ModulePartitionArgs = {}): ModulePartitionCallback {
  return new ModulePartitionCallback(args);
}
