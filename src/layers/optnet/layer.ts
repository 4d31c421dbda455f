/**
 * The OptNet layer (Amos & Kolter 2017, "OptNet: Differentiable optimization as a
 * layer in neural networks"): the output is the solution of a convex quadratic
 * program whose linear term depends on the input and whose other data are weights.
 */
import * as tf from '@tensorflow/tfjs-core';
import { layers, type LayerVariable } from '@tensorflow/tfjs-layers';
import type { Shape } from '../../utils/tfjs_types.js';
import type { SolveStats } from '../../solvers/solver_types.js';
import { ConfigError, NonConvergenceError, NonFiniteError, show } from '../../utils/errors.js';
import { serializeObject } from '../../utils/serialization.js';
import { matMulT } from '../../utils/matmul.js';
import { currentPhase } from '../../tfjs_internals/call_phase.js';
import { resolveOptNetArgs, type OptNetLayerArgs, type ResolvedOptNetArgs } from './args.js';
import { qpBackward, solveQPBatch, type QPArray, type QPData, type QPSolution } from '../../solvers/qp/qp_solve.js';

export type { OptNetLayerArgs, OptNetSolverConfig } from './args.js';

const emptyStats = (): SolveStats => ({ iterations: 0, residual: 0, worstRow: -1, converged: true, fallbacks: 0 });
const f64 = (t: tf.Tensor): Float64Array => Float64Array.from(t.dataSync() as Float32Array);
const ser = (o: tf.serialization.Serializable | null) => serializeObject(o) as unknown as tf.serialization.ConfigDictValue;
/** The largest |entry| of a variable, for messages. */
const maxAbsOf = (v: LayerVariable): string => {
  let a = 0;
  for (const x of v.read().dataSync()) a = Math.max(a, Math.abs(x));
  return a.toExponential(2);
};
/** Index of the first NaN/Inf of a tensor (−1 when none). */
const firstBad = (t: tf.Tensor): number => (t.dataSync() as Float32Array).findIndex((v) => !Number.isFinite(v));

/**
 * An OptNet layer. Input x `[batch, n]`, output z* `[batch, units]`, per row the
 * solution of
 *
 *   minimize ½ zᵀQz + qᵀz   subject to   Az = b,  Gz ≤ h,     q = xW + c,
 *
 * with learnable Q = LLᵀ + εI (L lower-triangular), G, h, A, b, W, c (the paper's
 * fully-connected OptNet layer). `getWeights()` order: `[kernel W (n × units),
 * bias c (units), cholesky L (units × units, only the lower triangle is used),
 * inequalityKernel G (m × units), inequalityBound h (m), equalityKernel A (p × units),
 * equalityBound b (p)]`, the G/h pair only when m > 0, the A/b pair only when p > 0.
 *
 * The forward pass is a primal-dual interior-point method (Mehrotra
 * predictor-corrector) in float64 on the CPU after one read-back of q, Q, G, h, A, b;
 * the backward pass solves the transposed KKT system at the solution (the paper's
 * eqs. 7–8), never unrolling the solver. Both cost O(units³ + m·units²) per row
 * and iteration: the layer is meant for units and constraints up to ~100.
 *
 * Feasibility: by default h = 1 and b = 0, so z = 0 is strictly feasible at the start;
 * training can move G, h, A, b anywhere, and a QP without a feasible point throws a
 * NonConvergenceError that says so (lower the learning rate).
 */
export class OptNetLayer extends layers.Layer {
  static className = 'OptNet';
  /** The resolved arguments. */
  readonly resolved: ResolvedOptNetArgs;
  private kernel: LayerVariable | null = null;
  private bias: LayerVariable | null = null;
  private cholesky: LayerVariable | null = null;
  private ineqKernel: LayerVariable | null = null;
  private ineqBound: LayerVariable | null = null;
  private eqKernel: LayerVariable | null = null;
  private eqBound: LayerVariable | null = null;
  /** Lower-triangular mask and εI (constants, owned by the layer). */
  private consts: { tril: tf.Tensor2D; epsEye: tf.Tensor2D } | null = null;
  private stats: { forward: SolveStats; backward: SolveStats } = { forward: emptyStats(), backward: emptyStats() };
  private warned = new Set<string>();

  constructor(args: OptNetLayerArgs) {
    const resolved = resolveOptNetArgs(args);
    super(args);
    this.resolved = resolved;
  }

