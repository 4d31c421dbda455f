/**
 * The variants of bench/structure/variants.ts: a graph regularizer spec with `~` suffixes
 * (documented in that file's header), parsed into what one run needs.
 */
import * as tf from '@tensorflow/tfjs';
import * as nm from 'tfjs-neural-modules';
import { ConstraintBase } from 'tfjs-neural-modules/internal';

export type Reg = nm.regularizers.NMRegularizer | nm.regularizers.OffDiagonalL1 | null;
export interface Variant {
  name: string;
  reg: () => Reg;
  schedule: boolean;
  /** Threshold τ of the post-repartition zeroing (the `@τ` suffix), or null. */
  tau?: number | null;
  /** Re-partition every batch instead of every epoch (the `~batch` suffix). */
  everyBatch?: boolean;
  /** Mask hysteresis and relative floor (the `~hyst:h`, `~floor:θ` suffixes); 0: off. */
  hysteresis?: number;
  floor?: number;
  /** Prune (floor θ, then shrink-only mask) at epoch fraction f (the `~prune:θ:f` suffix). */
  prune?: [number, number] | null;
  /** The Dense(100, tanh) baseline instead of a NeuralModule layer. */
  nn?: boolean;
  /** Epochs of a dense warm-up without the regularizer (the `~warm:e` suffix); 0: none. */
  warm?: number;
  /** Rate decay from epoch fraction f to factor r, proximal steps at the undecayed rate (`~decayk:f:r`); null: none. */
  decayk?: [number, number] | null;
  /** modulePartition's decayWhenSettled: patience, agreement, factor, latest (`~settle:n:τ[:r[:l]]`); null: none. */
  settle?: [number, number, number, number | null] | null;
}

/**
 * A threshold mask on top of top-K, as a graph constraint: at every re-partition the
 * off-diagonal entries with |W| < τ are set to exactly 0, and the mask never keeps a
 * zero entry, so the layer keeps min(K, #{|W| ≥ τ}) edges.
 */
export class ZeroBelow extends ConstraintBase {
  static className = 'BenchZeroBelow';
  constructor(readonly tau: number) {
    super();
  }
  override apply(w: tf.Tensor): tf.Tensor {
    const p = w.shape[0];
    const v = Float32Array.from(w.dataSync());
    for (let i = 0; i < v.length; i++) if (i % (p + 1) !== 0 && Math.abs(v[i]) < this.tau) v[i] = 0;
    return tf.tensor2d(v, [p, p]);
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { tau: this.tau };
  }
}

export function parseVariant(full: string): Variant {
  const [head, ...flags] = full.split('~');
  const [spec, tauText] = head.split('@');
  const valueOf = (key: string) => Number(flags.find((f) => f.startsWith(`${key}:`))?.split(':')[1] ?? 0);
  for (const f of flags) {
    if (f !== 'prox' && f !== 'batch' && !/^(hyst|floor|prune|warm|l1|decayk|settle):[0-9.e-]+(:[0-9.e-]+){0,3}$/.test(f))
      throw new Error(`variant ${full}: unknown suffix ~${f} (~prox, ~batch, ~hyst:h, ~floor:θ)`);
  }
  if (spec === 'nn') return { name: full, reg: () => null, schedule: false, nn: true };
  if (valueOf('l1') > 0 && !/^(rep|size|excess)/.test(spec)) throw new Error(`variant ${full}: ~l1 needs an nm() form (rep, size, excess)`);
  const v = parseBase(spec, flags.includes('prox'), valueOf('l1'));
  return {
    ...v,
    name: full,
    tau: tauText == null ? null : Number(tauText),
    everyBatch: flags.includes('batch'),
    hysteresis: valueOf('hyst'),
    warm: valueOf('warm'),
    floor: valueOf('floor'),
    prune: (() => {
      const f = flags.find((x) => x.startsWith('prune:'));
      return f ? [Number(f.split(':')[1]), Number(f.split(':')[2])] : null;
    })(),
    decayk: (() => {
      const f = flags.find((x) => x.startsWith('decayk:'));
      return f ? [Number(f.split(':')[1]), Number(f.split(':')[2])] : null;
    })(),
    settle: (() => {
      const f = flags.find((x) => x.startsWith('settle:'))?.split(':');
      return f ? [Number(f[1]), Number(f[2]), Number(f[3] ?? 0.1), f[4] === undefined ? null : Number(f[4])] : null;
    })(),
  };
}

function parseBase(spec: string, proximal = false, l1 = 0): Variant {
  const [kind, a, t] = spec.split(':');
  const alpha = Number(a);
  const need = () => {
    if (!Number.isFinite(alpha)) throw new Error(`variant ${spec}: needs a number after ':'`);
  };
  switch (kind) {
    case 'none':
      return { name: spec, reg: () => null, schedule: false };
    case 'l1':
      need();
      return { name: spec, reg: () => nm.regularizers.offDiagonalL1({ l1: alpha, proximal }), schedule: false };
    case 'rep':
    case 'size':
    case 'rep+sched': {
      need();
      const form = kind === 'size' ? 'size' : 'repulsion';
      return { name: spec, reg: () => nm.regularizers.nm({ alpha, form, proximal, l1 }), schedule: kind === 'rep+sched' };
    }
    case 'excess':
    case 'excess+sched':
      need();
      return {
        name: spec,
        reg: () => nm.regularizers.nm({ alpha, form: 'excess', proximal, l1, targetSize: t == null ? null : Number(t) }),
        schedule: kind === 'excess+sched',
      };
    default:
      throw new Error(`unknown variant ${spec}`);
  }
}
