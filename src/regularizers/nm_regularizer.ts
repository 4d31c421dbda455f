/**
 * NM regularization: the penalty that organizes a Neural Module graph into many
 * small, balanced, independent modules (neural-modules-v3 §3.5, eq. 6;
 * neural-modules-v4 §3.5, eqs. 7–10 and Theorem 3.2; shared/DESIGN.md §2).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { EdgeMask } from '../graph/mask.js';
import { ConfigError, checkInt, checkKeys, checkNumber, checkOneOf, fail, show } from '../utils/errors.js';
import { nmBaseMatrix, nmCoefficients, moduleSizeOfNodes, NM_FORMS, type NMForm, type NMPartition } from './nm_coefficients.js';
import { RegularizerBase } from '../utils/tfjs_bases.js';
import { proximalOffDiagonal, ProximalWatch, type ProximalRegularizer } from './proximal.js';

export const NM_NORMS = ['l1', 'l2'] as const;
/** `'l1'`: Σ C·|W| (the papers' choice); `'l2'`: Σ C·W². */
export type NMNorm = (typeof NM_NORMS)[number];

/** Arguments of {@link nm}. */
export interface NMRegularizerArgs {
  /**
   * Strength α ≥ 0. Default: {@link NM_DEFAULT_ALPHA} = 1e-2 (docs/STRUCTURE.md: with
   * Adam the structure hardly depends on α between 1e-3 and 1e-1; the penalty is added
   * to a batch-mean loss, see the caveats of {@link NMRegularizer}).
   */
  alpha?: number;
  /** `'excess'` (ours, DESIGN §2, docs/STRUCTURE.md), `'repulsion'` (v4, DESIGN §2) or `'size'` (v3 eq. 6). Default: `'excess'`. */
  form?: NMForm;
  /**
   * Excess form only: the module size t up to which modules are not penalised
   * (integer ≥ 1). Default: ⌈√p⌉ of the layer (null in `getConfig()`).
   */
  targetSize?: number | null;
  /** `'l1'` (|W|) or `'l2'` (W²). Default: `'l1'`. */
  norm?: NMNorm;
  /**
   * Apply the penalty as a decoupled proximal step after every optimizer step (edge
   * j→k soft-thresholded by η·C[j,k], η the learning rate; applied by the
   * `modulePartition` callback) instead of as a loss term, so that penalised edges
   * become exactly zero under Adam. Ours, not the papers' (`src/regularizers/proximal.ts`,
   * docs/STRUCTURE.md). Default: false.
   */
  proximal?: boolean;
  /**
   * A uniform L1 strength λ ≥ 0 added on every off-diagonal entry, whatever the form
   * and norm: the penalty becomes `Σ_{j≠k} C[j,k]·norm(W[j,k]) + λ·Σ_{j≠k} |W[j,k]|`
   * (in proximal mode: a second soft threshold by η·λ after the form's step). The form
   * only charges edges of oversized modules; λ also zeroes the edges the loss does not
   * need, so they stop taking slots of the fixed edge budget from needed ones. Ours
   * (docs/STRUCTURE.md). Default: 0.
   */
  l1?: number;
}

/**
 * What the regularizer needs from the layer it regularizes (the NeuralModule layer
 * provides all of it; see `NeuralModuleLayer.addPartitionListener`).
 */
export interface PartitionSource {
  readonly name: string;
  edges(): EdgeMask;
  structure(): { modules: number[][] };
  addPartitionListener(listener: (layer: never) => void): () => void;
}

const WHERE = 'nm regularizer';

/**
 * The default α of {@link nm}: 1e-2, chosen from the 30-epoch digits measurements in
 * docs/STRUCTURE.md (bench/structure/variants.ts).
 */
export const NM_DEFAULT_ALPHA = 1e-2;

