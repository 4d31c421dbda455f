/**
 * The arms of the structure benchmarks (planted.ts, readout.ts): a graph regularizer,
 * then options joined with '+':
 *   none | l1:<λ> | size:<α> | rep:<α> | excess:<α>[:<t>]
 *   oracle                      the teacher's own weights and mask (no training; planted.ts only)
 *   …+prox                      the regularizer in proximal mode (`proximal: true`)
 *   …+x2 / …+x:<f>              density 2× / f× the planted edge count (default 1×); …+dense: density 1
 *   …+every:<n>                 re-partition every n batches (default: every epoch)
 *   …+sgd                       SGD instead of Adam
 *   …+gsgd:<η>                  the graph by plain SGD at rate η (the proximal steps too), the other weights
 *                               by Adam (split_optimizer.ts; α and λ are then in gradient units)
 *   …+eps:<ε>                   Adam's ε (default tfjs' 1e-7): gradients much smaller than ε move a weight
 *                               by less than η per step (SGD-like at rate η/ε), larger ones as in Adam
 *   …+contractive:<b> / …+free  the graph constraint's bound / no constraint (default: the layer's)
 *   …+warm:<e>                  like anneal:<e>, but the dense warm-up has no regularizer
 *   …+l1:<λ>                    nm()'s uniform L1 term (`l1: λ`) on top of the form (size, rep, excess)
 *   …+sz:<p0>[:<a>[:<b>]]       size-aware strengths: the α and λ given hold at p0 nodes; at p nodes the
 *                               regularizer gets α·(p0/p)^a and λ·(p0/p)^b (defaults a = 1, b = 0.5)
 *   …+rate:initial              modulePartition({ proximalRate: 'initial' }) (default 'current')
 *   …+am[:<f>]                  proximal thresholds in Adam's metric: entry i's threshold is scaled by
 *                               r/√v_i (v: Adam's second moment of the graph; r: the median √v, or with f
 *                               the (f·K)-th largest, K the kept-edge budget), so an edge whose gradient is
 *                               small against the reference is held at zero (planted.ts only)
 *   …+out:<θ>[:<f>]             an extra soft threshold η·θ on the edges outside the kept mask after every
 *                               proximal step, from epoch fraction f on (default 0): an unkept edge (which does
 *                               not change the output, so nothing checks its growth) enters only if Adam moves
 *                               it by more than θ·η per step
 *   …+out:<θ>:<f>:<f1>          the same threshold rising linearly from 0 at epoch fraction f to θ at f1
 *   …+gate:<k>[:<T>]            replication gate (replication_gate.ts): every T epochs (default 1) an unkept
 *                               edge is allowed only if its gradient has one sign on all k folds of the
 *                               training rows; the others are set to 0 after each proximal step (planted.ts only)
 *   …+rigl:<T>:<f>[:<e>]        prune and regrow (regrowth.ts, after RigL): unkept edges held at 0; every T steps
 *                               until fraction e of training (default 0.75) the f·(1 + cos)/2 smallest kept edges
 *                               are dropped and the free slots filled by the unkept edges of largest Adam |m|
 *                               (needs +prox and +every:1; planted.ts only)
 *   …+settle:<n>:<τ>[:<r>[:<l>]]  modulePartition({ decayWhenSettled: { patience: n, agreement: τ, factor: r,
 *                               latest: l } }): Adam's rate decays to r× (default 0.1) at the last epoch from
 *                               the epoch after n epochs in a row whose modules agree with the previous epoch's
 *                               to an ARI ≥ τ, or from epoch fraction l at the latest (default: none); the
 *                               proximal steps at the initial rate (planted.ts only)
 *   …+from:teacher              start from the teacher's weights and mask, then train (a diagnostic:
 *                               does the trained objective keep the planted graph?)
 *   …+anneal:<e>, +hyst:<h>, +floor:<θ>, +decay:<f>:<r>, +decayk:<f>:<r>, +prune:<θ>:<f>, +final:<n>
 *                               planted.ts only (see its header)
 */
import * as nm from 'tfjs-neural-modules';

export type GraphRegularizer = ReturnType<typeof nm.regularizers.nm> | ReturnType<typeof nm.regularizers.offDiagonalL1>;

