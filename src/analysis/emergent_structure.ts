/**
 * Emergent-structure analysis of a trained URN (Golkar, "Emergent Structures and
 * Lifetime Structure Evolution in Artificial Neural Networks", Sec. 2, Figs. 3–4, 6;
 * shared/DESIGN.md §3): which neurons are active, in which iteration each first
 * fires (its emergent layer), how the surviving weights run between layers, and
 * whether the structure alone reproduces the outputs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { URNLayer } from '../layers/urn/layer.js';
import { urnForward } from '../layers/urn/forward.js';
import { ConfigError, NonFiniteError, checkInt, checkKeys, checkNumber, fail, show } from '../utils/errors.js';

/** Options of {@link emergentStructure}. */
export interface EmergentStructureOptions {
  /** A neuron value counts as active when `|N_i⁽ˡ⁾| > eps`. Default: 1e-6. */
  eps?: number;
  /** Weights with `|W| > weightThreshold` are counted as synapses. Default: 1e-2. */
  weightThreshold?: number;
  /** Samples per forward chunk (memory bound). Default: 256. */
  batchSize?: number;
  /** Neuron coordinates `[x, y, z]` for the geometric counts. Default: the layer's synaptic-length positions, if any. */
  positions?: number[][];
  /** β of `d² = dx² + dy² + β·dz²` for synapse lengths. Default: the layer's synaptic-length β, else 1. */
  beta?: number;
  /**
   * Held-out inputs (e.g. the test split when `inputs` is the training split): the
   * prune check is repeated on them with the structure read from `inputs`, so a
   * neuron silent on `inputs` but used on new data shows as an output change.
   * Default: none (`prune.heldOut` is null).
   */
  heldOut?: tf.Tensor2D | number[][];
}

/** The prune check on one set of inputs. */
export interface PruneCheck {
  numSamples: number;
  /** Largest |output change| of the pruned layer against the unpruned one. */
  maxDiff: number;
  /** The same when the kept synapses with |w| ≤ `weightThreshold` are also zeroed. */
  thresholdMaxDiff: number;
  /** max |output| of the unpruned layer, for scale. */
  outputScale: number;
  /** The unpruned layer's outputs, `[numSamples × outputUnits]` row-major. */
  outputs: Float32Array;
  /** The pruned layer's outputs (same layout). */
  prunedOutputs: Float32Array;
}

/** Synapse counts by direction. */
export interface DirectionCounts {
  forward: number;
  backward: number;
  lateral: number;
}

/** What {@link emergentStructure} finds. */
export interface EmergentStructure {
  neurons: number;
  iterations: number;
  inputUnits: number;
  outputUnits: number;
  numSamples: number;
  eps: number;
  weightThreshold: number;
  /** `activeAt[l][i] = 1` when neuron i is active at iteration l (l = 0 … I) on some sample. */
  activeAt: Uint8Array[];
  /** Mean `|N_i⁽ˡ⁾|` over the samples, `[l][i]`. */
  meanActivity: Float32Array[];
  /** Emergent layer of each neuron: the first iteration at which it is active; −1 if never. Active input neurons are layer 0. */
  layerOf: Int32Array;
  /** Active neurons sorted by (layer, index): the order of the paper's Figs. 3–4. */
  active: number[];
  activeCount: number;
  /** Active neurons per emergent layer 0 … I (inputs, hidden and outputs together). */
  layerWidths: number[];
  /** Active hidden neurons (neither input nor output neurons) per layer 1 … I. */
  hiddenLayerWidths: number[];
  /** Active neurons active at more than one iteration (reused: not a pure MLP reading). */
  multiIteration: number;
  /**
   * Synapses `|W[j,k]| > weightThreshold` between active neurons, by emergent layer:
   * forward `layer(k) > layer(j)` (of which `skip`: by 2 or more), backward `<`, lateral `=`.
   * `inactive`: above-threshold synapses touching an inactive neuron.
   */
  weights: DirectionCounts & { skip: number; inactive: number; total: number };
  /**
   * With positions: the same synapses classified by height z (forward = towards
   * larger z, Fig. 6), and their mean length (plain, and weighted by |W|).
   */
  geometric: (DirectionCounts & { meanLength: number; weightedMeanLength: number }) | null;
  /**
   * Prune check. The emergent structure keeps synapse j→k iff some iteration l < I
   * has j active at l and k active at l + 1 (the unrolled network of Fig. 1b), and
   * keeps the biases of active neurons; every other weight and bias is zeroed.
   * `maxDiff`: the largest |output change| on the given inputs; `thresholdMaxDiff`:
   * the same when the kept synapses below `weightThreshold` are also zeroed;
   * `outputScale`: max |output|, for scale. Meaningful for φ(0) = 0 (not sigmoid).
   * `heldOut`: the same check on `opts.heldOut` (structure still read from `inputs`),
   * with both sets of outputs; null without `opts.heldOut`.
   */
  prune: { keptWeights: number; maxDiff: number; thresholdMaxDiff: number; outputScale: number; heldOut: PruneCheck | null };
}