/**
 * The NM regularizer. Penalty `Σ_{j≠k} C[j,k]·norm(W[j,k])`:
 * - `form: 'excess'` (the default; ours, DESIGN §2, docs/STRUCTURE.md):
 *   `C[j,k] = α·max(m_j, m_k)·max(0, s[j,k] − t)` for an edge on a cycle or closing one
 *   (k reaches j in the masked graph), 0 for a feed-forward edge; `s[j,k]` = z_k
 *   (same module) or z_j + z_k (the smallest module the edge would create), t =
 *   `targetSize` (default ⌈√p⌉). Modules up to t nodes cost nothing.
 * - `form: 'size'`: `C[j,k] = α·m_k·z_k`, z_k the size of node k's module (v3 eq. 6).
 * - `form: 'repulsion'`: `C[j,k] = α·max(m_j, m_k)·R[j,k]`, `R[j,k] = z_j·z_k/(D[k→j]+1)`
 *   with D the hop distance in the masked graph (R = 0 where k cannot reach j), R
 *   scaled to mean 1 over its non-zero entries (v4, as reconstructed in DESIGN §2).
 * m are the per-node α multipliers (1 unless {@link setNodeMultipliers} or the
 * `nmAlphaSchedule` callback sets them). The diagonal (bias) is never penalised.
 *
 * C is computed from the partition of the layer the regularizer is attached to,
 * every time that layer re-partitions (the `modulePartition` callback, `setWeights`,
 * `repartition()`), and held constant in between: the gradient is `C∘sign(W)` (l1) or
 * `2·C∘W` (l2), Theorem 3.2's `w ← w − η(∂L/∂w + α·R·sign(w))`. Nothing is recomputed
 * per batch.
 *
 * When to use: as the `graphRegularizer` of a `neuralModule` layer, with the
 * `modulePartition` callback, to break the one large module that an unregularized
 * layer keeps (a cheaper solve: its cost is set by the largest module). Recipe and
 * measurements: docs/STRUCTURE.md. On the UCI digits (p = 100, ρ = 0.05, Adam 0.01,
 * 10 seeds) `nm()` (excess, α = 1e-2) leaves a median largest module of 15 of 100 after
 * 30 epochs (5 of 10 seeds at most 10) and 4.6 ± 3.4 after 80 epochs (5 of 5 seeds),
 * vs 88–90 for the repulsion form at any α from 1e-4 to 1e-1 and 96 without a
 * regularizer, at the same test error. It does not give many balanced multi-node
 * modules: most of the new modules are single nodes (see the caveats).
 *
 * Caveats:
 * - One instance per layer: it reads that layer's partition. Using it on any other
 *   weight (e.g. a Dense kernel) throws, unless you give it a partition yourself
 *   with {@link setPartition}.
 * - tfjs adds the penalty to the batch-mean loss at every step, so α plays the role
 *   of an L1 λ, not the papers' 0.2. With Adam the result hardly depends on α
 *   (1e-3…1e-1 give the same structure within the seed spread): Adam normalizes the
 *   gradient, so any α that outweighs an edge's loss gradient drives it to the
 *   optimizer's noise floor (|W| ≈ learning rate) at the same speed. `proximal: true`
 *   applies the penalty as a decoupled soft threshold instead (ours), which makes such
 *   edges exactly zero; with `modulePartition({ every: 'batch' })` it is the structure
 *   recipe of docs/STRUCTURE.md.
 * - The layer keeps a fixed number of edges (top-K by |W|). Once the penalty has
 *   pushed most weights to that noise floor, which near-zero edges are kept is close
 *   to random, and a random directed graph of mean degree ρ·(p − 1) ≈ 5 is one giant
 *   module plus single nodes. This is why the repulsion and size forms end in "one
 *   core + singletons", and why the excess form either breaks the core for good (its
 *   penalty then switches off) or keeps it for now (half of the seeds after 30 epochs
 *   on digits, none of 5 after 80). docs/STRUCTURE.md has the numbers.
 * - The size form is not normalised: its coefficients grow with the module sizes (up
 *   to α·p). The repulsion form's normalisation (mean 1) means its per-edge penalty
 *   does not grow with the size of the core.
 * - The repulsion and excess forms keep a p×p float32 coefficient tensor (36 MB at
 *   p = 3000) and run a BFS from every node at each re-partition (at p = 3000: BFS
 *   ~0.15–0.35 s, whole refresh ~0.35–0.55 s for ρ = 0.01–0.05).
 * - The multipliers are training state, not configuration: they are not serialized.
 *
 * @example
 * ```ts
 * const layer = nm.layers.neuralModule({
 *   inputShape: [64], units: 100, density: 0.05,
 *   graphRegularizer: nm.regularizers.nm(), // excess form, α = 1e-2, t = ⌈√p⌉
 * });
 * await model.fit(x, y, { epochs: 30, callbacks: [nm.callbacks.modulePartition()] });
 * ```
 */
