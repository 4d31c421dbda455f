/**
 * One training of one configuration ("trial"): fit with early stopping on the
 * validation loss, keep the weights of the best epoch, then measure validation and
 * test error with them, the module structure and the solver statistics.
 */
import * as tf from '@tensorflow/tfjs';
import type * as nm from 'tfjs-neural-modules';
import type { BuiltModel } from './methods.js';
import type { SplitData } from './data.js';

type Table = SplitData['train'];

/** Module statistics of a Neural Module layer at the end of training. */
export interface ModuleSummary {
  count: number;
  largest: number;
  levels: number;
  edges: number;
  /** Every module's size, largest first (absent in trials stored before it was recorded). */
  sizes?: number[];
}

/** Solver iterations of a Neural Module layer (means per solve call over the trained epochs). */
export interface SolverSummary {
  forwardIterations: number;
  backwardIterations: number;
  /** Every forward solve of the test-set prediction (one per chunk of 512 rows) converged. Stores from before this was counted per chunk hold the last chunk's only (CHANGELOG). */
  converged: boolean;
  /** The largest final residual of those solves (older stores: the last chunk's). */
  residual: number;
  /** Training batches, and those whose forward / backward solve missed its tolerance (absent in trials stored before they were counted). */
  trainBatches?: number;
  forwardNonConverged?: number;
  backwardNonConverged?: number;
}

/** Counts the training batches whose forward or backward solve missed its tolerance. A plain tf.Callback: no per-batch read-back of the logs. */
class SolveWatch extends tf.Callback {
  batches = 0;
  forward = 0;
  backward = 0;
  constructor(private readonly layer: NonNullable<BuiltModel['nmLayer']>) {
    super();
  }
  override async onBatchEnd(): Promise<void> {
    const s = this.layer.solverStats();
    this.batches++;
    if (!s.forward.converged) this.forward++;
    if (!s.backward.converged) this.backward++;
  }
}

/** What a trial measured. Errors are fractions in [0, 1]; null when training failed before any epoch. */
export interface TrialOutcome {
  valError: number | null;
  valLoss: number | null;
  testError: number | null;
  /** Epochs trained (≤ max epochs). */
  epochs: number;
  /** 1-based epoch whose weights were kept (lowest validation loss). */
  bestEpoch: number;
  /** Median wall time of an epoch: the training batches and the re-partition, not the validation pass. */
  secondsPerEpoch: number;
  /** Wall time of every epoch, seconds. */
  epochSeconds: number[];
  modules: ModuleSummary | null;
  solver: SolverSummary | null;
  /** The error message when training stopped on an exception (the best weights so far are still evaluated). */
  error: string | null;
}

export interface TrainSettings {
  epochs: number;
  patience: number;
  batchSize: number;
}

const toTensors = (t: Table, classes: number) =>
  tf.tidy(() => ({
    x: tf.tensor2d(t.x, [t.numSamples, t.numFeatures]),
    y: tf.oneHot(tf.tensor1d(t.y, 'int32'), classes) as tf.Tensor2D,
  }));

/** Mean cross-entropy and classification error of a model on a table. */
export function evaluate(model: tf.LayersModel, x: tf.Tensor2D, labels: Int32Array, afterChunk?: () => void): { loss: number; error: number } {
  // Chunks of 512 rows, as predict({ batchSize: 512 }) would cut them (same values), so that
  // `afterChunk` can read each chunk's solver statistics: the layer keeps only the last solve's.
  const CHUNK = 512;
  const rows = x.shape[0];
  const parts: Float32Array[] = [];
  let k = 0;
  if (rows === 0) return { loss: 0, error: 0 };
  for (let r0 = 0; r0 < rows; r0 += CHUNK) {
    const probs = tf.tidy(() => model.predict(x.slice([r0, 0], [Math.min(CHUNK, rows - r0), -1])) as tf.Tensor2D);
    parts.push(probs.dataSync() as Float32Array);
    k = probs.shape[1];
    probs.dispose();
    afterChunk?.();
  }
  const p = new Float32Array(parts.reduce((n, a) => n + a.length, 0));
  parts.reduce((o, a) => (p.set(a, o), o + a.length), 0);
  let loss = 0;
  let wrong = 0;
  for (let i = 0; i < labels.length; i++) {
    let arg = 0;
    for (let j = 1; j < k; j++) if (p[i * k + j] > p[i * k + arg]) arg = j;
    if (arg !== labels[i]) wrong++;
    loss -= Math.log(Math.max(p[i * k + labels[i]], 1e-12));
  }
  const n = Math.max(1, labels.length);
  return { loss: Number.isFinite(loss) ? loss / n : Infinity, error: wrong / n };
}

