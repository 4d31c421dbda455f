/**
 * Anderson acceleration (type II, Walker & Ni 2011), batched per sample. Keeps the
 * last `memory` residual differences ΔR (r_i = f(x_i) − x_i) and solves the
 * Tikhonov-regularized least-squares problem min‖r_t − ΔR·γ‖ per sample; the next
 * iterate is `β(f(x_t) − ΔG·γ) + (1−β)(x_t − ΔX·γ)`. Much faster than Picard on
 * slowly contracting modules (the DEQ setting, Bai et al. 2019).
 *
 * The large work (f, the Gram matrices ΔR·ΔRᵀ, the update) is tensor ops on the
 * active backend; the tiny k×k systems (k ≤ memory) are read back in one transfer
 * and solved in float64 on the CPU, which costs far less than k² tensor ops. A
 * sample whose system is singular or not finite takes a plain (mixed) Picard step
 * (counted in `stats.fallbacks`). Every sample's coefficients are its own, so a
 * row's iterates do not depend on the rest of the batch.
 * @example anderson(f, x0, resolveSolverOptions({ method: 'anderson', memory: 5 }))
 */
import * as tf from '@tensorflow/tfjs-core';
import { solveFixedPoint } from './loop.js';
import { solveGramSystems } from './small_linear.js';
import { HeldTensors, tensorRowResiduals } from './tensor_state.js';
import type { FixedPointMap, FixedPointMethod, ResolvedSolverOptions, Solution } from './solver_types.js';

/** `init` of tensor Anderson. */
export function andersonMethod(f: FixedPointMap, x0: tf.Tensor2D, options: ResolvedSolverOptions): FixedPointMethod<tf.Tensor2D> {
  const { memory, beta, lambda } = options;
  const [batch, n] = x0.shape;
  const held = new HeldTensors();
  let x = tf.clone(x0);
  // The last evaluation (x_t, g = f(x_t), r = g − x_t) and the difference histories.
  let last: { x: tf.Tensor2D; g: tf.Tensor2D; r: tf.Tensor2D } | null = null;
  let dX: tf.Tensor2D[] = [];
  let dG: tf.Tensor2D[] = [];
  let dR: tf.Tensor2D[] = [];
  let fallbacks = 0;
  const trim = (list: tf.Tensor2D[]) => (list.length > memory ? list.slice(list.length - memory) : list);
  held.hold([x]);
  return {
    batch,
    step() {
      const cur = x;
      const prev = last;
      const out = tf.tidy(() => {
        const g = f(cur);
        const r = tf.sub(g, cur) as tf.Tensor2D;
        const hist = prev
          ? {
              dX: beta === 1 ? [] : trim([...dX, tf.sub(cur, prev.x) as tf.Tensor2D]),
              dG: trim([...dG, tf.sub(g, prev.g) as tf.Tensor2D]),
              dR: trim([...dR, tf.sub(r, prev.r) as tf.Tensor2D]),
            }
          : { dX, dG, dR };
        const plain: tf.Tensor2D = beta === 1 ? g : tf.add(tf.mul(g, beta), tf.mul(cur, 1 - beta));
        const k = hist.dR.length;
        if (k === 0) return { g, r, next: plain, hist, bad: 0 };
        const stackR = tf.stack(hist.dR, 1) as tf.Tensor3D; // [B, k, n]
        const gram = tf.reshape(tf.matMul(stackR, tf.transpose(stackR, [0, 2, 1])), [batch, k * k]);
        const rhs = tf.reshape(tf.matMul(stackR, tf.expandDims(r, 2)), [batch, k]);
        const { gamma, ok } = solveGramSystems(tf.concat([gram, rhs], 1).dataSync() as Float32Array, batch, k, lambda);
        const bad = ok.length - ok.reduce((s, v) => s + v, 0);
        const gammaT = tf.tensor3d(gamma, [batch, 1, k]);
        const comb = (list: tf.Tensor2D[]) => tf.reshape(tf.matMul(gammaT, tf.stack(list, 1) as tf.Tensor3D), [batch, n]) as tf.Tensor2D;
        let next: tf.Tensor2D = tf.sub(g, comb(hist.dG));
        if (beta !== 1) next = tf.add(tf.mul(next, beta), tf.mul(tf.sub(cur, comb(hist.dX)), 1 - beta));
        if (bad > 0) {
          const okMask = tf.tensor2d(Float32Array.from(ok), [batch, 1]);
          next = tf.add(tf.mul(next, okMask), tf.mul(plain, tf.sub(1, okMask))) as tf.Tensor2D;
        }
        return { g, r, next, hist, bad };
      });
      fallbacks += out.bad;
      [dX, dG, dR] = [out.hist.dX, out.hist.dG, out.hist.dR];
      last = { x: cur, g: out.g, r: out.r };
      x = out.next;
      held.hold([x, last.x, last.g, last.r, ...dX, ...dG, ...dR]);
    },
    residuals(out) {
      tensorRowResiduals(last!.r, last!.x, out);
    },
    answer: () => tf.clone(last ? last.g : x),
    fallbacks: () => fallbacks,
    dispose: () => held.dispose(),
  };
}

export function anderson(f: FixedPointMap, x0: tf.Tensor2D, options: ResolvedSolverOptions): Solution {
  return solveFixedPoint(andersonMethod(f, x0, options), options);
}
