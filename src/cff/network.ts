/**
 * The CFF baseline of the Neural Modules v4 paper (Table 2, appendix D): a network of
 * units on a predefined cyclic graph, propagated for a fixed number of steps and
 * trained with Hinton's forward-forward algorithm, each unit from its own local loss,
 * with no gradient through the cycle. Every modelling choice is listed in docs/guide/cff.md.
 *
 * One propagation step t (synchronous over the units, h⁰ = 0):
 *   a_u = [x ‖ s·onehot(label) ‖ n(h_v^{t−1}) for v ∈ in(u)]      (constants)
 *   h_u^t = relu(a_u · M_u + b_u)
 *   g_u^t = mean_j (h_u^t)_j²                                        (goodness)
 *   L_u^t = mean over the batch of softplus(−sign·(g_u^t − θ))        (sign +1 positive, −1 negative)
 * where n(h) = h / rms(h) removes the goodness from what a neighbour sees (Hinton 2022, §2.1).
 * During training every unit takes one Adam step on L_u^t at every step t; the
 * gradient is taken only with respect to (M_u, b_u), and a_u is built outside the
 * gradient function, so nothing flows back into the other units.
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkInt, checkKeys, ConfigError, fail, show } from '../utils/errors.js';
import { Random } from '../utils/random.js';
import { resolveCffArgs, type CFFArgs } from './args.js';
import { oneHotLabels } from './labels.js';

export { ringEdges, type CFFArgs } from './args.js';

/** Options of {@link CFFNetwork.fit}. */
export interface CFFFitArgs {
  epochs: number;
  batchSize: number;
  /** `[x, yOneHot]`: its FF loss is reported as `valLoss` after every epoch. */
  validationData?: [tf.Tensor2D, tf.Tensor2D];
  callbacks?: {
    onEpochBegin?: (epoch: number) => void | Promise<void>;
    onEpochEnd?: (epoch: number, logs: { loss: number; valLoss?: number }) => void | Promise<void>;
  };
}

/** What {@link CFFNetwork.fit} returns: one entry per trained epoch. */
export interface CFFHistory {
  loss: number[];
  valLoss?: number[];
}

/** A record of one local gradient computation (see {@link setLocalGradTrace}; tests only). */
export interface LocalGradRecord {
  unit: number;
  /** Names of the variables the gradient was taken with respect to. */
  varList: string[];
  /** Names of the gradients returned. */
  gradNames: string[];
}

let trace: ((r: LocalGradRecord) => void) | null = null;

/** @internal Observes every local gradient computation (used by the tests). */
export function setLocalGradTrace(f: ((r: LocalGradRecord) => void) | null): void {
  trace = f;
}

let instances = 0;

const softplus = (z: number) => (z > 30 ? z : Math.log1p(Math.exp(z)));

/** A cyclic network of units trained with the forward-forward algorithm. */
export class CFFNetwork {
  readonly inputDim: number;
  readonly numClasses: number;
  readonly unitSizes: readonly number[];
  readonly edges: readonly [number, number][];
  readonly steps: number;
  readonly threshold: number;
  readonly learningRate: number;
  readonly labelScale: number;
  readonly seed: number;
  /** Set to true (e.g. in `onEpochEnd`) to end `fit` after the current epoch. */
  stopTraining = false;
  /** In-neighbours of each unit, in edge order. */
  private readonly inbound: number[][];
  private readonly kernels: tf.Variable[];
  private readonly biases: tf.Variable[];
  private readonly optimizers: tf.Optimizer[];
  private readonly rng: Random;
  private disposed = false;

  constructor(args: CFFArgs) {
    const r = resolveCffArgs(args);
    ({ inputDim: this.inputDim, numClasses: this.numClasses, unitSizes: this.unitSizes, edges: this.edges, steps: this.steps } = r);
    ({ threshold: this.threshold, learningRate: this.learningRate, labelScale: this.labelScale, seed: this.seed } = r);
    const sizes = r.unitSizes;
    const n = sizes.length;
    this.inbound = Array.from({ length: n }, (_, u) => this.edges.filter((e) => e[1] === u).map((e) => e[0]));

    const init = new Random(this.seed);
    const id = instances++;
    const embedded = this.inputDim + this.numClasses;
    this.kernels = [];
    this.biases = [];
    this.optimizers = [];
    for (let u = 0; u < n; u++) {
      const rows = embedded + this.inbound[u].reduce((a, v) => a + sizes[v], 0);
      const cols = sizes[u];
      const limit = Math.sqrt(6 / (rows + cols)); // Glorot uniform
      const w = Float32Array.from({ length: rows * cols }, () => (2 * init.next() - 1) * limit);
      const k0 = tf.tensor2d(w, [rows, cols]);
      const b0 = tf.zeros([cols]);
      this.kernels.push(tf.variable(k0, true, `cff${id}_unit${u}_kernel`));
      this.biases.push(tf.variable(b0, true, `cff${id}_unit${u}_bias`));
      tf.dispose([k0, b0]);
      this.optimizers.push(tf.train.adam(this.learningRate));
    }
    this.rng = new Random(this.seed + 1);
  }

