/**
 * A bench-side optimizer that steps the Neural Module graph with one optimizer and every
 * other weight with another (a prototype for the planted benchmark, not library code).
 *
 * Why: under Adam every weight moves by about η per step whenever its gradient keeps a
 * sign, however small the gradient, so a proximal L1 threshold η·λ cannot tell an edge the
 * loss needs from one that fits the noise (docs/STRUCTURE.md, "20×15 with 10 % noise").
 * Under plain SGD the proximal step is the Lasso's: an edge at zero leaves it only when
 * its gradient exceeds λ, which separates signal from noise when λ is above the noise's
 * gradient level. Here the graph takes SGD at its own rate, the input weights and biases
 * keep Adam. `learningRate` is the graph optimizer's, so the `modulePartition` callback's
 * proximal steps use the graph's rate.
 */
import * as tf from '@tensorflow/tfjs';

/** A named gradient, as `Optimizer.applyGradients` takes them. */
type NamedTensor = { name: string; tensor: tf.Tensor };

export class SplitOptimizer extends tf.Optimizer {
  static className = 'BenchSplitOptimizer';

  constructor(
    readonly rest: tf.Optimizer,
    readonly graph: tf.SGDOptimizer,
    private readonly isGraph: (variableName: string) => boolean,
  ) {
    super();
  }

  /** The graph optimizer's rate (what the proximal steps scale by). */
  get learningRate(): number {
    return (this.graph as unknown as { learningRate: number }).learningRate;
  }

  set learningRate(lr: number) {
    this.graph.setLearningRate(lr);
  }

  applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const list: NamedTensor[] = Array.isArray(variableGradients)
      ? variableGradients
      : Object.entries(variableGradients).map(([name, tensor]) => ({ name, tensor }));
    const mine = list.filter((g) => this.isGraph(g.name));
    const others = list.filter((g) => !this.isGraph(g.name));
    if (others.length) this.rest.applyGradients(others);
    if (mine.length) this.graph.applyGradients(mine);
  }

  override dispose(): void {
    this.rest.dispose();
    this.graph.dispose();
  }

  getConfig(): tf.serialization.ConfigDict {
    return {};
  }
}