  private where(): string {
    return `optNet '${this.name}'`;
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const n = shape[shape.length - 1];
    if (shape.length !== 2 || n == null || n < 1) {
      throw new ConfigError(`${this.where()}: input shape must be [batch, features] with known features ≥ 1; received ${show(shape)}.`);
    }
    const r = this.resolved;
    const u = r.units;
    this.kernel = this.addWeight('kernel', [n, u], 'float32', r.kernelInitializer, r.kernelRegularizer ?? undefined, true);
    this.bias = this.addWeight('bias', [u], 'float32', r.biasInitializer, undefined, true);
    this.cholesky = this.addWeight('cholesky', [u, u], 'float32', r.choleskyInitializer, undefined, true);
    if (r.inequalities > 0) {
      const m = r.inequalities;
      this.ineqKernel = this.addWeight('inequalityKernel', [m, u], 'float32', r.inequalityKernelInitializer, r.inequalityKernelRegularizer ?? undefined, true);
      this.ineqBound = this.addWeight('inequalityBound', [m], 'float32', r.inequalityBoundInitializer, undefined, true);
    }
    if (r.equalities > 0) {
      const p = r.equalities;
      this.eqKernel = this.addWeight('equalityKernel', [p, u], 'float32', r.equalityKernelInitializer, undefined, true);
      this.eqBound = this.addWeight('equalityBound', [p], 'float32', r.equalityBoundInitializer, undefined, true);
    }
    this.consts?.tril.dispose();
    this.consts?.epsEye.dispose();
    // Kept: build may run inside a caller's tidy (a first eager apply).
    this.consts = tf.tidy(() => ({
      tril: tf.linalg.bandPart(tf.ones([u, u]), -1, 0) as tf.Tensor2D,
      epsEye: tf.mul(tf.eye(u), tf.scalar(r.eps)) as tf.Tensor2D,
    }));
    tf.keep(this.consts.tril);
    tf.keep(this.consts.epsEye);
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    return [shape[0], this.resolved.units];
  }

  /** Q = tril(L)·tril(L)ᵀ + εI for the current weights (the caller disposes it). */
  quadratic(): tf.Tensor2D {
    this.assertBuilt();
    return tf.tidy(() => {
      const L = tf.mul(this.cholesky!.read(), this.consts!.tril) as tf.Tensor2D;
      return tf.add(matMulT(L, L, false, true), this.consts!.epsEye) as tf.Tensor2D;
    });
  }

  /** Stats of the last forward solve (interior-point iterations, scaled residual, convergence) and backward solve (a direct solve: 0 iterations). */
  solverStats(): { forward: SolveStats; backward: SolveStats } {
    return { forward: { ...this.stats.forward }, backward: { ...this.stats.backward } };
  }