export class NMRegularizer extends RegularizerBase implements ProximalRegularizer {
  static className = 'NMRegularizer';
  readonly alpha: number;
  readonly proximal: boolean;
  /** The uniform L1 strength λ on every off-diagonal entry (0: none). */
  readonly l1: number;
  private readonly watch = new ProximalWatch(WHERE);
  readonly form: NMForm;
  readonly norm: NMNorm;
  /** The excess form's target module size, or null for ⌈√p⌉ (and for the other forms). */
  readonly targetSize: number | null;
  private source: PartitionSource | null = null;
  private unsubscribe: (() => void) | null = null;
  private part: NMPartition | null = null;
  private base: Float32Array | null = null;
  private multipliers: Float32Array | null = null;
  private coeffs: Float32Array | null = null;
  private coeffTensor: tf.Tensor2D | null = null;
  /** λ off the diagonal, 0 on it (loss mode with l1 > 0), built once per graph size. */
  private l1Tensor: tf.Tensor2D | null = null;

  constructor(args: NMRegularizerArgs = {}) {
    super();
    if (args == null || typeof args !== 'object') {
      fail(WHERE, 'args', args, "an object { alpha?, form?: 'size' | 'repulsion' | 'excess', norm?: 'l1' | 'l2', targetSize?, proximal?, l1? }");
    }
    checkKeys(WHERE, args, ['alpha', 'form', 'norm', 'targetSize', 'proximal', 'l1']);
    this.proximal = args.proximal ?? false;
    if (typeof this.proximal !== 'boolean') fail(WHERE, 'proximal', args.proximal, 'a boolean');
    this.alpha = checkNumber(WHERE, 'alpha', args.alpha === undefined ? NM_DEFAULT_ALPHA : args.alpha, 0);
    this.l1 = checkNumber(WHERE, 'l1', args.l1 ?? 0, 0);
    this.form = checkOneOf(WHERE, 'form', args.form ?? 'excess', NM_FORMS);
    this.norm = checkOneOf(WHERE, 'norm', args.norm ?? 'l1', NM_NORMS);
    if (args.targetSize != null && this.form !== 'excess') {
      fail(WHERE, 'targetSize', args.targetSize, "unset unless form is 'excess'", `It only applies to form: 'excess' (form is '${this.form}').`);
    }
    this.targetSize = args.targetSize == null ? null : checkInt(WHERE, 'targetSize', args.targetSize, 1);
  }

  /**
   * Subscribes to a layer's re-partitions. The NeuralModule layer calls this in
   * `build`, before its first partition; user code does not need to.
   */
  attachLayer(layer: PartitionSource): void {
    if (this.source === layer) return;
    if (this.source != null) {
      throw new ConfigError(
        `${WHERE}: this instance already regularizes layer '${this.source.name}' and cannot also regularize '${layer.name}'; create one nm() regularizer per layer.`,
      );
    }
    this.source = layer;
    this.unsubscribe = layer.addPartitionListener(() => this.refreshFrom(layer));
    if ((layer as unknown as { built?: boolean }).built) this.refreshFrom(layer);
  }

  /** The name of the layer this regularizer reads, or null before attachment. */
  attachedTo(): string | null {
    return this.source?.name ?? null;
  }

