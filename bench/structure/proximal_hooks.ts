/**
 * Bench-side changes to a graph regularizer's proximal step for the planted benchmark
 * (planted.ts arms `+am` and `+out`; prototypes, not library code). Each wraps
 * `reg.proximalStep`, which the `modulePartition` callback calls after every batch.
 */
import type * as tf from '@tensorflow/tfjs';
import type * as nm from 'tfjs-neural-modules';

interface ProximalReg {
  proximalStep(w: Float32Array, p: number, learningRate: number): number;
}

/**
 * Proximal thresholds in Adam's metric (`+am[:f]`): entry i's threshold is scaled by r/√v_i
 * (v: Adam's second moment of the graph; r: the median √v, or with f > 0 the (f·K)-th
 * largest), by soft(w, t/a) = soft(a·w, t)/a with a = √v/r. With `tracePlanted`, every
 * 480 steps prints the √v quantiles of all off-diagonal entries and of those edges.
 */
export function withAdamMetric(reg: ProximalReg, optimizer: tf.Optimizer, refRank: number, kept: number, tracePlanted: number[] | null): void {
  let calls = 0;
  const regStep = reg.proximalStep.bind(reg);
  const state = optimizer as unknown as { accumulatedSecondMoment?: ({ variable: tf.Variable } | undefined)[] };
  reg.proximalStep = (w: Float32Array, pp: number, lr: number) => {
    const acc = state.accumulatedSecondMoment?.find((e) => e && e.variable.shape[0] === pp && e.variable.shape[1] === pp);
    if (!acc) return regStep(w, pp, lr);
    const v = acc.variable.dataSync() as Float32Array;
    const a = new Float32Array(pp * pp).fill(1);
    const off: number[] = [];
    for (let i = 0; i < pp * pp; i++) if (i % (pp + 1) !== 0) off.push(Math.sqrt(v[i]) + 1e-7);
    const sorted = Float32Array.from(off).sort();
    const med = refRank === 0 ? sorted[sorted.length >> 1] : sorted[Math.max(0, sorted.length - Math.max(1, Math.round(refRank * kept)))];
    let c = 0;
    for (let i = 0; i < pp * pp; i++) if (i % (pp + 1) !== 0) a[i] = off[c++] / med;
    for (let i = 0; i < pp * pp; i++) w[i] *= a[i];
    if (tracePlanted && ++calls % 480 === 0) {
      const pv = tracePlanted.map((i) => Math.sqrt(v[i])).sort((x, y) => x - y);
      const q = (arr: ArrayLike<number>, f: number) => arr[Math.floor(f * (arr.length - 1))].toExponential(1);
      console.log(
        `  √v off-diag q50 ${q(sorted, 0.5)} q90 ${q(sorted, 0.9)} q99 ${q(sorted, 0.99)} max ${q(sorted, 1)}; planted q10 ${q(pv, 0.1)} q50 ${q(pv, 0.5)} q90 ${q(pv, 0.9)}; ref ${med.toExponential(1)}`,
      );
    }
    const zeroed = regStep(w, pp, lr);
    for (let i = 0; i < pp * pp; i++) w[i] /= a[i];
    return zeroed;
  };
}

/**
 * An extra soft threshold η·θ·scale() on the edges outside the kept mask after each proximal
 * step (`+out:<θ>[:<f>[:<f1>]]`): an unkept edge (which does not change the output, so nothing
 * checks its growth) then enters only if Adam moves it by more than that per step.
 */
export function withUnkeptThreshold(reg: ProximalReg, layer: nm.layers.NeuralModuleLayer, theta: number, scale: () => number): void {
  const inner = reg.proximalStep.bind(reg);
  reg.proximalStep = (w: Float32Array, pp: number, lr: number) => {
    let zeroed = inner(w, pp, lr);
    const f = scale();
    if (f <= 0) return zeroed;
    const mask = layer.edges().mask;
    const t = lr * theta * f;
    for (let i = 0; i < pp * pp; i++) {
      if (mask[i] === 1 || i % (pp + 1) === 0 || w[i] === 0) continue;
      const a = Math.abs(w[i]) - t;
      if (a > 0) w[i] = w[i] > 0 ? a : -a;
      else [w[i], zeroed] = [0, zeroed + 1];
    }
    return zeroed;
  };
}