const KNOWN = ['eps', 'weightThreshold', 'batchSize', 'positions', 'beta', 'heldOut'];

/** Checks rows or a tensor of width `width` (finite values), and returns a tensor (new when given rows). */
function checkInputs(where: string, name: string, inputs: unknown, width: number): tf.Tensor2D {
  if (Array.isArray(inputs)) {
    inputs.forEach((row, r) => {
      if (!Array.isArray(row) || row.length !== width || !row.every((v) => typeof v === 'number'))
        fail(where, `${name}[${r}]`, row, `an array of ${width} numbers (one row)`);
    });
  } else if (!(inputs instanceof tf.Tensor)) {
    fail(where, name, inputs, `a 2-D tensor or an array of rows of ${width} numbers`);
  }
  const rows = Array.isArray(inputs) ? (inputs as number[][]) : null;
  const x = rows ? tf.tensor2d(rows, [rows.length, width]) : (inputs as tf.Tensor2D);
  try {
    if (x.rank !== 2 || x.shape[1] !== width) fail(where, name, `shape [${x.shape}]`, `shape [n, ${width}]`);
    const n = x.shape[0];
    if (n < 1) fail(where, name, 'an empty batch', 'at least one sample');
    // NaN/Inf would propagate into every count and the prune check (maxDiff: NaN).
    const xv = rows ? null : x.dataSync();
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < width; c++) {
        const v = xv ? xv[r * width + c] : rows![r][c];
        if (!Number.isFinite(v)) {
          throw new NonFiniteError(
            `${where}: '${name}' must be finite numbers; received ${show(v)} at row ${r}, column ${c} (the first non-finite entry of ${n} rows). Clean or impute the data first.`,
          );
        }
      }
    }
  } catch (e) {
    if (rows) x.dispose();
    throw e;
  }
  return x;
}

/**
 * Analyses the emergent structure of a built URN layer on some inputs.
 *
 * When to use: after training, to read the URN as the network it has become (an MLP
 * with emergent depth and widths, a locally connected net) and to check that reading
 * by pruning everything else. Caveats: "active" is data-dependent (pass the test
 * set); with residual modes a neuron may be active at several iterations, so layers
 * are first-activation layers; the work is O(I·S²) in JavaScript plus I forward passes.
 * Inputs must be finite: NaN or Inf anywhere throws a NonFiniteError naming the
 * first bad row and column; ragged rows, bad options and positions throw a ConfigError.
 *
 * @example
 * ```ts
 * const s = nm.analysis.emergentStructure(model.layers[0] as nm.layers.URNLayer, xTest, { eps: 1e-6 });
 * console.log(s.activeCount, s.hiddenLayerWidths, s.prune.maxDiff);
 * ```
 */