  /** Shows the non-convergence warnings again. */
  resetWarnings(): void {
    this.warned.clear();
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    this.assertBuilt();
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor2D;
      const n = this.kernel!.shape[0];
      if (x.rank !== 2 || x.shape[1] !== n) {
        throw new ConfigError(`${this.where()}: input must have shape [batch, ${n}]; received ${show(x.shape)}.`);
      }
      const q = tf.add(matMulT(x, this.kernel!.read() as tf.Tensor2D), this.bias!.read()) as tf.Tensor2D;
      const Q = this.quadratic();
      const weights: tf.Tensor[] = [q, Q];
      if (this.ineqKernel) weights.push(this.ineqKernel.read(), this.ineqBound!.read());
      if (this.eqKernel) weights.push(this.eqKernel.read(), this.eqBound!.read());
      return this.qpOp(weights, x);
    });
  }

  /** The QP as one custom-gradient op over (q, Q, G, h, A, b): every input it depends on is an argument (`x` only names a bad input in errors). */
  private qpOp(inputs: tf.Tensor[], x: tf.Tensor2D): tf.Tensor2D {
    const { units: n, inequalities: m, equalities: p, solver } = this.resolved;
    const op = tf.customGrad((...args: unknown[]) => {
      const save = args[args.length - 1] as (ts: tf.Tensor[]) => void;
      const ts = args.slice(0, -1) as tf.Tensor[];
      void save;
      const batch = ts[0].shape[0];
      const q = f64(ts[0]);
      const Q = f64(ts[1]);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < i; j++) {
          const v = 0.5 * (Q[i * n + j] + Q[j * n + i]);
          Q[i * n + j] = v;
          Q[j * n + i] = v;
        }
      }
      let k = 2;
      const G = m > 0 ? f64(ts[k++]) : new Float64Array(0);
      const h = m > 0 ? f64(ts[k++]) : new Float64Array(0);
      const A = p > 0 ? f64(ts[k++]) : new Float64Array(0);
      const b = p > 0 ? f64(ts[k++]) : new Float64Array(0);
      const qp: QPData = { n, m, p, Q, G, h, A, b };
      const sol = solveQPBatch(qp, q, batch, solver);
      if (sol.failure === 'nonFinite') throw new NonFiniteError(this.nonFiniteMessage(sol.nonFiniteArray, sol.failedRow, batch, x));
      this.recordForward(sol, batch);
      const z32 = Float32Array.from(sol.z);
      const over = z32.findIndex((v) => !Number.isFinite(v));
      if (over >= 0) {
        throw new NonFiniteError(
          `${this.where()}: the solution of the QP of row ${Math.floor(over / n)} of ${batch} overflows float32 (${sol.z[over].toExponential(3)}). Scale the input or the constraint bounds down.`,
        );
      }
      const value = tf.tensor2d(z32, [batch, n]);
      const gradFunc = (dy: tf.Tensor): tf.Tensor[] => {
        const g = qpBackward(qp, sol, f64(dy), batch);
        this.stats.backward = { iterations: 0, residual: 0, worstRow: g.ok ? -1 : 0, converged: g.ok, fallbacks: 0 };
        if (!g.ok) {
          throw new NonFiniteError(
            `${this.where()}: the KKT system at the solution is singular; no gradient. Lower the learning rate or raise 'eps' (${this.resolved.eps}).`,
          );
        }
        const grads: tf.Tensor[] = [tf.tensor2d(Float32Array.from(g.dq), [batch, n]), tf.tensor2d(Float32Array.from(g.dQ), [n, n])];
        if (m > 0) grads.push(tf.tensor2d(Float32Array.from(g.dG), [m, n]), tf.tensor1d(Float32Array.from(g.dh)));
        if (p > 0) grads.push(tf.tensor2d(Float32Array.from(g.dA), [p, n]), tf.tensor1d(Float32Array.from(g.db)));
        return grads;
      };
      return { value, gradFunc };
    });
    return (op as (...ts: tf.Tensor[]) => tf.Tensor2D)(...inputs);
  }

  /** Names the weight or input behind a NaN/Inf in the QP data `which` (found at batch row `row` for q). */
  private nonFiniteMessage(which: QPArray | null, row: number, batch: number, x: tf.Tensor2D): string {
    const w = this.where();
    if (which == null) {
      return `${w}: the interior-point iterates of the QP of row ${row} of ${batch} overflowed float64 although the data are finite: their magnitudes are too far apart. Scale the input and the weights to moderate values.`;
    }
    const bad = (name: string, v: LayerVariable) => {
      const i = firstBad(v.read());
      return i < 0 ? null : `${w}: the weight '${name}' has NaN/Inf (entry ${i} is ${v.read().dataSync()[i]}). Lower the learning rate or re-initialize it.`;
    };
    const weights: Record<Exclude<QPArray, 'q' | 'Q'>, [string, LayerVariable | null]> = {
      G: ['inequalityKernel', this.ineqKernel],
      h: ['inequalityBound', this.ineqBound],
      A: ['equalityKernel', this.eqKernel],
      b: ['equalityBound', this.eqBound],
    };
    if (which === 'Q') {
      return (
        bad('cholesky', this.cholesky!) ??
        `${w}: Q = LLᵀ + εI overflows float32: the weight 'cholesky' holds entries up to ${maxAbsOf(this.cholesky!)} (|L| must stay well below 1e19). Lower the learning rate or re-initialize it.`
      );
    }
    if (which === 'q') {
      const n = x.shape[1];
      const xi = firstBad(x);
      if (xi >= 0)
        return `${w}: the QP of row ${Math.floor(xi / n)} of ${batch} has NaN/Inf data: the input has NaN/Inf (column ${xi % n}). Check the input for NaN/Inf.`;
      return (
        bad('kernel', this.kernel!) ??
        bad('bias', this.bias!) ??
        `${w}: q = xW + c overflows float32 at row ${row} of ${batch}: the weight 'kernel' holds entries up to ${maxAbsOf(this.kernel!)}, 'bias' up to ${maxAbsOf(this.bias!)}. Scale the input down or lower the learning rate.`
      );
    }
    const [name, v] = weights[which];
    return bad(name, v!) ?? `${w}: the weight '${name}' has NaN/Inf.`;
  }

  private recordForward(sol: QPSolution, batch: number): void {
    const stats: SolveStats = { iterations: sol.iterations, residual: sol.residual, worstRow: sol.worstRow, converged: sol.converged, fallbacks: 0 };
    this.stats.forward = stats;
    const { tol, maxIter } = this.resolved.solver;
    const { units: n, equalities: p, eps } = this.resolved;
    const row = sol.failedRow;
    switch (sol.failure) {
      case 'infeasible': {
        const { inequalities: gi, equalities: ae } = sol.conflict;
        const rows = `inequality rows [${gi.join(', ')}]${ae.length > 0 ? ` and equality rows [${ae.join(', ')}]` : ''}`;
        throw new NonConvergenceError(
          `${this.where()}: the QP of row ${row} of ${batch} is infeasible: no z satisfies Gz ≤ h${p > 0 ? ' and Az = b' : ''} ` +
            `(a Farkas certificate, multipliers λ ≥ 0, ν with Gᵀλ + Aᵀν = 0 and hᵀλ + bᵀν < 0, combines ${rows}). ` +
            "The weights 'inequalityKernel'/'inequalityBound'" +
            `${p > 0 ? " and 'equalityKernel'/'equalityBound'" : ''} describe an empty set; keep h > 0 and b = 0 (z = 0 feasible), or lower the learning rate.`,
          NaN,
          sol.iterations,
        );
      }
      case 'notPositiveDefinite':
        throw new NonConvergenceError(
          `${this.where()}: Q = LLᵀ + εI (${n} × ${n}) is not positive definite to working precision: the weight 'cholesky' ` +
            `(largest |L| ${maxAbsOf(this.cholesky!)}) dwarfs eps (${eps}). Raise 'eps' or lower the learning rate.`,
          NaN,
          0,
        );
      case 'singular':
        throw new NonConvergenceError(
          p > 0
            ? `${this.where()}: the KKT system is singular: the equality rows A (${p} × ${n}) are linearly dependent. Use fewer equalities or re-initialize equalityKernel.`
            : `${this.where()}: the KKT system [Q + GᵀG] is singular to working precision. Raise 'eps' or lower the learning rate.`,
          NaN,
          0,
        );
    }
    if (sol.converged) return;
    const policy = this.resolved.onNonConvergence;
    const message =
      `${this.where()}: the interior-point solve did not converge: scaled residual ${sol.residual.toExponential(3)} > tol ${tol} at row ${sol.worstRow} of ${batch} ` +
      `after ${sol.worstIterations} iterations (maxIter ${maxIter}). Raise solver.maxIter, loosen solver.tol, or raise 'eps' (${eps}).`;
    if (policy === 'throw') throw new NonConvergenceError(message, sol.residual, sol.iterations);
    if (policy !== 'warn') return;
    const { phase, fitGeneration } = currentPhase();
    const key = `${phase}:${fitGeneration}`;
    if (this.warned.has(key)) return;
    this.warned.add(key);
    console.warn(`${message} (shown once per ${phase === 'fit' ? 'fit call' : `kind of call (${phase}) between fits`})`);
  }

  override getConfig(): tf.serialization.ConfigDict {
    const r = this.resolved;
    const config: tf.serialization.ConfigDict = {
      units: r.units,
      inequalities: r.inequalities,
      equalities: r.equalities,
      eps: r.eps,
      solver: { ...r.solver },
      onNonConvergence: r.onNonConvergence,
      kernelInitializer: ser(r.kernelInitializer),
      biasInitializer: ser(r.biasInitializer),
      choleskyInitializer: ser(r.choleskyInitializer),
      inequalityKernelInitializer: ser(r.inequalityKernelInitializer),
      inequalityBoundInitializer: ser(r.inequalityBoundInitializer),
      equalityKernelInitializer: ser(r.equalityKernelInitializer),
      equalityBoundInitializer: ser(r.equalityBoundInitializer),
      kernelRegularizer: ser(r.kernelRegularizer),
      inequalityKernelRegularizer: ser(r.inequalityKernelRegularizer),
    };
    return { ...super.getConfig(), ...config };
  }

  override dispose(): ReturnType<layers.Layer['dispose']> {
    const result = super.dispose();
    if (result.refCountAfterDispose === 0 && this.consts) {
      this.consts.tril.dispose();
      this.consts.epsEye.dispose();
      this.consts = null;
    }
    return result;
  }

  private assertBuilt(): void {
    if (!this.built || this.kernel == null) {
      throw new ConfigError(`${this.where()}: the layer is not built yet; call it once (or add it to a model with an 'inputShape') first.`);
    }
  }
}
tf.serialization.registerClass(OptNetLayer);

/**
 * Creates an {@link OptNetLayer} (Amos & Kolter 2017, "OptNet: Differentiable optimization as a layer in neural networks").
 * @example nm.layers.optNet({ inputShape: [10], units: 20, inequalities: 20 })
 */
export function optNet(args: OptNetLayerArgs): OptNetLayer {
  return new OptNetLayer(args);
}