  /** Number of units. */
  get numUnits(): number {
    return this.unitSizes.length;
  }

  /** Copies of the weights: `[kernel_0, bias_0, kernel_1, bias_1, …]`, kernel_u of shape [d + C + Σ_{v∈in(u)} size_v, size_u]. */
  getWeights(): tf.Tensor[] {
    this.alive('getWeights');
    return this.kernels.flatMap((k, u) => [k.clone(), this.biases[u].clone()]);
  }

  /** Sets the weights from a list in the order of {@link getWeights}. */
  setWeights(weights: tf.Tensor[]): void {
    this.alive('setWeights');
    if (!Array.isArray(weights) || weights.length !== 2 * this.numUnits) {
      fail('CFFNetwork.setWeights', 'weights', Array.isArray(weights) ? `${weights.length} tensors` : weights, `${2 * this.numUnits} tensors`);
    }
    weights.forEach((w, i) => {
      const v = i % 2 === 0 ? this.kernels[i >> 1] : this.biases[i >> 1];
      if (!tf.util.arraysEqual(w.shape, v.shape)) fail('CFFNetwork.setWeights', `weights[${i}]`, w.shape, `shape ${show(v.shape)}`);
      v.assign(w);
    });
  }

  /** Frees the variables and the optimizers' state. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.kernels.forEach((k) => k.dispose());
    this.biases.forEach((b) => b.dispose());
    this.optimizers.forEach((o) => o.dispose());
  }

  private alive(where: string): void {
    if (this.disposed) throw new ConfigError(`CFFNetwork.${where}: the network has been disposed.`);
  }

  // ---- the pieces of one propagation step (public for the tests, not part of the documented API) ----

  /** @internal `[x ‖ s·onehot(labels)]`. */
  embed(x: tf.Tensor2D, labels: Int32Array): tf.Tensor2D {
    return tf.tidy(() => {
      const oh = tf.mul(tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), this.numClasses), 'float32'), this.labelScale);
      return tf.concat([x, oh], 1) as tf.Tensor2D;
    });
  }

  /** @internal h / rms(h) per row (0 stays 0). */
  normalize(h: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.div(h, tf.sqrt(tf.add(tf.mean(tf.square(h), 1, true), 1e-8))) as tf.Tensor2D);
  }

  /** @internal The input a_u of unit u: the embedded input and the normalised previous activities of its in-neighbours. */
  unitInput(u: number, xe: tf.Tensor2D, normed: tf.Tensor2D[]): tf.Tensor2D {
    return tf.concat([xe, ...this.inbound[u].map((v) => normed[v])], 1) as tf.Tensor2D;
  }

  /** @internal relu(a · M_u + b_u). */
  forwardUnit(u: number, a: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.relu(tf.add(tf.matMul(a, this.kernels[u]), this.biases[u])) as tf.Tensor2D);
  }

  /** @internal The local loss L_u (mean softplus(−sign·(g − θ))) and its gradient with respect to unit u's own variables only. */
  localGradients(u: number, a: tf.Tensor2D, sign: tf.Tensor1D): { loss: tf.Scalar; grads: tf.NamedTensorMap } {
    const own = [this.kernels[u], this.biases[u]];
    const { value, grads } = tf.variableGrads(() => {
      const h = tf.relu(tf.add(tf.matMul(a, this.kernels[u]), this.biases[u]));
      const g = tf.mean(tf.square(h), 1);
      return tf.mean(tf.softplus(tf.neg(tf.mul(tf.sub(g, this.threshold), sign)))) as tf.Scalar;
    }, own);
    trace?.({ unit: u, varList: own.map((v) => v.name), gradNames: Object.keys(grads) });
    return { loss: value, grads };
  }

  /**
   * @internal One training batch: T steps; at each, every unit takes one Adam step on its
   * local loss, then the activities of the step are recomputed with the updated weights.
   * Returns the sum of the T·U local losses.
   */
  trainBatch(xe: tf.Tensor2D, sign: tf.Tensor1D): tf.Scalar {
    const rows = xe.shape[0];
    let states = this.unitSizes.map((s) => tf.zeros([rows, s]) as tf.Tensor2D);
    let total = tf.scalar(0);
    for (let t = 0; t < this.steps; t++) {
      const normed = states.map((h) => this.normalize(h));
      const inputs = this.unitSizes.map((_, u) => this.unitInput(u, xe, normed));
      for (let u = 0; u < this.numUnits; u++) {
        const { loss, grads } = this.localGradients(u, inputs[u], sign);
        this.optimizers[u].applyGradients(grads);
        tf.dispose(grads);
        const next = tf.add(total, loss) as tf.Scalar;
        total.dispose();
        loss.dispose();
        total = next;
      }
      const next = inputs.map((a, u) => this.forwardUnit(u, a));
      tf.dispose([...states, ...normed, ...inputs]);
      states = next;
    }
    tf.dispose(states);
    return total;
  }

  /**
   * Goodness of every unit at every step with every label embedded: a Float32Array of
   * [N, C, U, T] (row-major). Evaluated in chunks of at most ~4096 embedded rows.
   */
  goodnessTable(x: tf.Tensor2D): Float32Array {
    this.alive('goodnessTable');
    this.checkX('goodnessTable', x);
    const [n] = x.shape;
    const c = this.numClasses;
    const per = this.numUnits * this.steps;
    const out = new Float32Array(n * c * per);
    const chunk = Math.max(1, Math.floor(4096 / c));
    for (let start = 0; start < n; start += chunk) {
      const m = Math.min(chunk, n - start);
      const labels = Int32Array.from({ length: m * c }, (_, i) => i % c);
      const g = tf.tidy(() => {
        const rows = tf.gather(
          tf.slice(x, [start, 0], [m, x.shape[1]]),
          tf.tensor1d(
            Int32Array.from({ length: m * c }, (_, i) => Math.floor(i / c)),
            'int32',
          ),
        );
        const xe = this.embed(rows as tf.Tensor2D, labels);
        let states = this.unitSizes.map((s) => tf.zeros([m * c, s]) as tf.Tensor2D);
        const cols: tf.Tensor1D[] = [];
        for (let t = 0; t < this.steps; t++) {
          const normed = states.map((h) => this.normalize(h));
          states = this.unitSizes.map((_, u) => this.forwardUnit(u, this.unitInput(u, xe, normed)));
          states.forEach((h) => cols.push(tf.mean(tf.square(h), 1) as tf.Tensor1D));
        }
        // cols are in (t, u) order; reorder to (u, t).
        const ordered = this.unitSizes.flatMap((_, u) => Array.from({ length: this.steps }, (_, t) => cols[t * this.numUnits + u]));
        return tf.stack(ordered, 1);
      });
      out.set(g.dataSync(), start * c * per);
      g.dispose();
    }
    return out;
  }

  /** Class scores [N, C]: the goodness accumulated over all units and steps with each label embedded. */
  predict(x: tf.Tensor2D): tf.Tensor2D {
    const table = this.goodnessTable(x);
    const [n] = x.shape;
    const per = this.numUnits * this.steps;
    const scores = new Float32Array(n * this.numClasses);
    for (let i = 0; i < scores.length; i++) {
      let s = 0;
      for (let k = 0; k < per; k++) s += table[i * per + k];
      scores[i] = s;
    }
    return tf.tensor2d(scores, [n, this.numClasses]);
  }

  /**
   * The FF loss with every wrong label as a negative (positive and negative halves
   * weighted equally, averaged over units and steps: the scale of the training loss)
   * and the accuracy of the highest-score class.
   */
  evaluate(x: tf.Tensor2D, yOneHot: tf.Tensor2D): { loss: number; accuracy: number } {
    this.alive('evaluate');
    const labels = this.labelsOf('evaluate', x, yOneHot);
    const table = this.goodnessTable(x);
    const c = this.numClasses;
    const per = this.numUnits * this.steps;
    const theta = this.threshold;
    let loss = 0;
    let right = 0;
    for (let i = 0; i < labels.length; i++) {
      let best = 0;
      let bestScore = -Infinity;
      for (let k = 0; k < c; k++) {
        let score = 0;
        for (let j = 0; j < per; j++) {
          const g = table[(i * c + k) * per + j];
          score += g;
          loss += k === labels[i] ? softplus(theta - g) / 2 : softplus(g - theta) / (2 * (c - 1));
        }
        if (score > bestScore) {
          bestScore = score;
          best = k;
        }
      }
      if (best === labels[i]) right++;
    }
    const n = Math.max(1, labels.length);
    return { loss: loss / (n * per), accuracy: right / n };
  }

  /** Trains with the forward-forward algorithm; see the file comment and docs/guide/cff.md. */
  async fit(x: tf.Tensor2D, yOneHot: tf.Tensor2D, args: CFFFitArgs): Promise<CFFHistory> {
    const where = 'CFFNetwork.fit';
    this.alive('fit');
    if (args == null || typeof args !== 'object') fail(where, 'args', args, 'an object { epochs, batchSize, validationData?, callbacks? }');
    checkKeys(where, args, ['epochs', 'batchSize', 'validationData', 'callbacks']);
    const epochs = checkInt(where, 'epochs', args.epochs, 1);
    const batchSize = checkInt(where, 'batchSize', args.batchSize, 1);
    const labels = this.labelsOf('fit', x, yOneHot);
    if (args.validationData !== undefined) {
      const v = args.validationData;
      if (!Array.isArray(v) || v.length !== 2) fail(where, 'validationData', v, 'a pair [x, yOneHot] of 2-D tensors');
      this.labelsOf('fit (validationData)', v[0], v[1]);
    }
    const cbs = args.callbacks ?? {};
    checkKeys(`${where} callbacks`, cbs, ['onEpochBegin', 'onEpochEnd']);
    const n = labels.length;
    const c = this.numClasses;
    const history: CFFHistory = { loss: [] };
    if (args.validationData) history.valLoss = [];
    this.stopTraining = false;
    for (let epoch = 0; epoch < epochs; epoch++) {
      await cbs.onEpochBegin?.(epoch);
      const order = this.rng.shuffle(Array.from({ length: n }, (_, i) => i));
      let total = tf.scalar(0);
      let batches = 0;
      for (let start = 0; start < n; start += batchSize) {
        const idx = order.slice(start, start + batchSize);
        const m = idx.length;
        const pos = Int32Array.from(idx, (i) => labels[i]);
        const neg = Int32Array.from(pos, (y) => (y + 1 + this.rng.int(c - 1)) % c); // uniform over the wrong labels
        const [xe, sign] = tf.tidy(() => {
          const xb = tf.gather(x, tf.tensor1d(Int32Array.from(idx), 'int32')) as tf.Tensor2D;
          const both = Int32Array.from([...pos, ...neg]);
          return [this.embed(tf.concat([xb, xb], 0) as tf.Tensor2D, both), tf.concat([tf.ones([m]), tf.neg(tf.ones([m]))]) as tf.Tensor1D] as const;
        });
        const l = this.trainBatch(xe, sign);
        tf.dispose([xe, sign]);
        const next = tf.add(total, l) as tf.Scalar;
        tf.dispose([total, l]);
        total = next;
        batches++;
      }
      const loss = total.dataSync()[0] / (batches * this.numUnits * this.steps);
      total.dispose();
      history.loss.push(loss);
      const logs: { loss: number; valLoss?: number } = { loss };
      if (args.validationData) {
        logs.valLoss = this.evaluate(args.validationData[0], args.validationData[1]).loss;
        history.valLoss!.push(logs.valLoss);
      }
      await cbs.onEpochEnd?.(epoch, logs);
      if (this.stopTraining) break;
    }
    return history;
  }

  private checkX(where: string, x: tf.Tensor2D): void {
    if (!(x instanceof tf.Tensor) || x.rank !== 2 || x.shape[1] !== this.inputDim) {
      fail(`CFFNetwork.${where}`, 'x', x instanceof tf.Tensor ? `a tensor of shape ${show(x.shape)}` : x, `a 2-D tensor of shape [N, ${this.inputDim}]`);
    }
  }

  /** Checks (x, yOneHot): at least one row, one-hot labels (labels.ts); returns the class of each row. */
  private labelsOf(where: string, x: tf.Tensor2D, y: tf.Tensor2D): Int32Array {
    this.checkX(where, x);
    if (x.shape[0] === 0)
      fail(`CFFNetwork.${where}`, 'x', `a tensor of shape ${show(x.shape)}`, 'a 2-D tensor with at least one row (there is nothing to learn from or score)');
    if (!(y instanceof tf.Tensor) || y.rank !== 2 || y.shape[1] !== this.numClasses || y.shape[0] !== x.shape[0]) {
      fail(
        `CFFNetwork.${where}`,
        'yOneHot',
        y instanceof tf.Tensor ? `a tensor of shape ${show(y.shape)}` : y,
        `a 2-D one-hot tensor of shape [${x.shape[0]}, ${this.numClasses}]`,
      );
    }
    return oneHotLabels(`CFFNetwork.${where}`, 'yOneHot', y.dataSync(), y.shape[0], this.numClasses);
  }
}

/**
 * Builds a {@link CFFNetwork}: the cyclic forward-forward baseline (CFF) of the Neural
 * Modules v4 paper (Table 2, appendix D). Choices: docs/guide/cff.md.
 *
 * @example
 * const net = nm.cff.cyclicForwardForward({ inputDim: 4, numClasses: 3, unitSizes: [8, 8, 8], steps: 3 });
 * const history = await net.fit(x, yOneHot, { epochs: 20, batchSize: 32 });
 * const scores = net.predict(x); // [N, 3]: accumulated goodness per class
 * net.dispose();
 */
export function cyclicForwardForward(args: CFFArgs): CFFNetwork {
  return new CFFNetwork(args);
}