  /**
   * Sets the partition directly (kept edges in CSR and modules), for use without a
   * NeuralModule layer or in tests. Recomputes the coefficients.
   */
  setPartition(partition: NMPartition): void {
    const { p, rowPtr, colIdx, modules } = partition ?? ({} as NMPartition);
    if (!Number.isInteger(p) || p < 1) fail(WHERE, 'partition.p', p, 'an integer >= 1');
    if (!(rowPtr instanceof Int32Array) || rowPtr.length !== p + 1) fail(WHERE, 'partition.rowPtr', rowPtr, `an Int32Array of length p + 1 = ${p + 1}`);
    if (!(colIdx instanceof Int32Array) || colIdx.length !== rowPtr[p])
      fail(WHERE, 'partition.colIdx', colIdx, `an Int32Array of length rowPtr[p] = ${rowPtr[p]}`);
    if (!Array.isArray(modules)) fail(WHERE, 'partition.modules', modules, 'an array of node-id arrays');
    moduleSizeOfNodes(p, modules);
    if (this.multipliers && this.multipliers.length !== p) this.multipliers = null;
    this.part = { p, rowPtr, colIdx, modules: modules.map((m) => m.slice()) };
    this.base = nmBaseMatrix(this.form, this.part, this.targetSize);
    this.rebuild();
  }

  /**
   * Sets per-node α multipliers m (length p, each ≥ 0), or clears them with null. The
   * effective coefficient of edge j→k is scaled by m_k (size form) or max(m_j, m_k)
   * (repulsion and excess forms). Used by the `nmAlphaSchedule` callback.
   */
  setNodeMultipliers(m: ArrayLike<number> | null): void {
    if (m == null) {
      this.multipliers = null;
    } else {
      const p = this.part?.p;
      if (p == null) throw new ConfigError(`${WHERE}: setNodeMultipliers() needs a partition first; attach the regularizer to a built NeuralModule layer.`);
      if (typeof m !== 'object' || m.length !== p) fail(WHERE, 'multipliers', m, `an array of ${p} numbers (one per node)`);
      const out = new Float32Array(p);
      for (let i = 0; i < p; i++) out[i] = checkNumber(WHERE, `multipliers[${i}]`, m[i], 0);
      this.multipliers = out;
    }
    this.rebuild();
  }

  /** The per-node α multipliers (a copy; all 1 when unset), or null before a partition. */
  nodeMultipliers(): Float32Array | null {
    this.sync();
    if (!this.part) return null;
    return this.multipliers ? this.multipliers.slice() : new Float32Array(this.part.p).fill(1);
  }

  /** The module size z_k of every node in the current partition, or null before one. */
  moduleSizes(): Int32Array | null {
    this.sync();
    return this.part ? moduleSizeOfNodes(this.part.p, this.part.modules) : null;
  }

  /** The current coefficient matrix C (row-major p×p copy, α included), or null before a partition. */
  coefficients(): Float32Array | null {
    this.sync();
    return this.coeffs ? this.coeffs.slice() : null;
  }

  /** The penalty of the graph weights `x` (p × p), from the coefficients of the last partition. */
  apply(x: tf.Tensor): tf.Scalar {
    this.sync();
    if (this.coeffs == null || this.part == null) {
      throw new ConfigError(
        `${WHERE}: no partition yet. Use it as the graphRegularizer of a NeuralModule layer (it reads that layer's modules), ` +
          'or call setPartition({ p, rowPtr, colIdx, modules }) before using it on another weight.',
      );
    }
    const p = this.part.p;
    if (x.rank !== 2 || x.shape[0] !== p || x.shape[1] !== p) {
      throw new ConfigError(`${WHERE}: the regularized weight must be the ${p} × ${p} graph of its partition; received shape ${show(x.shape)}.`);
    }
    if (this.proximal) {
      this.watch.penaltyEvaluated();
      return tf.scalar(0);
    }
    const c = this.coefficientTensor(this.coeffs);
    return tf.tidy(() => {
      const form = tf.sum(tf.mul(c, this.norm === 'l1' ? tf.abs(x) : tf.square(x))) as tf.Scalar;
      if (this.l1 === 0) return form;
      return tf.add(form, tf.sum(tf.mul(this.uniformL1(p), tf.abs(x)))) as tf.Scalar;
    });
  }

