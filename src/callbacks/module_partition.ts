/**
 * Re-partitions every Neural Module layer of a model during `model.fit` (also those
 * inside nested models and wrappers such as `tf.layers.timeDistributed`): the mask,
 * modules and schedule are recomputed from the current graph weights (DESIGN.md §1,
 * "Re-partition"), every epoch, every batch, or every N batches.
 *
 * It writes into the epoch logs (and so `history.history`), per layer (suffix `_i`
 * when the model has several): `nm_modules` (module count), `nm_largest` (largest
 * module), `nm_fwd_iters` and `nm_bwd_iters` (mean solver iterations per call over
 * the epoch).
 *
 * @example
 * await model.fit(x, y, { epochs: 20, callbacks: [nm.callbacks.modulePartition({ every: 'epoch' })] });
 */
import { checkKeys, fail } from '../utils/errors.js';
import { NMCallback } from './nm_callback.js';

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
   */
  proximalRate?: 'current' | 'initial';
}

/** The partition callback (see {@link modulePartition}). */
export class ModulePartitionCallback extends NMCallback {
  protected readonly where = 'modulePartition';
  readonly everyBatches: number | null;
  readonly verbose: boolean;
  readonly proximalRate: 'current' | 'initial';
  private batchCount = 0;
  /** The optimizer's rate when `fit` began (`proximalRate: 'initial'` with a proximal regularizer), else null. */
  private initialRate: number | null = null;

  constructor(args: ModulePartitionArgs = {}) {
    super();
    if (args == null || typeof args !== 'object')
      fail('modulePartition', 'args', args, "an object { every?: 'epoch' | 'batch' | number, verbose?, proximalRate?: 'current' | 'initial' }");
    checkKeys('modulePartition', args, ['every', 'verbose', 'proximalRate']);
    const every = args.every ?? 'epoch';
    if (every === 'epoch') this.everyBatches = null;
    else if (every === 'batch') this.everyBatches = 1;
    else if (typeof every === 'number' && Number.isInteger(every) && every >= 1) this.everyBatches = every;
    else fail('modulePartition', 'every', every, "'epoch', 'batch' or an integer >= 1");
    this.verbose = args.verbose ?? false;
    const rate = args.proximalRate ?? 'current';
    if (rate !== 'current' && rate !== 'initial') fail('modulePartition', 'proximalRate', rate, "'current' or 'initial'");
    this.proximalRate = rate;
  }

  /** The resolved arguments: `new ModulePartitionCallback(cb.getConfig())` is an equivalent callback. */
  getConfig(): Required<ModulePartitionArgs> {
    const every = this.everyBatches == null ? 'epoch' : this.everyBatches === 1 ? 'batch' : this.everyBatches;
    return { every, verbose: this.verbose, proximalRate: this.proximalRate };
  }

  override async onTrainBegin(): Promise<void> {
    const layers = this.neuralModules();
    // read before any epoch-begin schedule changes it; only where a proximal step will use it
    this.initialRate = this.proximalRate === 'initial' && layers.some((l) => l.hasProximalRegularizer()) ? this.learningRate() : null;
    for (const l of layers) l.resetWarnings();
  }

  override async onEpochBegin(): Promise<void> {
    for (const l of this.neuralModules()) l.resetCounters();
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

  /** The optimizer's current learning rate η, which scales the proximal steps. */
  private learningRate(): number {
    const opt = this.requireModel().optimizer as unknown as { learningRate?: unknown; constructor: { name: string } } | undefined;
    const lr = opt?.learningRate;
    if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) {
      fail(
        this.where,
        'model.optimizer.learningRate',
        lr,
        'a finite number >= 0',
        `A graph regularizer in proximal mode scales its step by the learning rate; ${opt ? opt.constructor.name : 'the model'} has none. Use an optimizer with a learningRate (tf.train.adam, tf.train.sgd, nm.optimizers.adam, …) or proximal: false.`,
      );
    }
    return lr;
  }

  override async onEpochEnd(epoch: number, logs?: Logs): Promise<void> {
    const layers = this.neuralModules();
    layers.forEach((l, i) => {
      if (this.everyBatches == null) l.repartition();
      const s = l.structure();
      const c = l.counters;
      const suffix = layers.length > 1 ? `_${i}` : '';
      const stats = {
        [`nm_modules${suffix}`]: s.modules.length,
        [`nm_largest${suffix}`]: s.largestModule,
        [`nm_fwd_iters${suffix}`]: c.forwardCalls ? c.forwardIterations / c.forwardCalls : 0,
        [`nm_bwd_iters${suffix}`]: c.backwardCalls ? c.backwardIterations / c.backwardCalls : 0,
      };
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