/**
 * Reads a Neural Module layer's forward solve after every chunk of an {@link evaluate}:
 * `converged` stays true only if every chunk's solve converged, `residual` is the worst.
 */
export function solveProbe(layer: NonNullable<BuiltModel['nmLayer']>): { afterChunk: () => void; converged: boolean; residual: number } {
  const probe = {
    converged: true,
    residual: 0,
    afterChunk: () => {
      const f = layer.solverStats().forward;
      probe.converged &&= f.converged;
      probe.residual = Math.max(probe.residual, f.residual);
    },
  };
  return probe;
}

/** The median of the values (the mean of the middle two for an even count). */
export const median = (xs: number[]) => {
  if (xs.length === 0) return 0;
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Trains `built` on `data` and measures it (see {@link TrialOutcome}). Disposes nothing of `built`. */
export async function trainTrial(built: BuiltModel, data: SplitData, settings: TrainSettings): Promise<TrialOutcome> {
  const { model, nmLayer } = built;
  const train = toTensors(data.train, data.numClasses);
  const val = toTensors(data.val, data.numClasses);
  const test = toTensors(data.test, data.numClasses);
  let best: { loss: number; error: number; epoch: number; weights: tf.Tensor[] } | null = null;
  const epochSeconds: number[] = [];
  const fwd: number[] = [];
  const bwd: number[] = [];
  let epochStart = 0;
  let sinceBest = 0;
  let error: string | null = null;
  const watch = nmLayer ? new SolveWatch(nmLayer) : null;
  const monitor = new tf.CustomCallback({
    onEpochBegin: async () => {
      epochStart = performance.now();
    },
    onEpochEnd: async (epoch, logs) => {
      epochSeconds.push((performance.now() - epochStart) / 1000);
      if (logs && typeof logs.nm_fwd_iters === 'number') fwd.push(logs.nm_fwd_iters);
      if (logs && typeof logs.nm_bwd_iters === 'number') bwd.push(logs.nm_bwd_iters);
      const v = evaluate(model, val.x, data.val.y);
      if (best == null || v.loss < best.loss) {
        best?.weights.forEach((w) => w.dispose());
        best = { loss: v.loss, error: v.error, epoch: epoch + 1, weights: model.getWeights().map((w) => tf.clone(w)) };
        sinceBest = 0;
      } else if (++sinceBest >= settings.patience) {
        model.stopTraining = true;
      }
    },
  });
  try {
    await model.fit(train.x, train.y, {
      epochs: settings.epochs,
      batchSize: settings.batchSize,
      shuffle: true,
      verbose: 0,
      callbacks: [...(built.callbacks as tf.Callback[]), ...(watch ? [watch] : []), monitor],
    });
  } catch (e) {
    error = (e as Error).message ?? String(e);
  }
  const kept = best as { loss: number; error: number; epoch: number; weights: tf.Tensor[] } | null;
  const failed = (message: string | null): TrialOutcome => ({
    valError: null,
    valLoss: null,
    testError: null,
    epochs: epochSeconds.length,
    bestEpoch: 0,
    secondsPerEpoch: median(epochSeconds),
    epochSeconds,
    modules: null,
    solver: null,
    error: message,
  });
  let outcome: TrialOutcome;
  try {
    if (kept == null) {
      outcome = failed(error);
    } else {
      model.setWeights(kept.weights);
      const v = evaluate(model, val.x, data.val.y);
      const testSolve = nmLayer ? solveProbe(nmLayer) : null;
      const t = evaluate(model, test.x, data.test.y, testSolve?.afterChunk);
      let modules: ModuleSummary | null = null;
      let solver: SolverSummary | null = null;
      if (nmLayer) {
        const s = nmLayer.structure();
        const sizes = s.modules.map((m) => m.length).sort((a, b) => b - a);
        modules = { count: s.modules.length, largest: s.largestModule, levels: s.levels.length, edges: s.edges, sizes };
        const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
        solver = {
          forwardIterations: mean(fwd),
          backwardIterations: mean(bwd),
          converged: testSolve!.converged,
          residual: testSolve!.residual,
          trainBatches: watch!.batches,
          forwardNonConverged: watch!.forward,
          backwardNonConverged: watch!.backward,
        };
      }
      outcome = {
        valError: v.error,
        valLoss: Number.isFinite(v.loss) ? v.loss : null,
        testError: t.error,
        epochs: epochSeconds.length,
        bestEpoch: kept.epoch,
        secondsPerEpoch: median(epochSeconds),
        epochSeconds,
        modules,
        solver,
        error,
      };
    }
  } catch (e) {
    outcome = failed(`evaluation failed: ${(e as Error).message ?? String(e)}${error ? ` (after: ${error})` : ''}`);
  } finally {
    kept?.weights.forEach((w) => w.dispose());
    for (const d of [train, val, test]) {
      d.x.dispose();
      d.y.dispose();
    }
  }
  return outcome;
}

/**
 * The CFF counterpart of {@link trainTrial}: trained by the network's own `fit`
 * (forward-forward, docs/guide/cff.md) with the same early stopping on the validation loss
 * (here the network's FF loss, `evaluate().loss`, which is not a cross-entropy: compare
 * CFF's errors, not its losses, with the other methods), the best epoch's weights kept,
 * and the same reported fields (no module or solver statistics).
 */
export async function trainCffTrial(net: InstanceType<typeof nm.cff.CFFNetwork>, data: SplitData, settings: TrainSettings): Promise<TrialOutcome> {
  const train = toTensors(data.train, data.numClasses);
  const val = toTensors(data.val, data.numClasses);
  const test = toTensors(data.test, data.numClasses);
  let best: { loss: number; error: number; epoch: number; weights: tf.Tensor[] } | null = null;
  const epochSeconds: number[] = [];
  let epochStart = 0;
  let sinceBest = 0;
  let error: string | null = null;
  try {
    await net.fit(train.x, train.y, {
      epochs: settings.epochs,
      batchSize: settings.batchSize,
      callbacks: {
        onEpochBegin: () => {
          epochStart = performance.now();
        },
        onEpochEnd: (epoch) => {
          epochSeconds.push((performance.now() - epochStart) / 1000);
          const v = net.evaluate(val.x, val.y);
          const loss = Number.isFinite(v.loss) ? v.loss : Infinity;
          if (best == null || loss < best.loss) {
            best?.weights.forEach((w) => w.dispose());
            best = { loss, error: 1 - v.accuracy, epoch: epoch + 1, weights: net.getWeights() };
            sinceBest = 0;
          } else if (++sinceBest >= settings.patience) {
            net.stopTraining = true;
          }
        },
      },
    });
  } catch (e) {
    error = (e as Error).message ?? String(e);
  }
  const kept = best as { loss: number; error: number; epoch: number; weights: tf.Tensor[] } | null;
  const base = { epochs: epochSeconds.length, secondsPerEpoch: median(epochSeconds), epochSeconds, modules: null, solver: null };
  let outcome: TrialOutcome;
  try {
    if (kept == null) {
      outcome = { ...base, valError: null, valLoss: null, testError: null, bestEpoch: 0, error };
    } else {
      net.setWeights(kept.weights);
      const v = net.evaluate(val.x, val.y);
      const t = net.evaluate(test.x, test.y);
      outcome = {
        ...base,
        valError: 1 - v.accuracy,
        valLoss: Number.isFinite(v.loss) ? v.loss : null,
        testError: 1 - t.accuracy,
        bestEpoch: kept.epoch,
        error,
      };
    }
  } catch (e) {
    const message = `evaluation failed: ${(e as Error).message ?? String(e)}${error ? ` (after: ${error})` : ''}`;
    outcome = { ...base, valError: null, valLoss: null, testError: null, bestEpoch: 0, error: message };
  } finally {
    kept?.weights.forEach((w) => w.dispose());
    for (const d of [train, val, test]) {
      d.x.dispose();
      d.y.dispose();
    }
  }
  return outcome;
}
