/**
 * Bench-side prune-and-regrow of the kept edges, after RigL (Evci et al. 2020, "Rigging
 * the Lottery: Making All Tickets Winners"): a prototype for the planted benchmark, not
 * library code.
 *
 * Without it, every edge outside the kept mask gets the straight-through gradient, and
 * Adam moves it by about η per step whenever that gradient keeps its sign, so with noisy
 * targets edges that only fit the noise grow until they displace planted ones
 * (docs/STRUCTURE.md, "20×15 with 10 % noise"). Here an edge outside the mask is held at
 * exactly 0 after every step, so it cannot drift in. The mask changes only through the
 * proximal steps (which zero kept edges and so free slots of the edge budget) and through
 * regrowth events: every `every` steps until `end` of training, the fraction
 * f(t) = fraction/2·(1 + cos(π·t/end)) of the kept edges with the smallest |W| is dropped
 * (set to 0), and the free slots are filled with the unkept edges of largest |m|, m
 * being Adam's first moment of the graph (the straight-through gradient averaged over
 * about the last 10 steps), each started at ±`seedMagnitude` in its descent direction.
 * A grown edge then stays while its own gradient keeps it above the next drops.
 *
 * The policy runs inside the regularizer's proximal step (after the optimizer's update
 * and before the re-partition of the same batch), so it needs a proximal regularizer and
 * `modulePartition({ every: 1 })`; the layer's top-K then keeps exactly the non-zero
 * off-diagonal entries, which never outnumber the budget K.
 */
import type * as tf from '@tensorflow/tfjs';
import type * as nm from 'tfjs-neural-modules';

export interface RegrowthOptions {
  /** Steps between regrowth events. */
  every: number;
  /** Drop fraction at the first event (decays to 0 at `end`). */
  fraction: number;
  /** Fraction of the training steps after which no more events happen. */
  end: number;
  /** Total training steps (epochs × batches per epoch). */
  totalSteps: number;
  /** The kept-edge budget K. */
  budget: number;
  /** Magnitude a grown edge starts at. Default 1e-6. */
  seedMagnitude?: number;
  /** Called after each event with the step, the kept edges before it, the dropped and the grown ones (tracing). */
  onEvent?: (step: number, kept: number[], dropped: number[], grown: number[]) => void;
}

/** What the policy did, for the run record. */
export interface RegrowthStats {
  events: number;
  grown: number;
}

interface ProximalReg {
  proximalStep(w: Float32Array, p: number, learningRate: number): number;
}

/** The Adam first-moment variable of the p×p graph, or null before Adam's first step. */
function firstMoment(optimizer: tf.Optimizer, p: number): tf.Variable | null {
  const acc = (optimizer as unknown as { accumulatedFirstMoment?: ({ variable: tf.Variable } | undefined)[] }).accumulatedFirstMoment;
  return acc?.find((e) => e && e.variable.shape[0] === p && e.variable.shape[1] === p)?.variable ?? null;
}

/** Wraps `reg.proximalStep` with the prune-and-regrow policy; returns its live statistics. */
export function withRegrowth(layer: nm.layers.NeuralModuleLayer, reg: ProximalReg, optimizer: tf.Optimizer, p: number, opts: RegrowthOptions): RegrowthStats {
  const stats: RegrowthStats = { events: 0, grown: 0 };
  const inner = reg.proximalStep.bind(reg);
  const seedMagnitude = opts.seedMagnitude ?? 1e-6;
  const endStep = Math.floor(opts.end * opts.totalSteps);
  let step = 0;
  reg.proximalStep = (w: Float32Array, pp: number, lr: number) => {
    const zeroed = inner(w, pp, lr);
    step++;
    const mask = layer.edges().mask;
    const kept: number[] = [];
    for (let i = 0; i < pp * pp; i++) {
      if (i % (pp + 1) === 0) continue;
      if (mask[i] === 0) w[i] = 0;
      else if (w[i] !== 0) kept.push(i);
    }
    if (step % opts.every !== 0 || step >= endStep) return zeroed;
    const m = firstMoment(optimizer, pp);
    if (!m) return zeroed;
    const f = (opts.fraction / 2) * (1 + Math.cos((Math.PI * step) / endStep));
    kept.sort((a, b) => Math.abs(w[a]) - Math.abs(w[b]) || a - b);
    const drop = Math.floor(f * kept.length);
    for (let r = 0; r < drop; r++) w[kept[r]] = 0;
    const free = opts.budget - (kept.length - drop);
    if (free <= 0) return zeroed;
    const g = m.dataSync() as Float32Array;
    const candidates: number[] = [];
    for (let i = 0; i < pp * pp; i++) if (i % (pp + 1) !== 0 && w[i] === 0 && g[i] !== 0) candidates.push(i);
    candidates.sort((a, b) => Math.abs(g[b]) - Math.abs(g[a]) || a - b);
    const grow = Math.min(free, candidates.length);
    // dropped edges may come straight back when their gradient is among the largest
    for (let r = 0; r < grow; r++) w[candidates[r]] = g[candidates[r]] > 0 ? -seedMagnitude : seedMagnitude;
    stats.events++;
    stats.grown += grow;
    opts.onEvent?.(step, kept, kept.slice(0, drop), candidates.slice(0, grow));
    return zeroed;
  };
  return stats;
}