  /**
   * The proximal operator of η·Σ C∘norm(W) on the p×p graph `w`, in place (proximal
   * mode; C from the current partition). Returns how many entries became exactly zero.
   */
  proximalStep(w: Float32Array, p: number, learningRate: number): number {
    this.sync();
    if (this.coeffs == null || this.part == null || this.part.p !== p) {
      throw new ConfigError(`${WHERE}: proximalStep() needs the partition of a ${p}-node graph; attach the regularizer to a built NeuralModule layer.`);
    }
    this.watch.stepApplied();
    return proximalOffDiagonal(w, p, learningRate, this.coeffs, this.norm, this.l1);
  }

  /** Frees the coefficient tensor and stops listening to the layer. */
  dispose(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.source = null;
    this.coeffTensor?.dispose();
    this.coeffTensor = null;
    this.l1Tensor?.dispose();
    this.l1Tensor = null;
  }

  getConfig(): tf.serialization.ConfigDict {
    return { alpha: this.alpha, form: this.form, norm: this.norm, targetSize: this.targetSize, proximal: this.proximal, l1: this.l1 };
  }

  /** The cached λ·(1 − I) of a p×p graph (the loss term of `l1`), kept across steps and partitions. */
  private uniformL1(p: number): tf.Tensor2D {
    if (this.l1Tensor == null || this.l1Tensor.isDisposed || this.l1Tensor.shape[0] !== p) {
      this.l1Tensor?.dispose();
      const values = new Float32Array(p * p).fill(this.l1);
      for (let i = 0; i < p; i++) values[i * p + i] = 0;
      this.l1Tensor = tf.tidy(() => tf.keep(tf.tensor2d(values, [p, p])));
    }
    return this.l1Tensor;
  }

  /**
   * The layer re-partitions lazily (after `setWeights` it only marks its partition
   * stale): asking it for its edges brings it, and through the listener these
   * coefficients, up to date. A no-op when the partition is current (as it always is
   * in training, where the layer's forward pass runs before the penalty).
   */
  private sync(): void {
    const src = this.source as (PartitionSource & { built?: boolean }) | null;
    if (src?.built) src.edges();
  }

  private refreshFrom(layer: PartitionSource): void {
    const mask = layer.edges();
    this.setPartition({ p: mask.p, rowPtr: mask.rowPtr, colIdx: mask.colIdx, modules: layer.structure().modules });
  }

  private rebuild(): void {
    if (!this.part || !this.base) return;
    const p = this.part.p;
    this.coeffs = nmCoefficients(this.form, this.base, p, this.alpha, this.multipliers);
    // Uploaded when a penalty first needs it: in proximal mode the coefficients stay on the host.
    this.coeffTensor?.dispose();
    this.coeffTensor = null;
  }

  /** The coefficients as a tensor (kept across steps until the next partition). */
  private coefficientTensor(coeffs: Float32Array): tf.Tensor2D {
    if (this.coeffTensor == null) {
      const p = this.part!.p;
      this.coeffTensor = tf.tidy(() => tf.keep(tf.tensor2d(coeffs, [p, p])));
    }
    return this.coeffTensor;
  }
}
tf.serialization.registerClass(NMRegularizer);

/**
 * Creates an {@link NMRegularizer}: `α·Σ_{j≠k} C[j,k]·norm(W[j,k])` with C from the
 * current modules: the excess over a target module size (default), the module sizes
 * (v3 eq. 6) or the repulsion matrix (v4, DESIGN §2). All arguments are optional.
 * @example nm.regularizers.nm() // { alpha: 1e-2, form: 'excess', norm: 'l1', targetSize: null (⌈√p⌉) }
 */
export function nm(args: NMRegularizerArgs = {}): NMRegularizer {
  return new NMRegularizer(args);
}
