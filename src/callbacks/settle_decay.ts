/**
 * The learning-rate decay of `modulePartition({ decayWhenSettled })`: the optimizer's
 * rate stays where `fit` began until the module partition has settled, then decays
 * geometrically to `factor`× at the last epoch, while the proximal steps keep the initial
 * rate (their thresholds η₀·α·C and η₀·λ stay where the regularizer puts them).
 *
 * Why: with Adam every weight moves by about η per step, so the edges at the edge
 * budget's boundary keep trading places and a partition that has formed keeps flapping;
 * smaller steps settle it. A decay from a fixed epoch stops a partition that has not
 * formed yet (docs/STRUCTURE.md, "Settling the partition"); started when the partition
 * has stopped changing, the same decay waits as long as that takes. Ours, not the papers'.
 *
 * "Settled": after each epoch, every Neural Module layer's modules agree with the
 * previous epoch's to at least `agreement` (adjusted Rand index), `patience` epochs in a
 * row, while some layer has a module of two or more nodes (an acyclic graph, all
 * singletons, is trivially unchanged and does not count). If that never happens the rate
 * stays constant, unless `latest` starts the decay at a fixed fraction of the epochs.
 */
import { adjustedRandIndex } from '../analysis/partition_agreement.js';
import { checkInt, checkKeys, checkNumber, fail } from '../utils/errors.js';

/** Arguments of `modulePartition({ decayWhenSettled })`. */
export interface DecayWhenSettledArgs {
  /** The rate's factor at the last epoch, in (0, 1]. Default: 0.1. */
  factor?: number;
  /** Epochs in a row whose modules must agree with the previous epoch's before the decay starts (integer ≥ 1). Default: 10. */
  patience?: number;
  /** The adjusted Rand index with the previous epoch's modules that counts as unchanged, in (0, 1]. Default: 0.95. */
  agreement?: number;
  /**
   * The fraction of the epochs, in [0, 1), by which the decay starts even if the modules have
   * not settled (epoch ⌊latest·E⌋), for long runs whose partition keeps changing until a
   * decay settles it; null: only a settled partition starts it. Caveat: a start before the
   * partition has formed stops it short (short runs). Default: null.
   */
  latest?: number | null;
}

/** {@link DecayWhenSettledArgs} with every default filled in. */
export type ResolvedDecayWhenSettled = Required<DecayWhenSettledArgs>;

const KEYS = ['factor', 'patience', 'agreement', 'latest'] as const;

/** Validates and fills in `decayWhenSettled` (`true`: all defaults). */
export function resolveDecayWhenSettled(where: string, value: DecayWhenSettledArgs | boolean): ResolvedDecayWhenSettled {
  if (value === true) value = {};
  if (value == null || typeof value !== 'object' || Array.isArray(value))
    fail(where, 'decayWhenSettled', value, 'true or an object { factor?, patience?, agreement?, latest? }');
  checkKeys(`${where}.decayWhenSettled`, value, KEYS);
  return {
    factor: checkNumber(where, 'decayWhenSettled.factor', value.factor ?? 0.1, 0, 1, { lo: true }),
    patience: checkInt(where, 'decayWhenSettled.patience', value.patience ?? 10, 1),
    agreement: checkNumber(where, 'decayWhenSettled.agreement', value.agreement ?? 0.95, 0, 1, { lo: true }),
    latest: value.latest == null ? null : checkNumber(where, 'decayWhenSettled.latest', value.latest, 0, 1, { hi: true }),
  };
}

/** The state of one `fit`: the previous partitions, the streak, the epoch the decay starts. */
export class SettleDecay {
  /** The epoch (as `fit` counts them) from which the rate decays; null: not settled yet. */
  start: number | null = null;
  private previous: Int32Array[] | null = null;
  private streak = 0;

  constructor(readonly args: ResolvedDecayWhenSettled) {}

  /**
   * Records the partitions at the end of `epoch` (one label array per layer, kept as
   * given: the caller hands them over) and returns each layer's agreement with the
   * previous epoch (NaN at the first).
   */
  observe(epoch: number, labels: Int32Array[], anyModule: boolean): number[] {
    const prev = this.previous;
    const agreement = labels.map((l, i) => (prev && prev[i]?.length === l.length ? adjustedRandIndex(prev[i], l) : NaN));
    this.previous = labels;
    const unchanged = anyModule && agreement.length > 0 && agreement.every((a) => a >= this.args.agreement);
    this.streak = unchanged ? this.streak + 1 : 0;
    if (this.start === null && this.streak >= this.args.patience) this.start = epoch + 1;
    return agreement;
  }

  /** The epoch the decay starts in a fit of `epochs` epochs: the settled one, or ⌊latest·E⌋ if earlier; null: none yet. */
  startIn(epochs: number): number | null {
    const latest = this.args.latest == null ? null : Math.floor(this.args.latest * epochs);
    if (latest === null) return this.start;
    return this.start === null ? latest : Math.min(this.start, latest);
  }

  /** The rate's factor in `epoch` of a fit of `epochs` epochs: 1 before the start s, then factor^((e − s + 1)/(E − s)). */
  rateFactor(epoch: number, epochs: number): number {
    const s = this.startIn(epochs);
    if (s === null || epoch < s) return 1;
    return Math.pow(this.args.factor, Math.min(1, (epoch - s + 1) / Math.max(1, epochs - s)));
  }
}
