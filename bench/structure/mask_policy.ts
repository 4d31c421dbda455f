/**
 * Bench-side kept-edge policies for structure-learning experiments (prototypes, not
 * library code): they replace a NeuralModule layer's top-K magnitude mask after each
 * re-partition by a mask chosen with memory of the previous one.
 *
 * - hysteresis h ≥ 0: the top-K selection ranks |W| · (1 + h) for the edges kept at the
 *   previous re-partition and |W| for the others, so an incumbent leaves only when an
 *   outsider is more than (1 + h)× larger; K stays the layer's kept-edge count.
 * - floor θ ≥ 0: after the selection, kept edges with |W| < θ · median(|W| of the kept
 *   edges) are dropped (fewer than K edges are then kept).
 *
 * - freeze: once `control.frozen` is set, re-partitions keep the mask and only re-apply
 *   the contractive bound against it (a final prune: set `floor`, call `repartition()`
 *   once, then freeze, so the remaining epochs fine-tune the kept edges).
 *
 * The wrapper calls the layer's own `repartition()` first (which applies the graph
 * constraint against the top-K mask), then installs the policy's mask through the
 * layer's `keptEdges` state (the path a loaded model takes) and re-applies the
 * contractive bound against that mask, so the solves stay contractions.
 */
import * as tf from '@tensorflow/tfjs';
import * as nm from 'tfjs-neural-modules';
import { maskFromIndices } from 'tfjs-neural-modules/internal';

export interface MaskPolicy {
  /** Incumbent bonus in the top-K ranking; 0: plain top-K. */
  hysteresis: number;
  /** Relative magnitude floor θ (fraction of the median kept |W|); 0: none. */
  floor: number;
  /** Bound of the contractive projection against the installed mask; null: none. */
  bound: number | null;
}

/** The policy's kept set (flat indices j·p + k, ascending) for the row-major p×p graph `w`. */
export function policyEdges(w: Float32Array, p: number, k: number, prev: Uint8Array | null, policy: MaskPolicy): number[] {
  const cand: number[] = [];
  for (let i = 0; i < p * p; i++) if (i % (p + 1) !== 0 && w[i] !== 0) cand.push(i);
  const score = (i: number) => Math.abs(w[i]) * (prev && prev[i] === 1 ? 1 + policy.hysteresis : 1);
  cand.sort((a, b) => score(b) - score(a) || a - b);
  let kept = cand.slice(0, k);
  if (policy.floor > 0 && kept.length > 0) {
    const tau = policy.floor * medianAbs(w, kept);
    kept = kept.filter((i) => Math.abs(w[i]) >= tau);
  }
  return kept.sort((a, b) => a - b);
}

/** Median |w[i]| over the indices `at`. */
export function medianAbs(w: Float32Array, at: number[]): number {
  const mags = at.map((i) => Math.abs(w[i])).sort((a, b) => a - b);
  return mags[mags.length >> 1] ?? 0;
}

/** The live settings of a wrapped layer: change `policy` or set `frozen` between re-partitions. */
export interface MaskControl {
  policy: MaskPolicy;
  frozen: boolean;
  /** The absolute floor of the frozen phase: θ · median kept |W| at the last unfrozen re-partition. */
  tau: number;
}

/** Replaces `layer.repartition` by the policy's version; returns its control. */
export function withMaskPolicy(layer: nm.layers.NeuralModuleLayer, p: number, initial: MaskPolicy): MaskControl {
  const control: MaskControl = { policy: { ...initial }, frozen: false, tau: 0 };
  const own = layer.repartition.bind(layer);
  let prev: Uint8Array | null = null;
  const names = () => layer.weights.map((v) => v.name.split('/').pop()!.replace(/_\d+$/, ''));
  const setGraph = (w: Float32Array) => {
    const ws = layer.getWeights().slice();
    const t = tf.tensor2d(w, [p, p]);
    ws[names().indexOf('graph')] = t;
    layer.setWeights(ws);
    t.dispose();
  };
  /** Installs the kept set (ascending flat indices) with the contractive bound re-applied against it. */
  const install = (kept: number[], w: Float32Array) => {
    const k = layer.keptEdgeCapacity();
    const idx = new Int32Array(k).fill(-1);
    kept.forEach((f, i) => (idx[i] = f));
    const mask = maskFromIndices(idx, p, 'graph', w);
    if (typeof mask === 'string') throw new Error(mask);
    if (control.policy.bound != null) nm.constraints.contractive({ bound: control.policy.bound }).project(w, mask, 1);
    const n = names();
    const gi = n.indexOf('graph');
    const ki = n.indexOf('keptEdges');
    if (gi < 0 || ki < 0) throw new Error(`weights ${n.join(', ')}: no graph / keptEdges`);
    const next = layer.getWeights().slice(); // the variables themselves: not disposed
    next[gi] = tf.tensor2d(w, [p, p]);
    next[ki] = tf.tensor1d(idx, 'int32');
    layer.setWeights(next);
    tf.dispose([next[gi], next[ki]]);
  };
  const differs = (kept: number[]) => {
    const current = layer.edges();
    return kept.length !== current.edges || !kept.every((i) => current.mask[i] === 1);
  };
  layer.repartition = () => {
    const policy = control.policy;
    if (control.frozen) {
      // the mask only shrinks: kept edges that fell below the floor fixed at the freeze (or to 0) are dropped
      const w = layer.graphValues();
      const current = layer.edges().mask;
      const cur: number[] = [];
      for (let i = 0; i < p * p; i++) if (current[i] === 1) cur.push(i);
      const kept = cur.filter((i) => w[i] !== 0 && Math.abs(w[i]) >= control.tau);
      if (differs(kept)) install(kept, w);
      else if (policy.bound != null && nm.constraints.contractive({ bound: policy.bound }).project(w, layer.edges(), 1).scale !== 1) setGraph(w);
      return layer.structure();
    }
    const before = prev;
    own();
    const w = layer.graphValues();
    const kept = policyEdges(w, p, layer.keptEdgeCapacity(), before, policy);
    control.tau = policy.floor * medianAbs(w, policyEdges(w, p, layer.keptEdgeCapacity(), before, { ...policy, floor: 0 }));
    if (differs(kept)) install(kept, w);
    prev = layer.edges().mask.slice();
    return layer.structure();
  };
  return control;
}
