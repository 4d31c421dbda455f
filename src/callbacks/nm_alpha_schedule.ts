/**
 * The adaptive α of NM regularization (neural-modules-v3 §3.5: "for the larger
 * connected subgraph, there is an adaptive adjustment to increase α in each
 * iteration"; shared/DESIGN.md §2, "Adaptive α").
 *
 * Rule (chosen here; the paper gives no formula). Every NeuralModule layer whose
 * `graphRegularizer` is an `nm()` regularizer keeps one multiplier m_k per node
 * (initially 1; node k's effective strength is α·m_k). Every `every` epochs, from the
 * layer's current modules (z_k = size of node k's module):
 *
 *     m_k ← min(max, m_k · factor)   if z_k > targetSize   (raise: module too large)
 *     m_k ← max(min, m_k / factor)   otherwise              (relax)
 *
 * Multiplicative steps make the pressure on a persistently large module grow
 * geometrically until it splits or hits `max`, and decay at the same rate once the
 * node's module is small enough. How the node multipliers enter the edge coefficients
 * is the regularizer's (m_k for the size form, max(m_j, m_k) for the repulsion and excess forms).
 *
 * History keys per epoch (suffix `_i` when the model has several NeuralModule
 * layers, i as in `modulePartition`): `nm_alpha_mean` (mean α·m_k over nodes),
 * `nm_alpha_largest` (mean α·m_k over the nodes of the current largest module),
 * `nm_alpha_max`. They are the values in effect for the next epoch (after the update).
 *
 * When to use: together with `nm()` and `modulePartition`, listed after
 * `modulePartition` so it sees the partition of the epoch that just ended.
 *
 * Caveats: the multipliers live in the regularizer and persist across `fit` calls;
 * they are not serialized with the model. With `min` = 1 (the default) α is a floor.
 *
 * @example
 * await model.fit(x, y, { epochs: 30, callbacks: [
 *   nm.callbacks.modulePartition(),
 *   nm.callbacks.nmAlphaSchedule({ targetSize: 10, factor: 1.25, max: 10 }),
 * ] });
 */
import type { NeuralModuleLayer } from '../layers/neural_module/layer.js';
import { NMRegularizer } from '../regularizers/nm_regularizer.js';
import { ConfigError, checkInt, checkKeys, checkNumber, fail } from '../utils/errors.js';
import { neuralModuleLayers } from './find_layers.js';
import { NMCallback } from './nm_callback.js';

type Logs = Record<string, unknown>;

/** Arguments of {@link nmAlphaSchedule}. */
export interface NMAlphaScheduleArgs {
  /** Module size above which a node's α grows (integer ≥ 1). Default: ⌈√p⌉ of each layer. */
  targetSize?: number;
  /** Multiplicative step, > 1. Default: 1.25. */
  factor?: number;
  /** Lower bound of the multipliers, ≥ 0. Default: 1 (α never drops below the configured value). */
  min?: number;
  /** Upper bound of the multipliers, ≥ min. Default: 10. */
  max?: number;
  /** Update every N epochs (integer ≥ 1). Default: 1. */
  every?: number;
  /** Print one line per update. Default: false. */
  verbose?: boolean;
}

const WHERE = 'nmAlphaSchedule';

/** The adaptive-α callback (see {@link nmAlphaSchedule}). */
export class NMAlphaScheduleCallback extends NMCallback {
  protected readonly where = 'nmAlphaSchedule';
  readonly targetSize: number | null;
  readonly factor: number;
  readonly min: number;
  readonly max: number;
  readonly every: number;
  readonly verbose: boolean;

  constructor(args: NMAlphaScheduleArgs = {}) {
    super();
    if (args == null || typeof args !== 'object') fail(WHERE, 'args', args, 'an object { targetSize?, factor?, min?, max?, every?, verbose? }');
    checkKeys(WHERE, args, ['targetSize', 'factor', 'min', 'max', 'every', 'verbose']);
    this.targetSize = args.targetSize == null ? null : checkInt(WHERE, 'targetSize', args.targetSize, 1);
    this.factor = checkNumber(WHERE, 'factor', args.factor ?? 1.25, 1, Infinity, { lo: true });
    this.min = checkNumber(WHERE, 'min', args.min ?? 1, 0);
    this.max = checkNumber(WHERE, 'max', args.max ?? 10, this.min);
    if (this.min > 1 || this.max < 1) {
      throw new ConfigError(`${WHERE}: 'min' (${this.min}) and 'max' (${this.max}) must bracket the starting multiplier 1 (min <= 1 <= max).`);
    }
    this.every = checkInt(WHERE, 'every', args.every ?? 1, 1);
    this.verbose = args.verbose ?? false;
    if (typeof this.verbose !== 'boolean') fail(WHERE, 'verbose', this.verbose, 'a boolean');
  }