export interface Arm {
  name: string;
  /** The regularizer for a layer of p nodes (p matters only with `+sz`). */
  reg: ((p: number) => GraphRegularizer | null) | 'oracle';
  densityFactor: number;
  every: number | null;
  sgd: boolean;
  /** The graph's SGD rate (`gsgd:<η>`); null: the graph takes the model's optimizer. */
  graphSgd: number | null;
  /** Adam's ε (`eps:<ε>`); null: tfjs' default. */
  adamEpsilon: number | null;
  /** Bound of nm.constraints.contractive at each re-partition; null: the layer's default; 'none': no constraint. */
  bound: number | null | 'none';
  /** The regularizer in proximal mode (`proximal: true`). */
  proximal: boolean;
  /** Epochs of a dense warm-up (density 1, same regularizer) whose weights start the sparse layer; 0: none. */
  anneal: number;
  /** The dense warm-up runs without the regularizer (`warm:<e>`). */
  annealPlain: boolean;
  /** Mask hysteresis h (0: plain top-K). */
  hysteresis: number;
  /** Relative magnitude floor θ (0: none). */
  floor: number;
  /** Learning-rate decay: start epoch fraction and final factor; null: constant. */
  decay: [number, number] | null;
  /**
   * With `decay`: the proximal steps keep the undecayed learning rate, so the thresholds
   * η·α·C and η·λ stay constant while Adam's steps shrink (`decayk:<f>:<r>`; false: they
   * shrink with η, as with `decay`).
   */
  decayConstThreshold: boolean;
  /** modulePartition's `proximalRate` (`+rate:initial`); default 'current'. */
  proximalRate: 'current' | 'initial';
  /** Final re-partition from the graph averaged over the last n epoch ends (0: none). */
  finalAvg: number;
  /** One pruning re-partition (floor θ) at epoch fraction f, then a frozen mask; null: none. */
  prune: [number, number] | null;
  /** nm()'s uniform L1 strength λ (`l1: λ`) on top of the form; 0: none. */
  extraL1: number;
  /** Proximal thresholds in Adam's metric (`am[:f]`; planted.ts only): null off; 0 the median √v as reference; f > 0 the (f·K)-th largest. */
  adamMetric: number | null;
  /** Extra soft threshold (in units of η) on the unkept edges after each proximal step (`out:<θ>`; 0: none). */
  outThreshold: number;
  /** The epoch fraction from which `outThreshold` applies (`out:<θ>:<f>`; default 0). */
  outFrom: number;
  /** With `out:<θ>:<f>:<f1>`: the threshold rises linearly from 0 at epoch fraction f to θ at f1; null: θ from f on. */
  outTo: number | null;
  /** Replication gate (`gate:<k>[:<T>]`, replication_gate.ts): folds k, epochs between refreshes T; null: off. */
  gate: [number, number] | null;
  /** Prune and regrow (`rigl:<T>:<f>[:<e>]`): steps between events, first drop fraction, end fraction; null: off. */
  regrowth: [number, number, number] | null;
  /** Training starts from the teacher's weights and mask (`from:teacher`; planted.ts only). */
  fromTeacher: boolean;
  /** modulePartition's decayWhenSettled (`settle:<n>:<τ>[:<r>[:<latest>]]`): patience, agreement, factor, latest; null: off. */
  settle: [number, number, number, number | null] | null;
}