export function emergentStructure(layer: URNLayer, inputs: tf.Tensor2D | number[][], opts: EmergentStructureOptions = {}): EmergentStructure {
  const where = 'emergentStructure';
  if (!(layer instanceof URNLayer)) fail(where, 'layer', typeof layer, 'a URNLayer (nm.layers.urn)');
  if (!layer.built) throw new ConfigError(`${where}: the URN layer is not built yet; call it on data or add it to a model first.`);
  checkKeys(where, opts, KNOWN);
  const eps = checkNumber(where, 'eps', opts.eps ?? 1e-6, 0);
  const weightThreshold = checkNumber(where, 'weightThreshold', opts.weightThreshold ?? 1e-2, 0);
  const batchSize = checkInt(where, 'batchSize', opts.batchSize ?? 256, 1);
  const syn = layer.resolved.synapticLength;
  const positions = opts.positions ?? syn?.positions() ?? null;
  const beta = checkNumber(where, 'beta', opts.beta ?? syn?.beta ?? 1, 0);
  const spec = layer.spec;
  const { neurons: S, iterations: I, outputUnits: dOut } = spec;
  if (positions != null) {
    if (!Array.isArray(positions) || positions.length !== S)
      fail(where, 'positions', Array.isArray(positions) ? `${positions.length} entries` : positions, `one [x, y, z] per neuron (${S})`);
    positions.forEach((q, i) => {
      if (!Array.isArray(q) || q.length !== 3 || !q.every((v) => typeof v === 'number' && Number.isFinite(v)))
        fail(where, `positions[${i}]`, q, '[x, y, z] with finite numbers');
    });
  }
  const dInput = layer.inputUnits;
  const x = checkInputs(where, 'inputs', inputs, dInput);
  let xHeld: tf.Tensor2D | null = null;
  try {
    xHeld = opts.heldOut == null ? null : checkInputs(where, 'heldOut', opts.heldOut, dInput);
    const n = x.shape[0];
    const [kernelVar, biasVar] = layer.getWeights();
    const W = kernelVar.dataSync() as Float32Array;
    const b = biasVar.dataSync() as Float32Array;

    // 1. Activity per neuron and iteration.
    const activeAt = Array.from({ length: I + 1 }, () => new Uint8Array(S));
    const sums = Array.from({ length: I + 1 }, () => new Float64Array(S));
    for (let start = 0; start < n; start += batchSize) {
      const size = Math.min(batchSize, n - start);
      const states = tf.tidy(() => layer.states(tf.slice(x, [start, 0], [size, x.shape[1]])));
      states.forEach((st, l) => {
        const v = st.dataSync();
        for (let r = 0; r < size; r++) {
          for (let i = 0; i < S; i++) {
            const a = Math.abs(v[r * S + i]);
            sums[l][i] += a;
            if (a > eps) activeAt[l][i] = 1;
          }
        }
      });
      tf.dispose(states);
    }
    const meanActivity = sums.map((s) => Float32Array.from(s, (v) => v / Math.max(1, n)));

    // 2. Emergent layers.
    const layerOf = new Int32Array(S).fill(-1);
    let multiIteration = 0;
    for (let i = 0; i < S; i++) {
      let times = 0;
      for (let l = 0; l <= I; l++) {
        if (activeAt[l][i]) {
          if (layerOf[i] < 0) layerOf[i] = l;
          times++;
        }
      }
      if (times > 1) multiIteration++;
    }
    const active: number[] = [];
    for (let i = 0; i < S; i++) if (layerOf[i] >= 0) active.push(i);
    active.sort((p, q) => layerOf[p] - layerOf[q] || p - q);
    const layerWidths = new Array<number>(I + 1).fill(0);
    const hiddenLayerWidths = new Array<number>(I).fill(0);
    const dIn = dInput;
    for (const i of active) {
      layerWidths[layerOf[i]]++;
      if (i >= dIn && i < S - dOut && layerOf[i] >= 1) hiddenLayerWidths[layerOf[i] - 1]++;
    }

    // 3. Synapse directions (by layer, and by height when positioned).
    const weights = { forward: 0, backward: 0, lateral: 0, skip: 0, inactive: 0, total: 0 };
    const geo = positions ? { forward: 0, backward: 0, lateral: 0, meanLength: 0, weightedMeanLength: 0 } : null;
    let lengthSum = 0;
    let weightedLength = 0;
    let weightSum = 0;
    for (let j = 0; j < S; j++) {
      for (let k = 0; k < S; k++) {
        const w = Math.abs(W[j * S + k]);
        if (!(w > weightThreshold)) continue;
        weights.total++;
        if (layerOf[j] < 0 || layerOf[k] < 0) {
          weights.inactive++;
          continue;
        }
        const delta = layerOf[k] - layerOf[j];
        if (delta > 0) weights.forward++;
        else if (delta < 0) weights.backward++;
        else weights.lateral++;
        if (delta >= 2) weights.skip++;
        if (geo && positions) {
          const [xj, yj, zj] = positions[j];
          const [xk, yk, zk] = positions[k];
          const dz = zk - zj;
          if (dz > 1e-9) geo.forward++;
          else if (dz < -1e-9) geo.backward++;
          else geo.lateral++;
          const d = Math.sqrt((xk - xj) ** 2 + (yk - yj) ** 2 + beta * dz * dz);
          lengthSum += d;
          weightedLength += w * d;
          weightSum += w;
        }
      }
    }
    if (geo) {
      const count = geo.forward + geo.backward + geo.lateral;
      geo.meanLength = count > 0 ? lengthSum / count : 0;
      geo.weightedMeanLength = weightSum > 0 ? weightedLength / weightSum : 0;
    }

    // 4. Prune check on the unrolled structure.
    const keep = new Uint8Array(S * S);
    for (let l = 0; l < I; l++) {
      const from: number[] = [];
      const to: number[] = [];
      for (let i = 0; i < S; i++) {
        if (activeAt[l][i]) from.push(i);
        if (activeAt[l + 1][i]) to.push(i);
      }
      for (const j of from) for (const k of to) keep[j * S + k] = 1;
    }
    const pruned = new Float32Array(S * S);
    const prunedThr = new Float32Array(S * S);
    let keptWeights = 0;
    for (let e = 0; e < S * S; e++) {
      if (!keep[e]) continue;
      keptWeights++;
      pruned[e] = W[e];
      if (Math.abs(W[e]) > weightThreshold) prunedThr[e] = W[e];
    }
    const prunedBias = Float32Array.from(b, (v, i) => (layerOf[i] >= 0 ? v : 0));
    // The unpruned, pruned and thresholded weights, uploaded once for both input sets.
    const [k0, k1, k2] = [W, pruned, prunedThr].map((w) => tf.tensor2d(w, [S, S]));
    const [b0, b1] = [b, prunedBias].map((v) => tf.tensor1d(v));
    const check = (inp: tf.Tensor2D, keepOutputs: boolean): PruneCheck =>
      tf.tidy(() => {
        const y0 = urnForward(inp, k0, b0, spec).output;
        const y1 = urnForward(inp, k1, b1, spec).output;
        const y2 = urnForward(inp, k2, b1, spec).output;
        const [d1, d2, scale] = [tf.max(tf.abs(tf.sub(y1, y0))), tf.max(tf.abs(tf.sub(y2, y0))), tf.max(tf.abs(y0))].map((t) => t.dataSync()[0]);
        return {
          numSamples: inp.shape[0],
          maxDiff: d1,
          thresholdMaxDiff: d2,
          outputScale: scale,
          outputs: keepOutputs ? (y0.dataSync() as Float32Array) : new Float32Array(0),
          prunedOutputs: keepOutputs ? (y1.dataSync() as Float32Array) : new Float32Array(0),
        };
      });
    let checks: { own: PruneCheck; heldOut: PruneCheck | null };
    try {
      checks = { own: check(x, false), heldOut: xHeld == null ? null : check(xHeld, true) };
    } finally {
      for (const t of [k0, k1, k2, b0, b1]) t.dispose();
    }
    const { maxDiff, thresholdMaxDiff, outputScale } = checks.own;
    const heldOut = checks.heldOut;

    return {
      neurons: S,
      iterations: I,
      inputUnits: dIn,
      outputUnits: dOut,
      numSamples: n,
      eps,
      weightThreshold,
      activeAt,
      meanActivity,
      layerOf,
      active,
      activeCount: active.length,
      layerWidths,
      hiddenLayerWidths,
      multiIteration,
      weights,
      geometric: geo,
      prune: { keptWeights, maxDiff, thresholdMaxDiff, outputScale, heldOut },
    };
  } finally {
    if (x !== inputs) x.dispose();
    if (xHeld != null && xHeld !== opts.heldOut) xHeld.dispose();
  }
}