  /** The resolved arguments (`targetSize` null: ⌈√p⌉): `new NMAlphaScheduleCallback(cb.getConfig())` is equivalent. */
  getConfig(): Omit<Required<NMAlphaScheduleArgs>, 'targetSize'> & { targetSize: number | null } {
    return { targetSize: this.targetSize, factor: this.factor, min: this.min, max: this.max, every: this.every, verbose: this.verbose };
  }

  /** The target size used for a layer (`targetSize`, or ⌈√p⌉). */
  targetFor(layer: NeuralModuleLayer): number {
    return this.targetSize ?? Math.ceil(Math.sqrt(layer.options.units));
  }

  private scheduled(): Array<{ layer: NeuralModuleLayer; reg: NMRegularizer; suffix: string }> {
    const all = neuralModuleLayers(this.requireModel());
    const out: Array<{ layer: NeuralModuleLayer; reg: NMRegularizer; suffix: string }> = [];
    all.forEach((layer, i) => {
      const reg = layer.options.graphRegularizer;
      if (reg instanceof NMRegularizer) out.push({ layer, reg, suffix: all.length > 1 ? `_${i}` : '' });
    });
    return out;
  }

  override async onTrainBegin(): Promise<void> {
    if (this.scheduled().length === 0) {
      throw new ConfigError(
        `${WHERE}: the model has no NeuralModule layer with an nm() graphRegularizer; add graphRegularizer: nm.regularizers.nm({ alpha }) or remove this callback.`,
      );
    }
  }

  override async onEpochEnd(epoch: number, logs?: Logs): Promise<void> {
    const update = (epoch + 1) % this.every === 0;
    for (const { layer, reg, suffix } of this.scheduled()) {
      const s = layer.structure();
      let m = reg.nodeMultipliers();
      if (m == null) continue;
      if (update) {
        const target = this.targetFor(layer);
        const z = new Int32Array(m.length);
        s.modules.forEach((nodes) => nodes.forEach((v) => (z[v] = nodes.length)));
        for (let k = 0; k < m.length; k++) {
          m[k] = z[k] > target ? Math.min(this.max, m[k] * this.factor) : Math.max(this.min, m[k] / this.factor);
        }
        reg.setNodeMultipliers(m);
        m = reg.nodeMultipliers()!;
      }
      const alpha = reg.alpha;
      const largest = s.modules.reduce((best, nodes) => (nodes.length > best.length ? nodes : best), [] as number[]);
      let sum = 0;
      let top = 0;
      for (const v of m) {
        sum += v;
        if (v > top) top = v;
      }
      const meanLargest = largest.length ? largest.reduce((a, v) => a + m![v], 0) / largest.length : 0;
      const stats = {
        [`nm_alpha_mean${suffix}`]: (alpha * sum) / m.length,
        [`nm_alpha_largest${suffix}`]: alpha * meanLargest,
        [`nm_alpha_max${suffix}`]: alpha * top,
      };
      if (logs) Object.assign(logs, stats);
      if (this.verbose && update) {
        console.log(
          `epoch ${epoch + 1} ${layer.name}: α mean ${stats[`nm_alpha_mean${suffix}`].toExponential(2)}, ` +
            `largest module (${largest.length}) ${stats[`nm_alpha_largest${suffix}`].toExponential(2)}, max ${stats[`nm_alpha_max${suffix}`].toExponential(2)}`,
        );
      }
    }
  }
}

/** Creates an {@link NMAlphaScheduleCallback}: the adaptive α of the v3 paper (rule in the file comment). */
export function nmAlphaSchedule(args: NMAlphaScheduleArgs = {}): NMAlphaScheduleCallback {
  return new NMAlphaScheduleCallback(args);
}