export function parseArm(spec: string): Arm {
  const [base, ...opts] = spec.split('+');
  const [kind, a, b] = base.split(':');
  const l1Opt = opts.find((o) => o.startsWith('l1:'));
  const szOpt = opts.find((o) => o.startsWith('sz:'))?.split(':');
  // α and λ at p nodes: the given values hold at p0 = szOpt[1] nodes (no scaling without +sz)
  const scaleA = (p: number) => (szOpt ? Math.pow(Number(szOpt[1]) / p, Number(szOpt[2] ?? 1)) : 1);
  const scaleL = (p: number) => (szOpt ? Math.pow(Number(szOpt[1]) / p, Number(szOpt[3] ?? 0.5)) : 1);
  const l1 = (p: number) => (l1Opt ? { l1: Number(l1Opt.split(':')[1]) * scaleL(p) } : {});
  const num = (s: string | undefined) => {
    const v = Number(s);
    if (!Number.isFinite(v)) throw new Error(`arm '${spec}': '${s}' is not a number`);
    return v;
  };
  let reg: Arm['reg'];
  if (kind === 'none') reg = () => null;
  else if (kind === 'oracle') reg = 'oracle';
  else if (kind === 'l1') reg = () => nm.regularizers.offDiagonalL1({ l1: num(a), proximal: opts.includes('prox') });
  else if (kind === 'size') reg = (p) => nm.regularizers.nm({ alpha: num(a) * scaleA(p), form: 'size', proximal: opts.includes('prox'), ...l1(p) });
  else if (kind === 'rep') reg = (p) => nm.regularizers.nm({ alpha: num(a) * scaleA(p), form: 'repulsion', proximal: opts.includes('prox'), ...l1(p) });
  else if (kind === 'excess')
    reg = (p) =>
      nm.regularizers.nm({ alpha: num(a) * scaleA(p), form: 'excess', proximal: opts.includes('prox'), ...l1(p), ...(b ? { targetSize: num(b) } : {}) });
  else throw new Error(`arm '${spec}': unknown regularizer '${kind}'`);
  const arm: Arm = {
    name: spec,
    reg,
    anneal: 0,
    annealPlain: false,
    densityFactor: 1,
    every: null,
    sgd: false,
    adamEpsilon: null,
    graphSgd: null,
    bound: null,
    proximal: false,
    hysteresis: 0,
    floor: 0,
    decay: null,
    decayConstThreshold: false,
    proximalRate: 'current',
    finalAvg: 0,
    prune: null,
    extraL1: 0,
    fromTeacher: false,
    regrowth: null,
    adamMetric: null,
    outThreshold: 0,
    outFrom: 0,
    outTo: null,
    gate: null,
    settle: null,
  };
  for (const o of opts) {
    const [key, val] = o.split(':');
    if (key === 'x2') arm.densityFactor = 2;
    else if (key === 'x') arm.densityFactor = num(val);
    else if (key === 'every') arm.every = num(val);
    else if (key === 'sgd') arm.sgd = true;
    else if (key === 'eps') arm.adamEpsilon = num(val);
    else if (key === 'gsgd') arm.graphSgd = num(val);
    else if (key === 'dense') arm.densityFactor = Infinity;
    else if (key === 'anneal') arm.anneal = num(val);
    else if (key === 'warm') [arm.anneal, arm.annealPlain] = [num(val), true];
    else if (key === 'contractive') arm.bound = num(val ?? '0.9');
    else if (key === 'prox') arm.proximal = true;
    else if (key === 'free') arm.bound = 'none';
    else if (key === 'hyst') arm.hysteresis = num(val);
    else if (key === 'floor') arm.floor = num(val);
    else if (key === 'decay') arm.decay = [num(val), num(o.split(':')[2])];
    else if (key === 'decayk') [arm.decay, arm.decayConstThreshold] = [[num(val), num(o.split(':')[2])], true];
    else if (key === 'final') arm.finalAvg = num(val);
    else if (key === 'rate' && (val === 'initial' || val === 'current')) arm.proximalRate = val;
    else if (key === 'prune') arm.prune = [num(val), num(o.split(':')[2])];
    else if (key === 'l1') arm.extraL1 = num(val);
    else if (key === 'from' && val === 'teacher') arm.fromTeacher = true;
    else if (key === 'rigl') arm.regrowth = [num(val), num(o.split(':')[2]), num(o.split(':')[3] ?? '0.75')];
    else if (key === 'out') {
      const f = o.split(':');
      [arm.outThreshold, arm.outFrom, arm.outTo] = [num(val), num(f[2] ?? '0'), f[3] === undefined ? null : num(f[3])];
    } else if (key === 'gate') arm.gate = [num(val), num(o.split(':')[2] ?? '1')];
    else if (key === 'settle') {
      const f = o.split(':');
      arm.settle = [num(val), num(f[2]), num(f[3] ?? '0.1'), f[4] === undefined ? null : num(f[4])];
    } else if (key === 'am') arm.adamMetric = val === undefined ? 0 : num(val);
    else if (key === 'sz') [1, 2, 3].forEach((i) => o.split(':')[i] !== undefined && num(o.split(':')[i]));
    else throw new Error(`arm '${spec}': unknown option '${o}'`);
  }
  if (arm.settle && arm.decay) throw new Error(`arm '${spec}': +settle is a decay of its own; it does not combine with +decay/+decayk`);
  if (szOpt && (kind === 'none' || kind === 'oracle' || kind === 'l1')) throw new Error(`arm '${spec}': +sz needs an nm() form (size, rep, excess)`);
  if (arm.extraL1 > 0 && (kind === 'none' || kind === 'oracle' || kind === 'l1')) throw new Error(`arm '${spec}': +l1 needs an nm() form (size, rep, excess)`);
  return arm;
}
